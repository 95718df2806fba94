"""The reviewer's app: grade a package offline from the keyboard (`workbench review PACKAGE`).

`run_review` is what the CLI calls; `make_app` is the seam the CLI and the tests share (a test injects the
store, a clock and a score log). Start-up stays lean: the queue needs only the store (stdlib sqlite3) and
the scoring engine; the search index loads after the first paint, and the other screens' code is imported
when they are first opened.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import Screen

from workbench.errors import WorkbenchError
from workbench.model import TargetKey, TargetKind
from workbench.review import ReviewSession, local_time
from workbench.store.db import OPEN_MARK, Store, utc_now
from workbench.store.schema import KIND_PACKAGE
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.config import UserConfig, load_config, save_setting
from workbench.tui.i18n import Texts, localize_bindings, resolve_lang
from workbench.tui.index_load import IndexLoad
from workbench.tui.screens.queue import QueueScreen

if TYPE_CHECKING:
    from workbench.search.index import SearchEntry
    from workbench.tui.screens.search import SearchScreen
    from workbench.tui.screens.target import TargetScreen

#: The start-up benchmark: 1 runs headless and exits once the queue is painted and interactive; "all" once
#: every row's total is shown too. Its terminal size is COLSxROWS in START_SIZE_ENV (120x40 by default).
EXIT_AFTER_START_ENV = "WORKBENCH_EXIT_AFTER_START"
START_SIZE_ENV = "WORKBENCH_START_SIZE"


class ReviewApp(App[None]):
    """Queue → target → score; search, help and export on top.

    Screens post what happened; the app opens what they ask for. The handlers of messages from screens whose
    code is imported only when first opened are named on_<screen>_<message> rather than decorated with @on.
    """

    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "退出", id="quit"),
        Binding("question_mark,f1", "help", "帮助", id="help"),
        Binding("slash", "search", "搜索", id="search"),
        Binding("ctrl+e", "export", "导出", id="export"),
        Binding("ctrl+p", "command_palette", "命令面板", show=False, priority=True, id="command_palette"),
    ]

    def __init__(
        self,
        session: ReviewSession,
        *,
        texts: Texts,
        clock: Callable[[], datetime] | None = None,
        keymap: dict[str, str] | None = None,
        exit_after_start: bool | str = False,
        config: UserConfig | None = None,
    ) -> None:
        super().__init__()
        self.config = config or UserConfig()
        """The reviewer's settings as read at start (the theme chosen in the app is written back to its file)."""
        self.session = session
        self.texts = texts
        localize_bindings(self, texts)
        self.title = texts("app.title")
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.keymap: dict[str, str] = dict(keymap or {})
        self.exit_after_start = exit_after_start
        self.index_load = IndexLoad()
        self.commands = WorkbenchCommands.bound(texts, self.index_load)
        self.queue = QueueScreen(session, texts)
        self._background_started = False

    def get_default_screen(self) -> Screen[None]:
        return self.queue

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        theme = self.config.theme
        if theme and theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self.remember_theme)
        store = self.session.store
        if store.copied_while_open:
            # The mark names the time in UTC ("…Z"), as it is stored; the reviewer reads it in their own zone.
            by = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", lambda m: local_time(m.group(), "%Y-%m-%d %H:%M:%S"),
                        store.meta.get(OPEN_MARK, ""))
            self.notify(self.texts("package.copied_open", by=by), severity="warning", timeout=30)

    @work(thread=True, exclusive=True, exit_on_error=False, group="config", name="check-config")
    def check_config(self) -> None:
        """Warn of what the config file holds that the app did not take: unknown settings, an unknown theme,
        keymap ids no binding has, keys that would mean two things on one screen. In a thread: checking a
        keymap imports every screen's code (the export's brings openpyxl), which the UI must not wait for."""
        config = self.config
        problems = [self.texts.message(w) for w in config.warnings]
        if config.theme and config.theme not in self.available_themes:
            problems.append(self.texts("config.unknown_theme", theme=config.theme))
        if self.keymap:
            from workbench.tui.keys import binding_clashes, unknown_binding_ids

            problems += [self.texts("config.unknown_binding", id=i) for i in unknown_binding_ids(self.keymap)]
            problems += [self.texts.message(c) for c in binding_clashes(self.keymap)]
        if problems:
            self.call_from_thread(self.notify, "\n".join(problems), severity="warning", timeout=30,
                                  title=self.texts("config.title", path=config.path or ""))

    def remember_theme(self, theme: object) -> None:
        """Keep the theme the reviewer chose for next time, in their config file."""
        name = self.theme
        path = self.config.path
        if path is None or name == self.config.theme:
            return
        try:
            save_setting(path, "theme", name)
        except OSError as exc:
            self.notify(self.texts("config.not_saved", path=path, reason=exc.strerror or exc), severity="warning")

    @on(QueueScreen.Painted)
    def queue_painted(self, message: QueueScreen.Painted) -> None:
        """The queue is on screen and interactive: now give the rest of its rows their totals, then load what
        can wait; or leave instead (the start-up benchmark)."""
        if self.exit_after_start and (message.complete or self.exit_after_start != "all"):
            self.exit()
        elif not message.complete:
            self.queue.finish_totals()
        elif not self._background_started:
            self._background_started = True
            self.load_search_index()
            self.check_config()

    # background loads -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="index", name="load-search-index")
    def load_search_index(self) -> None:
        """Import the search code (rapidfuzz) off the UI thread, then read the stored keys on the app's own
        connection (a second connection would only cost another open)."""
        load = self.index_load
        try:
            from workbench.search.lookup import load_index

            load.index = self.call_from_thread(load_index, self.session.store)
        except (WorkbenchError, ImportError, sqlite3.Error) as exc:
            load.error = getattr(exc, "message", str(exc))
        finally:
            load.done.set()

    # what the screens ask for -----------------------------------------------------------------
    @on(QueueScreen.TargetChosen)
    def target_chosen(self, message: QueueScreen.TargetChosen) -> None:
        self.open_target(message.key)

    def on_target_screen_score_saved(self, message: TargetScreen.ScoreSaved) -> None:
        # Screens are siblings: the queue, beneath, hears of it from here and catches up when shown again. A call,
        # not a message posted to it: a message would wake the queue's pump, and Textual then repaints a screen
        # beneath the top one and, with it, the whole screen on top (at every confirmed score).
        message.stop()
        self.queue.target_scored(message.change.key)

    def on_search_screen_entry_chosen(self, message: SearchScreen.EntryChosen) -> None:
        self.open_entry(message.entry)

    @on(WorkbenchCommands.EntryChosen)
    def palette_entry_chosen(self, message: WorkbenchCommands.EntryChosen) -> None:
        self.open_entry(message.entry)

    @on(WorkbenchCommands.ActionChosen)
    async def palette_action_chosen(self, message: WorkbenchCommands.ActionChosen) -> None:
        if message.action == "queue":
            while len(self.screen_stack) > 1:
                await self.pop_screen()
        else:
            await self.run_action(message.action)

    # navigation -------------------------------------------------------------------------------
    def open_target(self, key: TargetKey, code: str | None = None) -> None:
        """Show a target for scoring (reusing the scoring screen when it is already open)."""
        from workbench.tui.screens.target import TargetScreen

        if isinstance(self.screen, TargetScreen):
            self.screen.show_target(key, code)
        else:
            self.push_screen(TargetScreen(self.session, self.texts, self.clock, self.queue.order, key, code))

    def open_entry(self, entry: SearchEntry) -> None:
        """Go where a search hit points: a target, or an indicator of the current (or highlighted) target."""
        from workbench.tui.screens.target import TargetScreen

        if entry.kind in (TargetKind.SITE, TargetKind.CASE):
            self.open_target(TargetKey(TargetKind(entry.kind), entry.id))
            return
        screen = self.screen
        if isinstance(screen, TargetScreen):
            if entry.id in screen.cells:
                screen.go_to(entry.id)
            else:
                self._jump_into_group(screen, entry)
            return
        key = screen.current_key if isinstance(screen, QueueScreen) else None
        candidates = ([key] if key else []) + self.queue.order + [t.key for t in self.session.targets]
        for candidate in candidates:
            if self._indicator_applies(candidate, entry.id):
                self.open_target(candidate, self._first_leaf_under(candidate, entry.id))
                return
        self.notify(self.texts("entry.not_here", name=entry.name), severity="warning")

    def _first_leaf_under(self, key: TargetKey, code: str) -> str | None:
        tree = self.session.tree
        for leaf in tree.leaves(key.kind):
            if code in {node.code for node in tree.path(leaf.code)}:
                return leaf.code
        return None

    def _indicator_applies(self, key: TargetKey, code: str) -> bool:
        return self._first_leaf_under(key, code) is not None

    def _jump_into_group(self, screen: TargetScreen, entry: SearchEntry) -> None:
        leaf = self._first_leaf_under(screen.key, entry.id)
        if leaf is not None and leaf in screen.cells:
            screen.go_to(leaf)
        else:
            self.notify(self.texts("entry.not_here", name=entry.name), severity="warning")

    # actions ----------------------------------------------------------------------------------
    def action_search(self) -> None:
        from workbench.tui.screens.search import SearchScreen

        self.push_screen(SearchScreen(self.session, self.texts, self.index_load))

    def action_help(self) -> None:
        from workbench.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.texts, self.keymap, self.BINDINGS))

    def action_export(self) -> None:
        from workbench.tui.screens.export import ExportScreen

        store = self.session.store
        out = store.path.with_name(f"{store.path.stem}-{store.round_id}.xlsx")
        self.push_screen(ExportScreen(self.texts, store.path, out))

    def action_command_palette(self) -> None:
        """Textual's palette, with the workbench's commands over this app's words and search index."""
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette([*App.COMMANDS, self.commands], id="--command-palette",
                                            placeholder=self.texts("palette.placeholder")))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own palette entries, in the UI language; Keys opens this app's help."""
        texts = self.texts
        yield SystemCommand(texts("system.theme"), texts("system.theme_help"), self.action_change_theme)
        yield SystemCommand(texts("system.quit"), texts("system.quit_help"), self.action_quit)
        yield SystemCommand(texts("system.keys"), texts("system.keys_help"), self.action_help)
        if screen.maximized is not None:
            yield SystemCommand(texts("system.minimize"), texts("system.minimize_help"), screen.action_minimize)
        elif screen.focused is not None and screen.focused.allow_maximize:
            yield SystemCommand(texts("system.maximize"), texts("system.maximize_help"), screen.action_maximize)
        yield SystemCommand(texts("system.screenshot"), texts("system.screenshot_help"),
                            lambda: self.set_timer(0.1, self.deliver_screenshot))

    def search_themes(self) -> None:
        """The theme picker, with each theme's name as the UI language gives it."""
        from workbench.tui.commands import ThemeCommands

        self.push_screen(CommandPalette(providers=[ThemeCommands.bound(self.texts)],
                                        placeholder=self.texts("palette.themes")))

    def on_unmount(self) -> None:
        self.index_load.done.set()  # a search still waiting for the index gives up
        self.session.close()


