"""Drive the real app headless with scripted keystrokes, as a reviewer would type (the crash-safety test).

    python tests/tui/scripted.py PACKAGE --log SCORES.log [--seed N] [--steps K]

Opens the package exactly as `workbench review` does, then presses keys: values (valid and refused), N/A,
vetoes, undo, moves between indicators and targets. Every committed change is appended to the score log
after its commit, so a test that kills this process can check that each logged change survived.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.css.query import NoMatches
from textual.pilot import Pilot

from workbench.model import Indicator, IndicatorKind
from workbench.tui.app import make_app, open_package
from workbench.tui.screens.target import TargetScreen


def valid_keys(leaf: Indicator, rng: random.Random) -> list[str]:
    """Keys that enter a valid value for this leaf."""
    if leaf.kind == IndicatorKind.VETO:
        return [rng.choice("yn")]
    steps = int(leaf.max_score / leaf.step) if leaf.step > 0 else int(leaf.max_score)
    value = (leaf.step if leaf.step > 0 else Decimal(1)) * rng.randint(0, max(steps, 0))
    return [*format(value.normalize(), "f"), "enter"]


KEY_NAMES = {".": "full_stop", "-": "minus", "enter": "enter", "escape": "escape", "]": "right_square_bracket",
             "[": "left_square_bracket"}
KEY_CHARACTERS = {"enter": "\r", "escape": "\x1b"}


async def press(app: App[Any], *keys: str) -> None:
    """Send keys as the terminal driver would, at typing speed rather than Pilot's wait-for-idle pace."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = events.Key(KEY_NAMES.get(key, key), KEY_CHARACTERS.get(key, key))
        event.set_sender(app)
        driver.send_message(event)
        await asyncio.sleep(0.004)


async def score(pilot: Pilot[Any], rng: random.Random, steps: int) -> None:
    app = pilot.app
    await press(app, "enter")
    for _ in range(steps):
        await asyncio.sleep(0.004)
        screen = app.screen
        if not isinstance(screen, TargetScreen):
            await press(app, "enter")
            continue
        try:
            leaf = screen.current
        except NoMatches:  # pushed but not composed yet
            continue
        roll = rng.random()
        if leaf is None or roll < 0.08:
            await press(app, rng.choice("]["))  # next / previous target
        elif roll < 0.14:
            await press(app, rng.choice("jk"))
        elif roll < 0.18:
            await press(app, "u")
        elif roll < 0.22:
            await press(app, *rng.choice(("99", "-1", "0.3")), "enter", "escape")  # refused, never saved
        elif roll < 0.25:
            await press(app, "x")
        else:
            await press(app, *valid_keys(leaf, rng))
    await pilot.pause()
    app.exit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--log", type=Path, required=True, help="score log to append to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    store = open_package(args.package)
    try:
        app = make_app(store, lang="zh", score_log=args.log, keymap={})

        async def auto_pilot(pilot: Pilot[Any]) -> None:
            await score(pilot, rng, args.steps)

        app.run(headless=True, size=(120, 40), auto_pilot=auto_pilot)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
