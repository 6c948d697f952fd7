"""User key remapping: `~/.config/exptui/keys.toml` (or the file named by `$EXPTUI_CONFIG`).

    [keys]
    "main.filter" = "f"          # binding id = key(s), comma-separated
    "table.down" = "down,j,ctrl+n"

Ids are listed by the help screen (`?`). A bad file is one clear error naming the file and key, never a traceback.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from exptui.errors import ExptuiError


class ConfigError(ExptuiError):
    """The keys file cannot be used; the message names the file and the key."""


def config_path() -> Path:
    env = os.environ.get("EXPTUI_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "exptui" / "keys.toml"


def load_keymap(path: Path | None = None, known_ids: set[str] | None = None,
                warnings: list[str] | None = None) -> dict[str, str]:
    """Binding id -> keys. Missing file = no remaps. An unknown id (a typo would silently do nothing) is an error,
    or, when a `warnings` list is given, a line appended to it and skipped: the dashboard still starts and shows
    the warning (an old keys file must not lock the user out after a binding is renamed)."""
    path = path or config_path()
    if not path.is_file():
        return {}
    try:
        data = _parse_toml(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix or delete the file") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ConfigError(f"{path}: [keys] must be a table of binding-id = \"key\"")
    keymap: dict[str, str] = {}
    for binding_id, value in keys.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: keys.{binding_id} must be a non-empty string such as \"ctrl+f\"")
        if known_ids is not None and binding_id not in known_ids:
            import difflib

            close = difflib.get_close_matches(binding_id, sorted(known_ids), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problem = f"{path}: keys.{binding_id} is not a binding id ({hint}press ? in exptui to list them)"
            if warnings is None:
                raise ConfigError(problem)
            warnings.append(problem + "; ignored")
            continue
        keymap[binding_id] = ",".join(part.strip() for part in value.split(","))
    return keymap


def _parse_toml(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same parser, from PyPI (a dependency on 3.10 only)
        import tomli as tomllib
    return tomllib.loads(text)
