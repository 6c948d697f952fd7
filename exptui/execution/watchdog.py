"""A worker's watchdog: when the worker dies, however it dies, its stage processes die too.

PR_SET_PDEATHSIG (set by exptui.pipeline.proc) kills a stage's direct child when its worker is SIGKILLed, but
not grandchildren that left the process group (``setsid``, daemonising tools, ``nohup``). Dask and Ray leave
exactly those running (research/executor-reliability.md). So each worker starts this tiny process in its own
session with the read end of a pipe whose write end only the worker holds. The kernel closes that end when the
worker exits for any reason; the watchdog then reads EOF and SIGKILLs every process tagged with one of the
worker's run tokens (``EXPTUI_RUN_TOKEN=<worker token>-<entry id>``). After a clean exit there are none.

    python -m exptui.execution.watchdog WORKER_TOKEN   (stdin: the pipe)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def start_watchdog(worker_token: str) -> subprocess.Popen[bytes]:
    """Start the watchdog of the calling worker process. Keep the returned process referenced; never close
    the pipe's write end explicitly: process exit does it."""
    read_end, write_end = os.pipe()  # non-inheritable: stages and git children never hold the write end
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exptui.execution.watchdog", worker_token],
            stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    finally:
        os.close(read_end)
    proc._exptui_pipe = write_end  # type: ignore[attr-defined] - held for the worker's lifetime
    return proc


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m exptui.execution.watchdog WORKER_TOKEN", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe decides
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    from exptui.store.claims import kill_tagged

    kill_tagged(f"{argv[0]}-", signal.SIGKILL, prefix=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
