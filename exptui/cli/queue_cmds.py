"""`exptui queue ...` and `exptui doctor`: the experiment queue from the command line.

Imports stay light (no pandas, no textual, no ruamel): `exptui queue status` answers in well under 0.2 s.
The queue itself is `exptui.execution.queue_manager.QueueManager` (what the TUI uses too).
"""
from __future__ import annotations

import signal
import time
from collections.abc import Set as AbstractSet
from typing import Any

import click

from exptui.cli.output import TerminalSink, echo, write_json, write_text
from exptui.query.durations import format_duration  # noqa: F401 - `queue status` elapsed times (queue_status)


def _manager(ctx: click.Context) -> Any:
    from exptui.execution.queue_manager import QueueManager

    root = ctx.find_root()
    repo = (root.obj or {}).get("repo", ".") if root.obj is not None else "."
    return QueueManager(repo)


@click.group()
def queue() -> None:
    """Queue experiments and run them with a pool of workers (see `exptui run --queue`)."""


@queue.command()
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Number of workers running experiments in parallel.")
@click.option("--wait/--detach", default=False, show_default=True,
              help="Wait for the workers to empty the queue (Ctrl-C: stop the running stages; twice: kill "
                   "them), or leave them running in the background.")
@click.option("--timeout", type=float, default=None, help="Per-stage timeout in seconds.")
@click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
              help="Run the queued entries on a Dask cluster instead: a scheduler address (tcp://host:8786; its "
                   "workers need exptui[dask], not the repository) or 'local' for a LocalCluster of -j workers. "
                   "Always waits.")
@click.option("--resources", "resources", metavar="NAME=N[,NAME=N]", default=None,
              help="With --dask: Dask worker resources each experiment needs (e.g. GPU=1); per stage: "
                   "resources: {train: {GPU: 1}} in exptui.yaml.")
@click.option("--payload-limit", "payload_limit", metavar="SIZE", default=None,
              help="With --dask: most data sent with one task each way (default 256M; "
                   "EXPTUI_DASK_PAYLOAD_LIMIT); more needs a DVC remote.")
@click.pass_context
def start(ctx: click.Context, jobs: int, wait: bool, timeout: float | None, dask_address: str | None,
          resources: str | None, payload_limit: str | None) -> None:
    """Start workers that run queued experiments until the queue is empty.

    With --wait: the exit status is 0 only when every entry it waited for succeeded; crashed, failed, cancelled
    or unfinished entries are named in one error line (exit 1). Ctrl-C, SIGTERM and SIGHUP stop the running
    stages gracefully (twice: at once) and exit 128+signal.
    """
    from exptui.cli.interrupts import interrupt_signals

    mgr = None
    with interrupt_signals() as sig:  # first thing: a signal while the workers are spawned is handled too
        try:
            mgr = _manager(ctx)
            _start_with(mgr, sig, jobs, wait, timeout, dask_address, resources, payload_limit)
        except KeyboardInterrupt:
            # A signal where no narrower handler caught it (looking for searches, settling, recovering): the
            # workers spawned so far stop their stages, as on Ctrl-C during the wait, and the exit is 128+signal.
            signum = sig.signum or signal.SIGINT
            if mgr is None:  # nothing started yet
                raise click.exceptions.Exit(128 + signum) from None
            mgr.wait(None, interrupted=True)
            _report(mgr, signum, set(mgr.last_queued))


