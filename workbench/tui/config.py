"""The reviewer's own settings for the app: a TOML file with the UI language and a keymap of binding ids."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_ENV = "WORKBENCH_CONFIG"


def config_path() -> Path:
    """$WORKBENCH_CONFIG, else $XDG_CONFIG_HOME/workbench/config.toml (~/.config by default)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "workbench" / "config.toml"


@dataclass(frozen=True)
class UserConfig:
    lang: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → key string, e.g. {"next_target": "ctrl+n"} (Textual keymaps)."""


def load_config(path: Path | None = None) -> UserConfig:
    """Read the config file if there is one; a file that cannot be read is refused with the reason."""
    path = path or config_path()
    if not path.is_file():
        return UserConfig()
    import tomllib  # only when a config exists: start-up stays lean without one

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"无法读取配置文件 {path} / cannot read the config file: {exc}") from exc
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ValueError(f"{path}: [keymap] 须为 id = \"按键\" / [keymap] must map binding ids to key strings")
    lang = data.get("lang")
    return UserConfig(lang=str(lang) if lang else None, keymap={str(k): v for k, v in keymap.items()})
