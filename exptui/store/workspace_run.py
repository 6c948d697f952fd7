"""A marker for a run in the workspace (`exptui run` without --temp/--queue), so the TUI shows it as running.

`.git/exptui/workspace-run.json` holds ``{pid, host, started, stage, name}`` while the run lasts; it is written
temp -> rename (a new inode and mtime, which `Project.changed_token` stats) and removed at the end.
A marker whose process is gone (killed, rebooted) is ignored and cleaned by the next run: a crash never leaves the
workspace "running" forever.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any
from exptui.store.claims import pid_alive

FILE = "workspace-run.json"


def _path(git_dir: Path) -> Path:
    return git_dir / "exptui" / FILE


class WorkspaceRun:
    """Context manager around a workspace run; `stage(address)` records the current stage."""

    def __init__(self, git_dir: Path, name: str | None):
        self.path = _path(git_dir)
        self.info: dict[str, Any] = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                                     "stage": None, "name": name}

    def _write(self) -> None:
        from exptui.store.claims import write_json_atomic

        try:
            write_json_atomic(self.path, self.info, durable=False)
        except OSError:
            pass  # only a display hint: never fail the run for it (a full disk leaves no temp file either)

    def stage(self, address: str | None) -> None:
        self.info["stage"] = address
        self._write()

    def __enter__(self) -> WorkspaceRun:
        self._write()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            current = json.loads(self.path.read_text())
            if current.get("pid") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass


def current(git_dir: Path) -> dict[str, Any] | None:
    """The live workspace run's info, or None (no marker, unreadable, or its process is gone)."""
    try:
        info = json.loads(_path(git_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return None
    if info.get("host") == socket.gethostname() and not pid_alive(info["pid"]):
        return None
    return info