def _start_with(mgr: Any, sig: Any, jobs: int, wait: bool, timeout: float | None, dask_address: str | None,
                resources: str | None, payload_limit: str | None) -> None:
    """The body of `queue start`; `sig` says which signal interrupted a wait."""
    if dask_address is None and (resources or payload_limit):
        from exptui.errors import ExptuiError

        raise ExptuiError("--resources and --payload-limit go with --dask ADDRESS")
    if dask_address is not None:
        result = _start_on_dask(mgr, dask_address, jobs, timeout, resources, payload_limit)
        if result is None:
            return
        interrupted, waited, lost = result
        if lost is not None and not interrupted:
            from exptui.errors import ExptuiError

            raise ExptuiError(lost)
        _report(mgr, interrupted and (sig.signum or signal.SIGINT), waited)
        return
    searches = mgr.open_searches()
    try:
        workers = mgr.start(jobs=jobs, detach=True, timeout=timeout, searches=False)
    except KeyboardInterrupt:  # the workers spawned so far stop their stages, as on Ctrl-C during the wait
        mgr.wait(None, interrupted=True)
        _report(mgr, sig.signum or signal.SIGINT, set(mgr.last_queued))
        return
    if not workers and not searches:
        echo("nothing queued (queue experiments with: exptui run --queue -S key=v1,v2)")
        return
    if workers:
        echo(f"started {len(workers)} worker{'s' if len(workers) != 1 else ''}")
    if not wait:
        if searches:
            pid = mgr.start_feeder(jobs, timeout)
            echo(f"started the search feeder (pid {pid}) for {len(searches)} search"
                 f"{'es' if len(searches) != 1 else ''}")
        echo("follow with: exptui queue status / exptui queue logs NAME -f")
        return
    trial_ids: list[str] = []
    if searches:
        try:  # in this process: each finished trial is reported here as it is told to the search
            trial_ids = mgr.drive_searches(jobs, timeout, say=lambda text: echo(text, err=True))
        except KeyboardInterrupt:
            mgr.wait(None, interrupted=True)
            ids = {s.id for s in searches}
            trials = {e.id for e in mgr.store.entries(with_run_info=False)
                      if e.search is not None and e.search.get("id") in ids}
            _report(mgr, sig.signum or signal.SIGINT, set(mgr.last_queued) | trials)
            return
    interrupted = mgr.wait(None)
    _report(mgr, interrupted and (sig.signum or signal.SIGINT), set(mgr.last_queued) | set(trial_ids),
            {w.token for w in workers})


def _parse_resources(text: str | None) -> dict[str, float]:
    """``GPU=1,MEM=4e9`` -> {"GPU": 1.0, "MEM": 4e9}; a bad item is one line naming it."""
    from exptui.errors import ExptuiError

    out: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ExptuiError(f"--resources: {item!r} is not NAME=NUMBER (e.g. --resources GPU=1)") from None
    return out


def _quiet_dask_logs() -> None:
    """Only CRITICAL records of distributed's own loggers reach the terminal: the CLI says what happened in its
    own lines, and a lost scheduler would otherwise print reconnect tracebacks over them."""
    import logging

    try:
        import distributed  # noqa: F401 - importing it installs its log handlers, which are quieted here
    except ImportError:   # DaskExecutor says what to install
        return

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            for handler in logging.getLogger(name).handlers:
                handler.setLevel(logging.CRITICAL)


def _start_on_dask(mgr: Any, address: str, jobs: int, timeout: float | None, resources: str | None = None,
                   payload_limit: str | None = None) -> tuple[bool, set[str], str | None] | None:
    """Submit every queued entry to Dask and wait; Ctrl-C cancels (stages stopped gracefully, pending tasks
    dropped: those entries stay queued). Returns (whether interrupted, the ids submitted, one line when the
    scheduler was lost), or None when nothing was queued."""
    from exptui.execution.dask_executor import DaskExecutor, parse_payload_limit

    wanted = _parse_resources(resources)   # bad input is refused before anything is looked at
    limit = parse_payload_limit(payload_limit)
    mgr.recover()
    listed = mgr.store.entries(with_run_info=False)
    queued = [e for e in listed if e.status == "queued" and e.search is None]
    if mgr.open_searches():  # a search's feeder starts local workers: its trials are not sent to Dask
        echo("adaptive searches are not run on Dask (their feeder starts local workers): exptui queue start -j N",
             err=True)
    if not queued:
        echo("nothing queued (queue experiments with: exptui run --queue -S key=v1,v2)")
        return None
    mgr.git.check_writable()
    _quiet_dask_logs()
    executor = DaskExecutor(mgr.root, address, jobs=jobs, timeout=timeout, resources=wanted, payload_limit=limit)
    interrupted = False
    try:
        n = executor.workers()
        echo(f"sent {len(queued)} entr{'ies' if len(queued) != 1 else 'y'} to the Dask scheduler at "
             f"{executor.address} ({n} worker{'s' if n != 1 else ''})")
        for entry in queued:
            executor.submit(entry)
        try:
            executor.wait()
        except KeyboardInterrupt:
            interrupted = True
            echo("stopping running stages...", err=True)
            executor.shutdown(wait=True, cancel_running=True)
    finally:
        if not interrupted:
            executor.shutdown(wait=False)
    lost = None
    if executor.lost is not None:
        back = sorted(executor.requeued)
        lost = (f"{executor.lost}: {len(back)} running entr{'ies' if len(back) != 1 else 'y'} put back in the "
                f"queue{' (' + ', '.join(back[:5]) + (' ...' if len(back) > 5 else '') + ')' if back else ''}, "
                "nothing lost; run them with: exptui queue start --dask ADDRESS")
    return interrupted, {e.id for e in queued}, lost


