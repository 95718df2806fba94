"""Run the reviewer app on a package without the CLI around it (the start-up benchmark, a refusal test).

    python tests/tui/run_app.py PACKAGE [--lang zh|en]
"""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.tui.app import run_review


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 when the reviewer quits, 1 when the package is refused, 2 on a usage error."""
    args = list(sys.argv[1:] if argv is None else argv)
    lang = None
    if "--lang" in args:
        i = args.index("--lang")
        lang = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
    if len(args) != 1:
        print("usage: python tests/tui/run_app.py PACKAGE [--lang zh|en]", file=sys.stderr)
        return 2
    try:
        run_review(Path(args[0]), lang)
    except WorkbenchError as exc:
        print(f"错误 / error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
