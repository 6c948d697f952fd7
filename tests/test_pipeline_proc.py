"""The stage runner: exit codes, merged byte output, streaming, timeout/cancel of the whole group, death with parent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from exptui.pipeline.proc import CHUNK, run_command, run_command_result, shell_argv

ENV = {"PATH": os.environ["PATH"], "SHELL": "/bin/bash"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_exit_code_and_merged_output_in_order(tmp_path: Path) -> None:
    got: list[bytes] = []
    rc = run_command("echo out; echo err >&2; echo out2; exit 3", tmp_path, ENV, got.append)
    assert rc == 3
    assert b"".join(got) == b"out\nerr\nout2\n"


def test_bytes_are_passed_through_undecoded(tmp_path: Path) -> None:
    got: list[bytes] = []
    assert run_command(r"printf '\377\376 caf\303\251\n'", tmp_path, ENV, got.append) == 0
    assert b"".join(got) == b"\xff\xfe caf\xc3\xa9\n"


def test_cwd_and_env_reach_the_command(tmp_path: Path) -> None:
    got: list[bytes] = []
    run_command('echo "$PWD $MY_VAR"', tmp_path, {**ENV, "MY_VAR": "hello"}, got.append)
    assert b"".join(got).decode().strip() == f"{tmp_path} hello"


def test_list_runs_entries_in_order_and_stops_at_first_failure(tmp_path: Path) -> None:
    got: list[bytes] = []
    rc = run_command(["echo one", "false", "echo never"], tmp_path, ENV, got.append)
    assert rc == 1
    assert b"".join(got) == b"one\n"


def test_argv_mode_without_shell(tmp_path: Path) -> None:
    got: list[bytes] = []
    r = run_command_result([sys.executable, "-c", "print('a b')"], tmp_path, ENV, got.append, shell=False)
    assert r.returncode == 0 and b"".join(got) == b"a b\n"


def test_shell_argv_matches_dvc() -> None:
    assert shell_argv("x", "/bin/bash") == ["/bin/bash", "--noprofile", "--norc", "-c", "x"]
    assert shell_argv("x", "/usr/bin/zsh") == ["/usr/bin/zsh", "--no-rcs", "-c", "x"]
    assert shell_argv("x", "/bin/sh") == ["/bin/sh", "-c", "x"]


def test_large_output_is_streamed_in_bounded_chunks(tmp_path: Path) -> None:
    total = 0
    biggest = 0
    calls = 0

    def sink(chunk: bytes) -> None:
        nonlocal total, biggest, calls
        total += len(chunk)
        biggest = max(biggest, len(chunk))
        calls += 1

    rc = run_command("head -c 50000000 /dev/zero", tmp_path, ENV, sink)
    assert rc == 0
    assert total == 50_000_000
    assert biggest <= CHUNK and calls >= 50_000_000 // CHUNK


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    start = time.monotonic()
    r = run_command_result(f"sleep 60 & echo $! > {pidfile}; wait", tmp_path, ENV, lambda b: None, timeout=0.5)
    assert r.timed_out and not r.cancelled and r.returncode != 0
    assert time.monotonic() - start < 5
    assert _wait_dead(int(pidfile.read_text()))


def test_cancel_event_stops_the_command(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    r = run_command_result(["sleep 30", "echo never"], tmp_path, ENV, lambda b: None, cancel=cancel)
    assert r.cancelled and r.returncode == -signal.SIGTERM
    assert time.monotonic() - start < 5


def test_term_ignored_gets_killed_after_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exptui.pipeline.proc as proc

    monkeypatch.setattr(proc, "TERM_GRACE", 0.3)
    r = run_command_result("trap '' TERM; sleep 30 & wait; sleep 30", tmp_path, ENV, lambda b: None, timeout=0.2)
    assert r.timed_out and r.returncode == -signal.SIGKILL


def test_background_leftovers_do_not_hang_the_runner(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    start = time.monotonic()
    rc = run_command(f"sleep 60 & echo $! > {pidfile}; echo done", tmp_path, ENV, lambda b: None)
    assert rc == 0
    assert time.monotonic() - start < 5
    assert _wait_dead(int(pidfile.read_text()))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_stage_dies_when_its_runner_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    runner = subprocess.Popen([
        sys.executable, "-c",
        "import os, sys; from pathlib import Path; from exptui.pipeline.proc import run_command; "
        f"run_command('echo $$ > {pidfile}; exec sleep 60', Path('.'), dict(os.environ), lambda b: None)",
    ], cwd=tmp_path)
    try:
        end = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < end:
            time.sleep(0.02)
        child = int(pidfile.read_text())
        assert _alive(child)
        runner.kill()
        runner.wait()
        assert _wait_dead(child), "stage process survived its killed runner"
    finally:
        runner.kill()


def test_a_failing_sink_stops_the_stage(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    def sink(chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        run_command(f"echo $$ > {pidfile}; echo hi; exec sleep 60", tmp_path, ENV, sink)
    assert _wait_dead(int(pidfile.read_text()))
