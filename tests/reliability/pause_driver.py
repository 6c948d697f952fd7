"""Run `exptui ARGS...` with one pause: before the first DVC-cached output is checked out of the cache.

    python pause_driver.py apply NAME      (with $REL_PLACE_MARK and $REL_RELEASE set)

The moment a signal test needs inside `apply` (its git-tracked files written, its cached outs not yet) has no git
child or stage to hold it, so this wrapper gives it one: at the first `ContentCache._place` call it writes its pid
to $REL_PLACE_MARK and waits until $REL_RELEASE exists, then goes on. Nothing else is changed: the command is the
real CLI (`exptui.cli.main`), its own signal handlers and all; the wait is interruptible like any other moment of
a restore.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from exptui.pipeline.cache import ContentCache

_place = ContentCache._place


def _paused_place(self: ContentCache, obj: Path, dest: Path, isexec: bool = False) -> Any:
    mark = os.environ.pop("REL_PLACE_MARK", None)
    if mark:
        Path(mark).write_text(str(os.getpid()))
        release = os.environ.get("REL_RELEASE", "")
        while release and not os.path.exists(release):
            time.sleep(0.02)
    return _place(self, obj, dest, isexec)


ContentCache._place = _paused_place  # type: ignore[method-assign]

if __name__ == "__main__":
    from exptui.cli import main

    sys.argv = ["exptui", *sys.argv[1:]]
    main()
