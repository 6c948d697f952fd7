"""Click-free paths for the commands scripts and status bars poll: a plain ``exptui queue status`` (issue 13: with
10,000 entries queued, importing click and building its parser was a sixth of the whole command).

`fast_path` answers only the exact invocations it knows (``queue status``, optionally after ``-C DIR``/``--repo
DIR``) and returns None for anything else, which then goes through click as before. It prints through the same
functions as the click command (`exptui.cli.queue_status`), so the output is the same bytes. Everything is worked
out before the first byte is written; any failure up to then returns None too, and the click path does the work
again and reports the error exactly as it always has (recovering dead workers' entries is idempotent, so doing it
twice changes nothing). Only what happens while writing is handled here, as `cli.errors.run_guarded` handles it.
"""
from __future__ import annotations

import os
import sys
from typing import TextIO


def _utf8(stream: TextIO | None) -> bool:
    """click writes through its own text wrapper when a stream's encoding is not UTF-8: leave those to click."""
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def fast_path(argv: list[str]) -> int | None:
    """The exit code of a command answered here, or None: run it through click."""
    args = list(argv)
    repo = "."
    if len(args) == 4 and args[0] in ("-C", "--repo"):
        repo, args = args[1], args[2:]
        if not repo or repo.startswith("-") or not os.path.isdir(repo):
            return None  # click's own checks and messages
    if args != ["queue", "status"] or not (_utf8(sys.stdout) and _utf8(sys.stderr)):
        return None
    from exptui.query.gc_pause import gc_paused

    try:
        with gc_paused():  # thousands of acyclic entry records: the cyclic collector only costs time here
            from exptui.cli.queue_status import collect, plain
            from exptui.execution.queue_manager import QueueManager

            listing, workers, warnings, now = collect(QueueManager(repo))
            head, table = plain(listing, workers, now)
    except KeyboardInterrupt:
        return _write_guarded([(sys.stderr, "Interrupted.\n")], 130)
    except Exception:  # noqa: BLE001 - the click path does it again and reports it as it always has
        return None
    from exptui.query.inert import inert

    def line(text: str) -> str:  # as `output.echo`: inert, line breaks kept, then one newline
        return inert(text, multiline=True, expand_tabs=False) + "\n"

    pieces = [(sys.stderr, line(w)) for w in warnings] + [(sys.stdout, line(head))]
    if table is not None:
        pieces.append((sys.stdout, inert(table, multiline=True)))  # as `output.write_text`
    return _write_guarded(pieces, 0)


def _write_guarded(pieces: list[tuple[TextIO, str]], code: int) -> int:
    try:
        for stream, text in pieces:
            stream.write(text)
            stream.flush()
    except BrokenPipeError:  # `exptui queue status | head`: not an error (as run_guarded)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return code
    except OSError as exc:  # as run_guarded: one line naming the file, never a traceback
        from dvc_compat.errors import WriteError

        if isinstance(exc, WriteError):
            message = str(exc)
        else:
            message = (exc.strerror or str(exc)) + (f" ({exc.filename})" if exc.filename else "")
        from exptui.query.inert import inert

        sys.stderr.write(inert(f"error: {message}", multiline=True, expand_tabs=False) + "\n")
        sys.stderr.flush()
        return 1
    return code
