"""The signed export from inside the app: the same core function as `workbench export`, run in a worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from workbench.errors import WorkbenchError
from workbench.signed.export import default_key_file, export_package
from workbench.signed.keys import PASSPHRASE_ENV
from workbench.tui.i18n import Texts, localize_bindings


class ConfirmOverwrite(ModalScreen[bool]):
    """Asks before an export replaces a file that is already there: True to replace it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "覆盖", id="overwrite.yes"),
        Binding("n,escape", "answer(False)", "取消", id="overwrite.no"),
    ]

    def __init__(self, texts: Texts, path: Path) -> None:
        super().__init__()
        self.texts = texts
        localize_bindings(self, texts)
        self.path = path

    def compose(self) -> ComposeResult:
        texts = self.texts
        with Vertical(id="overwrite-box"):
            yield Static(Text(texts("export.exists", path=self.path), style="bold"), id="overwrite-question")
            with Horizontal(id="overwrite-buttons"):
                yield Button(texts("export.overwrite"), variant="warning", id="overwrite-yes")
                yield Button(texts("export.keep"), id="overwrite-no")

    def on_mount(self) -> None:
        self.query_one("#overwrite-no", Button).focus()  # the safe answer is the default

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "overwrite-yes")

    def action_answer(self, overwrite: bool) -> None:
        self.dismiss(overwrite)


class ExportScreen(ModalScreen["Path | None"]):
    """Asks for the output file, key file and passphrase; returns the written path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "关闭", id="close")]

    class ExportFinished(Message):
        """The export worker ended: `path` on success, else the refusal `reason`."""

        def __init__(self, path: Path | None, reason: str = "", detail: str = "") -> None:
            super().__init__()
            self.path = path
            self.reason = reason
            self.detail = detail

    def __init__(self, texts: Texts, package: Path, default_out: Path) -> None:
        super().__init__()
        self.texts = texts
        localize_bindings(self, texts)
        self.package = package
        self.default_out = default_out
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        texts = self.texts
        with Vertical(id="export-box"):
            yield Static(texts("export.title"), id="export-title")
            yield Label(texts("export.out"))
            yield Input(str(self.default_out), id="export-out")
            yield Label(texts("export.key"))
            yield Input(placeholder=str(default_key_file()), id="export-key")
            yield Label(texts("export.passphrase"))
            yield Input(password=True, id="export-passphrase")
            yield Checkbox(texts("export.incomplete"), id="export-incomplete")
            yield Static(id="export-status")
            with Horizontal(id="export-buttons"):
                yield Button(texts("export.run"), variant="primary", id="export-run")
                yield Button(texts("export.cancel"), id="export-close")

    def on_mount(self) -> None:
        self.query_one("#export-out", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#export-run")
    def start(self) -> None:
        out_text = self.query_one("#export-out", Input).value.strip()
        status = self.query_one("#export-status", Static)
        if not out_text:
            status.update(Text(self.texts("export.need_out"), style="red"))
            return
        out = Path(out_text).expanduser()
        if out.exists():
            def answered(overwrite: bool | None) -> None:
                if overwrite:
                    self.export_to(out)
                else:
                    status.update(Text(self.texts("export.kept", path=out), style="yellow"))

            self.app.push_screen(ConfirmOverwrite(self.texts, out), answered)
            return
        self.export_to(out)

    def export_to(self, out: Path) -> None:
        key_text = self.query_one("#export-key", Input).value.strip()
        passphrase = self.query_one("#export-passphrase", Input).value or os.environ.get(PASSPHRASE_ENV) or None
        incomplete = self.query_one("#export-incomplete", Checkbox).value
        self.query_one("#export-status", Static).update(Text(self.texts("export.running"), style="yellow"))
        self.query_one("#export-run", Button).disabled = True
        self.run_export(out, Path(key_text).expanduser() if key_text else None, passphrase, incomplete)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def run_export(self, out: Path, key_file: Path | None, passphrase: str | None, incomplete: bool) -> None:
        """The same export_package as `workbench export`, in a thread worker so the UI stays live."""
        try:
            result = export_package(
                self.package, out, key_file=key_file, passphrase=passphrase, allow_incomplete=incomplete
            )
        except WorkbenchError as exc:
            self.post_message(self.ExportFinished(None, exc.message))
            return
        detail = ", ".join(f"{name} {getattr(result, name)}" for name in ("rows", "unscored", "seq", "key_id")
                           if getattr(result, name) is not None)
        self.post_message(self.ExportFinished(result.path, detail=detail))

    @on(ExportFinished)
    def finished(self, message: ExportFinished) -> None:
        status = self.query_one("#export-status", Static)
        self.query_one("#export-run", Button).disabled = False
        if message.path is None:
            reason = self.texts.message(message.reason)
            status.update(Text(self.texts("export.failed", reason=reason), style="bold red"))
        else:
            self.written = message.path
            self.query_one("#export-passphrase", Input).value = ""
            shown = self.texts("export.done", path=message.path)
            status.update(Text(shown + (f"\n{message.detail}" if message.detail else ""), style="bold green"))

    @on(Button.Pressed, "#export-close")
    def action_close(self) -> None:
        self.dismiss(self.written)
