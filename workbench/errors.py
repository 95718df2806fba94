"""Core exceptions: one type per kind of failure, each with a stable code and a human sentence."""

from __future__ import annotations

from dataclasses import dataclass


class WorkbenchError(Exception):
    """Base of every refusal the core raises; the CLI maps it to exit code 1."""

    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One problem in an input file, located as file:row:column (or sheet!cell)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class InputRefused(WorkbenchError):
    """A set-up or results file was refused whole; lists every problem found."""

    code = "INPUT_REFUSED"

    def __init__(self, problems: list[Problem], summary: str = "") -> None:
        self.problems = problems
        head = summary or f"{len(problems)} problem(s) found; nothing was written"
        super().__init__(head + "\n" + "\n".join(str(p) for p in problems))


class NotAPackage(WorkbenchError):
    code = "NOT_A_PACKAGE"


class NotFound(WorkbenchError):
    code = "NOT_FOUND"


class InvalidScore(WorkbenchError):
    """A value the reviewer typed is out of range, off step, negative or of the wrong kind."""

    code = "INVALID_SCORE"