#: the order of the summary line
_SUMMARY_ORDER = ("success", "pruned", "failed", "crashed", "cancelled", "running", "queued")


def _report(mgr: Any, interrupted_by: int | bool, waited: set[str], tokens: AbstractSet[str] = frozenset()) -> None:
    """Recovery, then one summary line of the entries this `queue start --wait` waited for, and the exit code:
    128+signal when interrupted, 1 (with one line naming them) when any of them did not succeed, else 0."""
    if interrupted_by:  # the workers stopped their stages; the one line was "stopping running stages..."
        mine = [e for e in mgr.store.entries() if e.id in waited or (e.claim and e.claim.owner.token in tokens)]
        mgr.recover()
    else:
        mine = mgr.settle(waited, tokens)
    counts: dict[str, int] = {}
    for e in mine:
        counts[e.status] = counts.get(e.status, 0) + 1
    echo(" · ".join(f"{counts[s]} {s}" for s in _SUMMARY_ORDER if counts.get(s)) or "nothing ran")
    if interrupted_by:
        raise click.exceptions.Exit(128 + int(interrupted_by))
    bad = [e for e in mine if e.status in ("failed", "crashed", "cancelled")]
    unfinished = [e for e in mine if e.status in ("queued", "running")]
    if not (bad or unfinished):
        return
    from exptui.errors import ExptuiError

    def listing(items: list[Any]) -> str:
        shown = ", ".join(f"{e.name} {e.status}" for e in items[:5])
        return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    parts = []
    if bad:
        parts.append(f"{len(bad)} experiment{'s' if len(bad) != 1 else ''} did not succeed ({listing(bad)})")
    if unfinished:
        parts.append(f"{len(unfinished)} left unfinished ({listing(unfinished)}; no worker is left to run "
                     "them: exptui queue start)")
    hint = f"; see: exptui queue logs {bad[0].name}" if bad else ""
    raise ExptuiError("; ".join(parts) + hint)


@queue.command()
@click.pass_context
def stop(ctx: click.Context) -> None:
    """Let the workers finish their current experiment, then exit (nothing is cancelled)."""
    told = _manager(ctx).stop()
    echo(f"asked {len(told)} worker{'s' if len(told) != 1 else ''} to stop after the current experiment")


