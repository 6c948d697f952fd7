"""`exptui doctor`: find partial state left by crashes and repair what belongs to exptui (docs/reliability.md).

What it looks at:
- stale ``*.lock`` files: git never removes them and every update of that ref fails until someone does. Ours
  (under ``refs/exptui`` and ``.git/exptui``) are removed with ``--fix`` once older than `STALE_LOCK_AGE` (a
  ref lock is held for milliseconds) and no live worker exists; others (``index.lock``, ``packed-refs.lock``,
  ``refs/exps/...``) are only reported, with the command to run;
- running entries whose worker is dead (pid + start time + host + token, or a stale heartbeat) -> crashed;
- run dirs whose owner is dead; registry files of dead workers; tail segments of finished logs;
- leftover temp files in ``.git/exptui/tmp``; scratch directories (``/dev/shm/exptui-*``) and owner files of
  run dirs left by killed processes;
- scratch refs ``refs/notes/exptui-scratch-fetch-*`` of a push/pull that was killed;
- refs under ``refs/exps/`` that DVC cannot parse (DVC's listing fails on them), and experiment refs that point at
  something other than a commit (a blob or a tree: `dvc exp show` crashes on them; nothing can be an experiment
  there, so `--fix` deletes the ref, compare-and-swap, and the object stays until `git gc`).
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from exptui.store.claims import ProcessIdentity, find_locks
from exptui.store.queue import QueueStore

STALE_LOCK_AGE = 10.0
STALE_TMP_AGE = 3600.0
_DVC_INTERNAL = ("apply", "celery", "exec", "temp", "stash", "runs")


@dataclass
class Finding:
    kind: str               # lock | foreign-lock | orphan-entry | run-dir | worker-file | log | tmp | bad-ref
    path: str
    detail: str
    fixable: bool = True
    fixed: bool = False

    def line(self) -> str:
        state = "fixed" if self.fixed else ("fix with --fix" if self.fixable else "not exptui's: fix by hand")
        return f"{self.kind}: {self.path}: {self.detail} [{state}]"


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.fixed for f in self.findings)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s old"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min old"
    return f"{seconds / 3600:.1f} h old"


def _live_workers(store: QueueStore) -> list[ProcessIdentity]:
    out = []
    for data in store.state.workers():
        ident = ProcessIdentity.from_dict(data)
        if ident is not None and ident.alive() is not False:
            out.append(ident)
    return out


def diagnose(store: QueueStore, fix: bool = False) -> DoctorReport:
    from exptui.execution.recovery import mark_crashed, orphan_run_dirs, owner_file
    from exptui.execution.runner import log_segments, finalize_log

    report = DoctorReport()
    git_dir = store.git.git_dir
    live = _live_workers(store)

    # -- locks ------------------------------------------------------------------------------------------------
    for lock in find_locks(git_dir):
        f = Finding("lock", str(lock.path), _age(lock.age))
        if lock.age < STALE_LOCK_AGE:
            continue  # held right now by a live update
        if live:
            f.detail += f"; {len(live)} worker(s) alive, left alone"
            f.fixable = False
        elif fix:
            try:
                lock.path.unlink()
                f.fixed = True
            except FileNotFoundError:
                f.fixed = True
        report.findings.append(f)
    now = time.time()
    for rel in ("index.lock", "packed-refs.lock", "HEAD.lock"):
        p = git_dir / rel
        if p.exists():
            age = now - p.stat().st_mtime
            if age >= STALE_LOCK_AGE:
                report.findings.append(Finding(
                    "foreign-lock", str(p), f"{_age(age)}; if no git process is running, remove it: rm {p}",
                    fixable=False))
    exps_dir = git_dir / "refs" / "exps"
    if exps_dir.is_dir():
        for dirpath, _d, files in os.walk(exps_dir):
            for name in files:
                if name.endswith(".lock"):
                    p = Path(dirpath) / name
                    age = now - p.stat().st_mtime
                    if age >= STALE_LOCK_AGE:
                        report.findings.append(Finding(
                            "foreign-lock", str(p), f"{_age(age)}; DVC's or exptui's experiment ref is blocked: "
                            f"if no dvc/exptui process is running, rm {p}", fixable=False))

    # -- entries of dead workers ------------------------------------------------------------------------------
    entries = store.entries()
    for e in entries:
        reason = e.dead_reason
        if reason is None:
            continue
        f = Finding("orphan-entry", e.name, f"running, but {reason}")
        if fix:
            mark_crashed(store, e, reason)
            f.fixed = True
        report.findings.append(f)

    # -- run dirs, worker files, logs, temp files ---------------------------------------------------------------
    from exptui.execution.recovery import orphan_owner_files
    from exptui.store.queue import dead_scratch_dirs

    for path in orphan_owner_files(store):
        f = Finding("owner-file", str(path), "owner file of a run dir that was never created; its process is gone")
        if fix:
            path.unlink(missing_ok=True)
            f.fixed = True
        report.findings.append(f)
    for path in dead_scratch_dirs(store.git):
        f = Finding("scratch-dir", str(path), "scratch directory of a killed exptui process")
        if fix:
            shutil.rmtree(path, ignore_errors=True)
            f.fixed = not path.exists()
        report.findings.append(f)
    running = {e.id for e in entries if e.status == "running" and e.dead_reason is None}
    for path in orphan_run_dirs(store, running):
        f = Finding("run-dir", str(path), "owner is gone")
        if fix:
            shutil.rmtree(path, ignore_errors=True)
            f.fixed = not path.exists()
            if f.fixed:
                try:
                    owner_file(path).unlink()
                except FileNotFoundError:
                    pass
            else:
                f.detail += "; could not remove it (permissions? NFS?)"
        report.findings.append(f)
    for data in store.state.workers():
        ident = ProcessIdentity.from_dict(data)
        if ident is not None and ident.alive() is False:
            f = Finding("worker-file", str(store.state.worker_path(ident.token)),
                        f"worker {ident.pid} on {ident.host} is gone")
            if fix:
                store.state.unregister_worker(ident.token)
                f.fixed = True
            report.findings.append(f)
    for e in entries:
        if e.status == "running" or not e.log_path:
            continue
        if log_segments(Path(e.log_path)):
            f = Finding("log", e.log_path, "unfinished capped log (tail segments left by a crash)")
            if fix:
                finalize_log(Path(e.log_path))
                f.fixed = True
            report.findings.append(f)
    from exptui.store.claims import clean_temp_files

    st = store.state
    for directory in (st.base, st.run_dir, st.runs_dir, st.workers_dir):
        for p in clean_temp_files(directory, dry_run=not fix):
            report.findings.append(Finding("tmp", str(p), "half-written state file of a killed process",
                                           fixed=fix))
    tmp = git_dir / "exptui" / "tmp"
    if tmp.is_dir():
        for name in os.listdir(tmp):
            p = tmp / name
            try:
                age = now - p.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < STALE_TMP_AGE:
                continue
            f = Finding("tmp", str(p), f"temporary file {_age(age)}")
            if fix:
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                f.fixed = not p.exists()
            report.findings.append(f)

    # -- state refs whose queue entry is gone (a remove interrupted mid-way, or a hand-deleted entry) ----------
    from exptui.store.git import RefUpdate
    from exptui.store.queue import NS

    refs = store._read_refs()
    for ns in ("claims", "done", "attempts"):
        for entry_id, (sha, _body) in sorted(refs[ns].items()):
            if entry_id in refs["queue"]:
                continue
            ref = f"{NS}{ns}/{entry_id}"
            f = Finding("dangling-ref", ref, "state of a queue entry that no longer exists")
            if fix:
                f.fixed = store._update([RefUpdate(ref, None, sha)], message="exptui: doctor")
            report.findings.append(f)

    # -- scratch refs of killed push/pull ---------------------------------------------------------------------
    from exptui.store.claims import pid_alive
    from exptui.store.sharing import SCRATCH_PREFIX, scratch_pid

    for ref, sha in store.git.for_each_ref([SCRATCH_PREFIX + "*"], fields=("refname", "objectname")):
        pid = scratch_pid(ref)
        if pid is not None and pid_alive(pid):
            continue  # a push/pull running right now
        f = Finding("scratch-ref", ref, "scratch ref of a push/pull that did not finish")
        if fix:
            f.fixed = store._update([RefUpdate(ref, None, sha)], message="exptui: doctor")
        report.findings.append(f)

    # -- refs DVC cannot parse, experiment refs that are not commits -------------------------------------------
    from dvc_compat.exp_refs import EXPS_NAMESPACE, parse_exp_ref

    for ref, sha, kind in store.git.for_each_ref([EXPS_NAMESPACE + "/"], ("refname", "objectname", "objecttype")):
        parts = ref.split("/")
        if len(parts) > 2 and parts[2] in _DVC_INTERNAL:
            continue
        if parse_exp_ref(ref) is None:
            report.findings.append(Finding(
                "bad-ref", ref, f"not in DVC's {EXPS_NAMESPACE}/<b2>/<b38>/<name> layout (dvc exp show fails on it); "
                f"inspect it, then: git update-ref -d {ref}", fixable=False))
        elif kind != "commit":
            f = Finding("bad-ref", ref, f"points at a {kind} ({sha[:12]}), not a commit: no experiment can be "
                        "there (dvc exp show fails on it)")
            if fix:
                f.fixed = store._update([RefUpdate(ref, None, sha)], message="exptui: doctor")
            report.findings.append(f)
    return report
