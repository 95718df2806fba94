"""The reviewer's own settings for the app: a TOML file with the UI language, the theme and a keymap of binding ids.

Unknown settings are reported (a warning at start, not a refusal: the app still opens), and the theme the
reviewer picks in the app is written back here, so that it is theirs the next time.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_ENV = "WORKBENCH_CONFIG"
KNOWN_KEYS = ("lang", "theme", "keymap", "cli")
"""The top-level settings the app reads ([cli] is the command line's: csv_bom); anything else is reported as unknown."""


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
    theme: str | None = None
    """A Textual theme name, as the reviewer last chose it in the app."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → key string, e.g. {"next_target": "ctrl+n"} (Textual keymaps)."""
    warnings: tuple[str, ...] = ()
    """What in the file was not understood ("中文 / English" sentences), shown when the app starts."""
    path: Path | None = None


def load_config(path: Path | None = None) -> UserConfig:
    """Read the config file if there is one; a file that cannot be read is refused with the reason."""
    path = path or config_path()
    if not path.is_file():
        return UserConfig(path=path)
    import tomllib  # only when a config exists: start-up stays lean without one

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"无法读取配置文件 {path} / cannot read the config file: {exc}") from exc
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ValueError(f"{path}: [keymap] 须为 id = \"按键\" / [keymap] must map binding ids to key strings")
    warnings = [
        f"{path}：未知的设置 {key!r}，已忽略（可用：{'、'.join(KNOWN_KEYS)}）/ "
        f"unknown setting {key!r} ignored (known: {', '.join(KNOWN_KEYS)})"
        for key in data if key not in KNOWN_KEYS
    ]
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        warnings.append(f"{path}：theme 须为主题名称的字符串，已忽略 / theme must be a theme name; ignored")
        theme = None
    lang = data.get("lang")
    return UserConfig(lang=str(lang) if lang else None, theme=theme or None,
                      keymap={str(k): v for k, v in keymap.items()}, warnings=tuple(warnings), path=path)


_TABLE = re.compile(r"^\s*\[")


def save_setting(path: Path, key: str, value: str) -> None:
    """Set one top-level string setting in the config file, keeping everything else in it as it is
    (comments, the keymap); the file is created when there is none. Written whole, then renamed over."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    line = f"{key} = {json.dumps(value, ensure_ascii=False)}"  # a JSON string is a valid TOML basic string
    lines = text.splitlines()
    setting = re.compile(rf"^\s*{re.escape(key)}\s*=")
    top = next((i for i, existing in enumerate(lines) if _TABLE.match(existing)), len(lines))
    found = next((i for i in range(top) if setting.match(lines[i])), None)
    if found is not None:
        lines[found] = line
    else:
        lines.insert(0, line)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(scratch, path)
