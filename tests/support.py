"""Paths and small helpers shared by test modules (a plain module: `conftest` names clash across folders)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "workbench" / "fixtures"
DEMO = FIXTURES / "demo-2022"
CHECK = FIXTURES / "check-2019"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path
