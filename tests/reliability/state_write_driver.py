"""Run the real dashboard (`ExptuiApp` through `App.run_test()`, headless) over REPO until its first complete
listing is in and the first screen is saved; with `sort`, then sort by a metric column and save the view, as the
`s` key and its view save do.

    python state_write_driver.py REPO [sort]     ($REL_PAUSE_ON=view.json|first-rows.pickle, $REL_MARK, $REL_RELEASE)

With $REL_PAUSE_ON set, every `atomic_write` of a file of that name stops between its temp file, written and
closed, and the rename over the real file: it writes "<pid> <temp path>" to $REL_MARK and waits until $REL_RELEASE
exists. That is the one moment a killed writer could leave something behind; a test SIGKILLs the dashboard there.
Nothing else is changed: the write is `dvc_compat.fsutil.atomic_write` itself, seen through a stand-in `os`.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import dvc_compat.fsutil as fsutil

F1 = "metrics:metrics.json:f1"


class _PausingOs:
    """`os` as `atomic_write` sees it, with the pause in `replace`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == os.environ.get("REL_PAUSE_ON"):
            mark = Path(os.environ["REL_MARK"])
            mark.with_suffix(".tmp").write_text(f"{os.getpid()} {src}")
            os.replace(mark.with_suffix(".tmp"), mark)
            while not os.path.exists(os.environ["REL_RELEASE"]):
                time.sleep(0.02)
        os.replace(src, dst)


fsutil.os = _PausingOs()  # type: ignore[assignment]


async def run(repo: Path, sort: bool) -> None:
    from exptui.project import Project
    from exptui.tui.app import ExptuiApp

    def saving() -> bool:
        return any(worker.group == "first-screen" and worker.is_running for worker in app.workers)

    async def until(predicate: Any) -> None:
        while not predicate():
            await pilot.pause(0.05)

    app = ExptuiApp(Project.open(repo), repo, poll_interval=60)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.reloads > 0 and not saving())
        if sort:
            main = app.main
            main.table.cursor_column = next(i for i, c in enumerate(main.table.columns) if c.id == F1)
            await pilot.press("s")
            await until(lambda: main.view.sort == [(F1, False)])
            main.save_view_now()
            await pilot.pause(0.05)
            await until(lambda: not saving())
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), sys.argv[2:] == ["sort"]))
