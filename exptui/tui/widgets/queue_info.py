"""What the queue view's Info column says about an entry: the line a user would look for first.

A failed entry's stored reason is generic ("stage 'train' failed with exit code 1"); the cause is in the last
lines of its log (the exception, the error message). A successful entry's Info names the experiment it became, so
the row can be found in the table. Reading a log tail is a file read (no git), done in the queue's poll thread.
"""
from __future__ import annotations

import re
from pathlib import Path

from exptui.project import EntryState, QueueEntry
from exptui.query.inert import InertStream

TAIL_BYTES = 16 * 1024
_ERRORISH = re.compile(r"error|exception|traceback|failed|fatal|killed|abort", re.IGNORECASE)
_OWN_PREFIX = "[exptui]"


def last_error_line(path: str | Path | None, tail_bytes: int = TAIL_BYTES) -> str | None:
    """The last line of the log's tail that reads like an error (the stage's own output before exptui's notes),
    else its last non-empty line; None when there is no log. Escape sequences are made inert, colour dropped."""
    if not path:
        return None
    # a log over 1 MiB continues in rotating `.tail0`/`.tail1` segments (the runner's format): the newest is the end
    files = [Path(str(path) + suffix) for suffix in ("", ".tail0", ".tail1")]
    present = [(f.stat().st_mtime_ns, f.stat().st_size > 0, f) for f in files if f.is_file()]
    if not present:
        return None
    newest = max(present, key=lambda item: (item[1], item[0]))[2]
    try:
        with open(newest, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            data = fh.read()
    except OSError:
        return None
    text = InertStream(strip_colour=True).feed(data.decode("utf-8", errors="replace"))
    candidates = [line.strip() for line in text.splitlines() if line.strip()]
    own = [line for line in candidates if not line.startswith(_OWN_PREFIX)]
    for pool in (own, candidates):
        for line in reversed(pool):
            if _ERRORISH.search(line) and not line.lower().startswith("traceback"):
                return line
    return candidates[-1] if candidates else None


def info_text(entry: QueueEntry) -> str:
    """Info cell text for one entry (called in the poll thread: may read the failed entry's log tail)."""
    if entry.status == EntryState.SUCCESS:
        name = entry.exp_ref.rsplit("/", 1)[-1] if entry.exp_ref else entry.name
        return f"→ {name}"
    if entry.status in (EntryState.FAILED, EntryState.CRASHED):
        line = last_error_line(entry.log_path)
        if line and entry.reason and line not in entry.reason:
            return line
        return entry.reason or line or ""
    return entry.reason or ""
