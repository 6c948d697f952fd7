"""How the dashboard was last looking at a repo: filter, sort, column rules, leaderboard mode.

Saved per repo in `.git/exptui/view.json` (inside the git dir, so it never shows up in `git status` and is never
committed). It is a cache of preferences: a missing or unreadable file just means the default view.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class ViewState:
    filter: str = ""
    sort: list[tuple[str, bool]] = field(default_factory=list)   # (column id, descending), first key first
    hidden: list[str] = field(default_factory=list)               # column ids
    pinned: list[str] = field(default_factory=list)               # column ids shown in the fixed left part
    keep: list[str] = field(default_factory=list)                 # regexes over column ids
    drop: list[str] = field(default_factory=list)
    only_changed: bool = False
    leaderboard: bool = False
    directions: dict[str, str] = field(default_factory=dict)      # metric column id -> "higher" | "lower" (`:better`)

    def to_json(self) -> dict:
        data = asdict(self)
        data["sort"] = [[column, descending] for column, descending in self.sort]
        return data

    @classmethod
    def from_json(cls, data: object) -> ViewState:
        """Lenient: unknown keys are ignored and a wrongly typed value falls back to its default."""
        state = cls()
        if not isinstance(data, dict):
            return state
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "sort":
                if isinstance(value, list):
                    state.sort = [(str(item[0]), bool(item[1])) for item in value
                                  if isinstance(item, (list, tuple)) and len(item) == 2]
            elif f.name in ("filter",) and isinstance(value, str):
                state.filter = value
            elif f.name == "directions":
                if isinstance(value, dict):
                    state.directions = {str(k): v for k, v in value.items() if v in ("higher", "lower")}
            elif f.name in ("only_changed", "leaderboard") and isinstance(value, bool):
                setattr(state, f.name, value)
            elif f.name in ("hidden", "pinned", "keep", "drop") and isinstance(value, list) \
                    and all(isinstance(v, str) for v in value):
                setattr(state, f.name, list(value))
        return state


def git_dir(repo_root: Path) -> Path | None:
    """The repo's git dir without running git: `.git` itself or the `gitdir:` a worktree's `.git` file names."""
    dot_git = repo_root / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.split(":", 1)[1].strip())
            return target if target.is_absolute() else (repo_root / target).resolve()
    return None


def view_file(repo_root: Path) -> Path | None:
    gd = git_dir(repo_root)
    return gd / "exptui" / "view.json" if gd else None


def load_view(repo_root: Path) -> ViewState:
    path = view_file(repo_root)
    if path is None or not path.is_file():
        return ViewState()
    try:
        return ViewState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):   # RecursionError: `[[[[…` nested past the parser's limit
        return ViewState()


def save_view(repo_root: Path, state: ViewState) -> None:
    """Write temp -> rename, so a killed dashboard never leaves a half-written file (the old one stays whole).

    No fsync: it runs on the UI thread after each sort or filter change, and the fsync was 6-8 ms there (median,
    up to 19 ms; ext4 at load 5-7, 2026-12-07) against 0.4 ms without. A power cut may then lose the last change,
    or on some file systems leave an empty file, which `load_view` reads as the default view: preferences."""
    path = view_file(repo_root)
    if path is None:
        return
    from dvc_compat.fsutil import atomic_write

    atomic_write(path, json.dumps(state.to_json(), indent=1).encode("utf-8"), durable=False)