def make_app(
    store: Store,
    *,
    lang: str | None,
    clock: Callable[[], datetime] | None = None,
    score_log: Path | None = None,
    keymap: dict[str, str] | None = None,
    exit_after_start: bool | str = False,
) -> ReviewApp:
    """The app over an open package. `keymap` (binding id → keys) defaults to the user's config file."""
    try:
        config = load_config()
        texts = Texts(resolve_lang(lang, config.lang))
    except ValueError as exc:
        raise WorkbenchError(str(exc)) from exc
    session = ReviewSession(store, score_log=score_log)
    return ReviewApp(
        session, texts=texts, clock=clock, keymap=config.keymap if keymap is None else keymap,
        exit_after_start=exit_after_start, config=config,
    )


def open_package(package: Path) -> Store:
    """Open a reviewer package for writing, refusing anything else (NotAPackage / NotFound)."""
    # synchronous=NORMAL: every change is followed by a FULL checkpoint, which syncs the WAL and then the main
    # file before it returns, so a confirmed score survives a crash or a power cut without a third fsync.
    return Store.open(package, expect=KIND_PACKAGE)


def run_review(package: Path, lang: str | None) -> None:
    """Open the package and run the app until the reviewer quits; refusals raise WorkbenchError before any
    screen appears. The package is checkpointed on exit so it stays one self-contained file."""
    store = open_package(Path(package))
    try:
        modes: dict[str, bool | str] = {"1": True, "all": "all"}
        exit_after_start = modes.get(os.environ.get(EXIT_AFTER_START_ENV, ""), False)
        app = make_app(store, lang=lang, exit_after_start=exit_after_start)
        # While the app runs, a copy of the .wbk alone says it was taken from an open package.
        store.mark_open(f"{socket.gethostname()} pid {os.getpid()} {utc_now()}")
        if exit_after_start:  # the start-up benchmark: no terminal needed
            columns, _, rows = os.environ.get(START_SIZE_ENV, "120x40").partition("x")
            app.run(headless=True, size=(int(columns), int(rows)))
        else:
            app.run()
        store.mark_closed()  # a clean exit: the package is one self-contained file again
    finally:
        store.close()