@queue.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Queued, running (elapsed time, current stage), finished and failed entries, and the workers."""
    from exptui.query.gc_pause import gc_paused

    with gc_paused():  # thousands of acyclic entry records: the cyclic collector only costs time here
        _status(ctx, as_json)


def _status(ctx: click.Context, as_json: bool) -> None:
    from exptui.cli.queue_status import collect, plain

    listing, workers, warnings, now = collect(_manager(ctx))
    for warning in warnings:
        echo(warning, err=True)
    if as_json:
        import json

        entries = listing.entries()

        write_json(json.dumps({
            "entries": [{
                "id": e.id, "name": e.name, "status": e.status, "stage": e.stage, "started": e.started,
                "elapsed": None if e.started is None or e.status != "running" else now - e.started,
                "attempt": e.attempt, "reason": e.reason, "exp_ref": e.exp_ref, "log": e.log_path,
                "overrides": e.overrides, "baseline": e.baseline, "rev": e.rev,
                "duration": e.done.duration if e.done else None, "stages": e.done.stages if e.done else {},
                "finished": e.finished, "search": e.search,
            } for e in entries],
            "workers": [w.__dict__ for w in workers],
        }, indent=2) + "\n")
        return
    head, table = plain(listing, workers, now)  # (exptui.cli.fast prints the same without click)
    echo(head)
    if table is not None:
        # one write: 1,000 rows echoed one by one are 1,000 syscalls when stdout is unbuffered (PYTHONUNBUFFERED)
        write_text(table)


@queue.command()
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until the entry finishes.")
@click.option("-n", "--tail", "tail", type=int, default=None, help="Only the last N bytes.")
@click.pass_context
def logs(ctx: click.Context, name: str, follow: bool, tail: int | None) -> None:
    """Print the (capped) log of a queued experiment."""
    from exptui.execution.runner import read_log

    mgr = _manager(ctx)
    entry = mgr.find(name)
    path = mgr.log_path(entry.id)
    emit = TerminalSink()   # the log's bytes into a pipe or file; inert (colour kept) on a terminal

    if not follow:
        data = read_log(path, limit=tail)
        if not data and entry.status == "queued":
            echo(f"{entry.name} is queued; it has no log yet", err=True)
        emit(data)
        emit.flush()
        return
    try:
        _follow(mgr, entry.id, path, emit)
    finally:
        emit.flush()


def _follow(mgr: Any, entry_id: str, path: Any, emit: Any) -> None:
    """Print the log as it grows: the head file, then the active tail segment (rotations noted)."""
    from pathlib import Path

    from exptui.execution.runner import log_segments

    path = Path(path)
    head_pos = 0
    seg_name: str | None = None
    seg_pos = 0
    idle_checks = 0
    while True:
        got = False
        try:
            with open(path, "rb") as fh:
                fh.seek(head_pos)
                data = fh.read()
                head_pos += len(data)
                if data:
                    emit(data)
                    got = True
        except FileNotFoundError:
            pass
        segs = log_segments(path)
        if segs:
            newest = segs[-1]
            if newest.name != seg_name:
                if seg_name is None:
                    emit(b"\n[exptui] ... output truncated ...\n")
                seg_name, seg_pos = newest.name, 0
            try:
                with open(newest, "rb") as fh:
                    size = fh.seek(0, 2)
                    if size < seg_pos:
                        seg_pos = 0
                    fh.seek(seg_pos)
                    data = fh.read()
                    seg_pos += len(data)
                    if data:
                        emit(data)
                        got = True
            except FileNotFoundError:
                pass
        if not got:
            idle_checks += 1
            if idle_checks % 5 == 0:
                entry = mgr.find(entry_id)
                if entry.terminal:
                    return
            time.sleep(0.2)
        else:
            idle_checks = 0


@queue.command()
@click.argument("name")
@click.pass_context
def kill(ctx: click.Context, name: str) -> None:
    """Cancel a running (or queued) experiment: its stages are stopped, the entry becomes cancelled."""
    entry = _manager(ctx).kill(name)
    echo(f"cancelling {entry.name}" if entry.status == "running" else f"cancelled {entry.name}")


@queue.command()
@click.argument("names", nargs=-1)
@click.option("--failed", is_flag=True, help="Every failed, crashed or cancelled entry.")
@click.option("--success", is_flag=True, help="Every successful entry (its experiment stays).")
@click.option("--all", "all_", is_flag=True, help="Every entry that is not running.")
@click.pass_context
def remove(ctx: click.Context, names: tuple[str, ...], failed: bool, success: bool, all_: bool) -> None:
    """Remove queue entries (recorded experiments are kept: use `exptui remove` for those)."""
    if not (names or failed or success or all_):
        raise click.UsageError("name entries to remove, or use --failed, --success or --all")
    removed = _manager(ctx).remove(list(names), failed=failed, success=success, all=all_)
    echo(f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}")


@queue.command()
@click.argument("name", required=False)
@click.option("--failed", is_flag=True, help="Every failed, crashed or cancelled entry.")
@click.pass_context
def retry(ctx: click.Context, name: str | None, failed: bool) -> None:
    """Queue a failed, crashed or cancelled entry again (same snapshot, same params)."""
    if not name and not failed:
        raise click.UsageError("name an entry to retry, or use --failed")
    again = _manager(ctx).retry(name, failed=failed)
    echo(f"re-queued {len(again)} entr{'y' if len(again) == 1 else 'ies'}"
         + (" (start workers with: exptui queue start)" if again else ""))


@click.command()
@click.option("--fix", is_flag=True, help="Repair what belongs to exptui (after a liveness check).")
@click.pass_context
def doctor(ctx: click.Context, fix: bool) -> None:
    """Find stale locks, entries of dead workers, orphan run dirs and refs DVC cannot read; --fix repairs."""
    from exptui.execution.doctor import diagnose

    mgr = _manager(ctx)
    report = diagnose(mgr.store, fix=fix)
    if not report.findings:
        echo("no problems found")
        return
    for f in report.findings:
        echo(f.line())
    if not report.ok:
        raise SystemExit(1)  # problems remain: scripts can tell
