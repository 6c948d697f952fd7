"""`tail -f` for one log file, as a small pure object the log screen polls from a thread.

Bytes are decoded incrementally (a UTF-8 sequence split across two reads is
kept whole) with errors="replace", so non-UTF-8 output shows replacement
characters instead of failing. A log that shrinks (rotated or rewritten) is
read again from the start; a missing file simply yields nothing until it appears.
"""
from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path

INITIAL_TAIL_BYTES = 2 * 1024 * 1024   # a huge log opens at its last 2 MiB
CHUNK_BYTES = 256 * 1024               # at most this much per poll keeps the UI responsive


@dataclass
class LogTail:
    """Reads what was appended to `path` since the last call."""

    path: Path
    offset: int = 0
    skipped: int = 0                   # bytes left out at the start of a huge log
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"), repr=False
    )
    _started: bool = False

    def exists(self) -> bool:
        return self.path.is_file()

    def read_new(self, limit: int = CHUNK_BYTES) -> str:
        """Text appended since the previous call ("" when nothing new or the file is missing)."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return ""
        prefix = ""
        if not self._started:
            self._started = True
            if size > INITIAL_TAIL_BYTES:
                self.offset = self.skipped = size - INITIAL_TAIL_BYTES
                prefix = f"… {self.skipped:,} earlier bytes not shown …\n"
        elif size < self.offset:      # truncated or replaced: start over
            self.offset = 0
            self._decoder.reset()
            prefix = "… log restarted …\n"
        if size == self.offset:
            return prefix
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(min(limit, size - self.offset))
        except OSError:
            return prefix
        self.offset += len(data)
        return prefix + self._decoder.decode(data)
