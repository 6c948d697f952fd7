"""The experiment index: list every experiment with its params and metrics, fast.

A listing is one `git for-each-ref` (experiments, branches, tags, the notes ref), one batched object read for
commits not seen before, and one read of a cache file. The cache (`.git/exptui/index/commits.pickle`) maps a
commit sha to what was extracted from it (tree, parents, time, message, flattened params/metrics, errors).
Commits never change, so an entry never goes stale; deleting the file only costs a rebuild. It is written
temp -> fsync -> rename, so a crash leaves the old file or the new one. Parsed annotations are cached the same way,
keyed by the notes commit sha.

Nothing heavy is imported here (no pandas, textual or GitPython): `exptui show --json` runs through this module.
"""
from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Iterable

from dvc_compat.exp_refs import CELERY_FAILED as DVC_FAILED_REF
from dvc_compat.exp_refs import CELERY_STASH as DVC_QUEUE_REF
from dvc_compat.exp_refs import EXPS_NAMESPACE, parse_exp_ref
from exptui.records import Annotations, ExperimentRow, RowKind, RunFacts
from exptui.store.commit_data import EXTRACT_VERSION, CommitReader
from exptui.store.facts import parse_trailers
from exptui.store.git import Git

EXPS_PREFIX = EXPS_NAMESPACE + "/"
NOTES_REF = "refs/notes/exptui"


@dataclass
class RefSnapshot:
    """Everything one for-each-ref told us."""

    head: str | None
    head_branch: str | None
    exps: list[tuple[str, str, str, str]] = field(default_factory=list)   # (ref, sha, baseline, name)
    branches: dict[str, str] = field(default_factory=dict)                # short name -> sha
    tags: dict[str, str] = field(default_factory=dict)                    # short name -> peeled commit sha
    notes: str | None = None
    dvc_queue: str | None = None
    dvc_failed: str | None = None                                         # refs/exps/celery/failed


def read_refs(git: Git) -> RefSnapshot:
    # `*objectname` (peeling) makes git read every object, so it is asked for tags only: 0.1 s saved at 10k refs
    rows = git.for_each_ref([EXPS_NAMESPACE, "refs/heads", NOTES_REF], ("refname", "objectname"))
    rows = [(ref, sha, "") for ref, sha in rows]
    rows += git.for_each_ref(["refs/tags"], ("refname", "objectname", "*objectname"))
    branch = git.head_branch()
    snap = RefSnapshot(head=None, head_branch=branch)
    for ref, sha, peeled in rows:
        if ref.startswith(EXPS_PREFIX):
            parsed = parse_exp_ref(ref)
            if parsed is not None:
                snap.exps.append((ref, sha, parsed[0], parsed[1]))
            elif ref == DVC_QUEUE_REF:
                snap.dvc_queue = sha
            elif ref == DVC_FAILED_REF:
                snap.dvc_failed = sha
        elif ref.startswith("refs/heads/"):
            snap.branches[ref[11:]] = sha
        elif ref.startswith("refs/tags/"):
            snap.tags[ref[10:]] = peeled or sha
        elif ref == NOTES_REF:
            snap.notes = sha
    if branch is not None and branch in snap.branches:
        snap.head = snap.branches[branch]
    else:
        snap.head = git.rev_parse("HEAD")
    return snap


def _cache_version() -> tuple:
    """What a cache file must match to be used: the extraction rules and the shapes of the records it pickles
    (a field added to RunFacts or Annotations invalidates old files instead of half-filling new rows), and the
    size limit for files shown (a file refused under one limit is read again under a higher one)."""
    from dataclasses import fields

    from exptui.store.commit_data import display_file_limit

    return (EXTRACT_VERSION, tuple(f.name for f in fields(RunFacts)), tuple(f.name for f in fields(Annotations)),
            display_file_limit())


class IndexCache:
    """The on-disk per-commit cache (pickle of plain dicts)."""

    FILE = "commits.pickle"

    def __init__(self, git: Git):
        self.dir = git.git_dir / "exptui" / "index"
        self.path = self.dir / self.FILE
        self.commits: dict[str, dict] = {}
        self.notes: tuple[str, dict[str, Annotations]] | None = None
        self.dirty = False
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            with open(self.path, "rb") as fh:
                data = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError, ImportError):
            return
        if not isinstance(data, dict) or data.get("version") != _cache_version():
            return
        self.commits = data.get("commits", {})
        notes = data.get("notes")
        if notes is not None:
            self.notes = notes

    def save(self) -> None:
        if not self.dirty:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files()
        payload = {"version": _cache_version(), "commits": self.commits, "notes": self.notes}
        from dvc_compat.fsutil import atomic_write

        try:
            atomic_write(self.path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return  # the cache is an optimisation: a read-only .git or a full disk must not break listing
        self.dirty = False

    def _remove_stale_temp_files(self, max_age: float = 3600.0) -> None:
        """Temp files of writers killed mid-write (an hour old: no live writer takes that long)."""
        import time

        now = time.time()
        for tmp in self.dir.glob(".commits.*.tmp"):
            try:
                if now - tmp.stat().st_mtime > max_age:
                    tmp.unlink()
            except OSError:
                continue

    def prune(self, keep: Iterable[str]) -> int:
        """Drop entries for commits not in `keep`; returns how many were dropped."""
        self.load()
        keep = set(keep)
        drop = [sha for sha in self.commits if sha not in keep]
        for sha in drop:
            del self.commits[sha]
        if drop:
            self.dirty = True
        return len(drop)


class ExperimentIndex:
    """Lists baselines, experiments and queued entries of one repository as `ExperimentRow`s."""

    def __init__(self, git: Git, dvc_cache_dir: Path | None = None):
        self.git = git
        self.cache = IndexCache(git)
        self.reader = CommitReader(git, dvc_cache_dir)
        self.last_refs: RefSnapshot | None = None
        # the TUI lists from a worker thread while actions (star, apply...) resolve names from others
        self._lock = threading.RLock()

    # --- commit data --------------------------------------------------------------------------------------------

    def commit_data(self, shas: Iterable[str], hints: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict]:
        """Cached extraction for `shas`, reading only commits never seen before."""
        with self._lock:
            return self._commit_data(shas, hints)

    def _commit_data(self, shas: Iterable[str], hints: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict]:
        self.cache.load()
        shas = list(dict.fromkeys(shas))
        missing = [s for s in shas if s not in self.cache.commits]
        if missing:
            new = self.reader.read(missing, hints)
            for data in new.values():
                facts, status = parse_trailers(data["message"])
                data["facts"] = facts
                data["status"] = status
                data["message"] = data["message"].split("\n", 1)[0]
            self.cache.commits.update(new)
            self.cache.dirty = True
        return {s: self.cache.commits[s] for s in shas if s in self.cache.commits}

    def annotations(self, notes_sha: str | None) -> dict[str, Annotations]:
        from exptui.store.annotations import read_all

        self.cache.load()
        if notes_sha is None:
            return {}
        if self.cache.notes is not None and self.cache.notes[0] == notes_sha:
            return self.cache.notes[1]
        if self.cache.notes is not None:
            from exptui.store.annotations import read_changes

            notes = read_changes(self.git, self.cache.notes[0], notes_sha, self.cache.notes[1])
        else:
            notes = read_all(self.git, notes_sha)
        self.cache.notes = (notes_sha, notes)
        self.cache.dirty = True
        return notes

    # --- listing ------------------------------------------------------------------------------------------------

    def rows(self, all_commits: bool = False, include_workspace: bool = True, num: int = 1) -> list[ExperimentRow]:
        """Workspace row, then per baseline: the baseline row, its experiments (newest first), its queued entries.

        Baselines: HEAD; branch tips that have experiments; with `all_commits` every commit that has experiments;
        the last `num` commits of HEAD's first-parent history. Thread-safe.
        """
        from exptui.query.gc_pause import gc_paused

        with self._lock, gc_paused():  # acyclic rows in bulk: see gc_pause for why and what it saves
            return self._rows(all_commits, include_workspace, num)

    def _rows(self, all_commits: bool, include_workspace: bool, num: int) -> list[ExperimentRow]:
        refs = read_refs(self.git)
        self.last_refs = refs
        head = refs.head
        by_baseline: dict[str, list[tuple[str, str, str]]] = {}
        for ref, sha, baseline, name in refs.exps:
            by_baseline.setdefault(baseline, []).append((ref, sha, name))
        dvc_queued = self._dvc_queue_entries(refs.dvc_queue, DVC_QUEUE_REF, "queued")
        queued_shas = {sha for sha, *_rest in dvc_queued}
        dvc_queued += [e for e in self._dvc_queue_entries(refs.dvc_failed, DVC_FAILED_REF, "failed")
                       if e[0] not in queued_shas]  # an entry still in the stash has not run: it is queued
        dvc_started = self._dvc_running_entries({sha for sha, *_rest in dvc_queued})
        recorded = {(baseline, name) for _ref, _sha, baseline, name in refs.exps}
        dvc_started = {sha: v for sha, v in dvc_started.items() if (v[0], v[1]) not in recorded}  # done, file stale
        dvc_queued += [(sha, base, base, name, "running") for sha, (base, name, _t) in dvc_started.items()]

        baselines: list[str] = []
        if head is not None:
            baselines.append(head)
            if num != 1:
                args = ["rev-list", "--first-parent"] + ([f"--max-count={num}"] if num > 0 else []) + [head]
                baselines.extend(s for s in self.git.run(*args).split() if s != head)
        branch_tips = set(refs.branches.values())
        for baseline in by_baseline:
            if baseline in baselines:
                continue
            if all_commits or baseline in branch_tips:
                baselines.append(baseline)
        for _sha, _b, base, _n, _s in dvc_queued:
            if base not in baselines and (all_commits or base in branch_tips):
                baselines.append(base)

        # read baselines first: experiments look for the dvc.yaml files their baseline has
        base_data = self.commit_data(baselines)
        # a ref whose baseline is no commit here (non-hex, another repo's SHA-256...): DVC shows it under none
        baselines = [b for b in baselines if b in base_data]
        if len(baselines) > 2:  # HEAD first, then the newest baselines first
            rest = sorted(baselines[1:], key=lambda b: (base_data.get(b) or {}).get("time", 0), reverse=True)
            baselines = baselines[:1] + rest
        hints = {}
        want: list[str] = []
        for b in baselines:
            paths = self._dvcfile_paths_of(b)
            for _ref, sha, _name in by_baseline.get(b, ()):
                want.append(sha)
                hints[sha] = paths
            for sha, _bb, base, _n, _s in dvc_queued:
                if base == b:
                    want.append(sha)
                    hints[sha] = paths
        exp_data = self.commit_data(want, hints)
        notes = self.annotations(refs.notes)

        names = _baseline_names(refs)
        queue_rows: dict[str, list[ExperimentRow]] = {}
        for qrow in self._exptui_queue_rows(names):
            queue_rows.setdefault(qrow.baseline, []).append(qrow)
        rows: list[ExperimentRow] = []
        if include_workspace and head is not None:
            ws = self.workspace_row(head, names.get(head, head[:7]))
            if ws is not None:
                rows.append(ws)
        for b in baselines:
            bdata = base_data.get(b)
            if bdata is None:
                continue
            bname = names.get(b, b[:7])
            rows.append(_row(bname, b, b, "baseline", bname, bdata, notes.get(b), None))
            exps = []
            for ref, sha, name in by_baseline.get(b, ()):
                data = exp_data.get(sha)
                if data is None:
                    continue
                exps.append(_row(name, sha, b, "experiment", bname, data, notes.get(sha), ref))
            exps.sort(key=lambda r: (r.created or _EPOCH, r.name), reverse=True)
            rows.extend(exps)
            for sha, _bb, base, qname, status in dvc_queued:
                if base != b or sha not in exp_data:
                    continue
                row = _row(qname or sha[:7], sha, b, "queued", bname, exp_data[sha], None, None)
                row.status = status  # type: ignore[assignment]
                # queued: not run yet; failed: the run left no result. Either way the stash commit carries the
                # baseline's metrics, which are not this experiment's (DVC shows none either)
                row.metrics = {}
                mfiles = exp_data[sha].get("metric_files", ())
                row.errors = {f: e for f, e in row.errors.items()
                              if not any(f == m or f.startswith(m + "/") for m in mfiles)}
                row.queue_id = f"dvc:{sha}"
                if status == "running":
                    row.started = dvc_started[sha][2]
                rows.append(row)
            rows.extend(queue_rows.pop(b, ()))
        for orphans in queue_rows.values():  # entries of baselines not shown (e.g. an old commit) still show
            rows.extend(orphans)
        self.cache.save()
        return rows

    def _dvcfile_paths_of(self, commit: str) -> tuple[str, ...]:
        data = self.cache.commits.get(commit)
        if data is not None and "dvcfiles" in data:
            return data["dvcfiles"]
        paths = self.reader.dvcfile_paths(commit)
        if data is not None:
            data["dvcfiles"] = paths
            self.cache.dirty = True
        return paths

    def _dvc_queue_entries(self, stash_sha: str | None, ref: str, status: str
                           ) -> list[tuple[str, str, str, str, str]]:
        """DVC's own queue, read-only: reflog entries of `ref` -> (stash sha, head, baseline, name, `status`).

        ``refs/exps/celery/stash`` holds the queued runs; ``refs/exps/celery/failed`` gets one reflog line per
        queued run that failed, pointing at its stash commit (``dvc exp show`` lists those as failed)."""
        if stash_sha is None:
            return []
        log = self.git.git_dir / "logs" / Path(ref)
        try:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            meta, _, msg = line.partition("\t")
            parts = meta.split(" ")
            if len(parts) < 2:
                continue
            new = parts[1]
            if msg.startswith("commit: "):
                msg = msg[len("commit: "):]
            if not msg.startswith("dvc-exp:"):
                continue
            fields_ = msg[len("dvc-exp:"):].split(":")
            if len(fields_) < 3:
                continue
            out.append((new, fields_[0], fields_[1], fields_[2], status))
        out.reverse()  # newest first
        return out

    def _dvc_running_entries(self, known: set[str]) -> dict[str, tuple[str, str, float]]:
        """DVC queue runs in progress (`dvc queue start`, `dvc exp run --temp`): stash sha -> (baseline, name,
        started), read-only.

        A run leaves the stash when it starts, so only its executor info file tells about it:
        `.dvc/tmp/exps/run/<stash sha>/<stash sha>.run` (celery) or `.dvc/tmp/exps/standalone/run/...` (--temp),
        JSON with `baseline_rev`, `name`, `root_dir` and a `status` (0 pending .. 2 running, 3 success, 4 failed,
        5 cancelled, 6 finished). As in DVC's own `iter_active`, a run is active while its status is at most
        success and its temporary checkout (`root_dir`) still exists; a stale file (its checkout removed) is not.
        The same run may have a file in both places: the highest status wins. A run whose experiment is already
        recorded under its baseline is over, whatever its file says. The stash commit itself stays in the object
        store, so the row gets its params from it."""
        import json
        import os
        import re

        exps_tmp = self.git.root / ".dvc" / "tmp" / "exps"
        found: dict[str, tuple[int, str, str, str, float]] = {}
        for pid_dir in (exps_tmp / "run", exps_tmp / "standalone" / "run"):
            try:
                names = os.listdir(pid_dir)
            except OSError:
                continue
            for rev in names:
                if not re.fullmatch(r"[0-9a-f]{40}", rev) or rev in known:
                    continue  # `workspace` (a `dvc exp run` in the workspace) is not a queue entry
                info_path = pid_dir / rev / f"{rev}.run"
                try:
                    info = json.loads(info_path.read_text(encoding="utf-8"))
                    started = (pid_dir / rev).stat().st_mtime
                except (OSError, ValueError):
                    continue
                if not isinstance(info, dict) or info.get("location") == "workspace":
                    continue  # a `dvc exp run` in the workspace leaves a file at status 1 for good: not a queue run
                status = info.get("status", 0)
                status = status if isinstance(status, int) else 0
                prev = found.get(rev)
                if prev is None or status > prev[0]:
                    found[rev] = (status, str(info.get("baseline_rev") or ""), str(info.get("name") or ""),
                                  str(info.get("root_dir") or ""), min(started, prev[4]) if prev else started)
        running: dict[str, tuple[str, str, float]] = {}
        for rev, (status, baseline, name, root_dir, started) in found.items():
            if status <= 3 and root_dir and os.path.isdir(root_dir) and re.fullmatch(r"[0-9a-f]{40}", baseline):
                running[rev] = (baseline, name, started)
        return running

    def _exptui_queue_rows(self, names: dict[str, str]) -> list[ExperimentRow]:
        """Entries of exptui's own queue (not yet finished)."""
        from exptui.store.queue import QueueStore

        try:
            rows = list(QueueStore(self.git).rows(index=self))
        except Exception as exc:  # noqa: BLE001 - a broken queue must not hide the experiments
            import sys

            from exptui.query.inert import inert

            print(inert(f"warning: cannot read the exptui queue: {exc}", multiline=True), file=sys.stderr)
            return []
        for r in rows:
            if not r.baseline_name:
                r.baseline_name = names.get(r.baseline, r.baseline[:7])
        return rows

    def workspace_row(self, head: str, head_name: str) -> ExperimentRow | None:
        """The workspace: params and metrics files as they are on disk now."""
        from exptui.store.workspace import read_workspace

        from exptui.store.workspace_run import current

        params, metrics, errors = read_workspace(self.git.root)
        running = current(self.git.git_dir)
        return ExperimentRow(
            name="workspace", rev="workspace", baseline=head, kind="workspace",
            status="running" if running else "success",
            baseline_name=head_name, created=None, params=params, metrics=metrics, errors=errors,
            stage=running.get("stage") if running else None,
            started=running.get("started") if running else None,
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _baseline_names(refs: RefSnapshot) -> dict[str, str]:
    """Display names: the current branch for HEAD, else a branch, else a tag (short sha by default)."""
    names: dict[str, str] = {}
    for tag, sha in sorted(refs.tags.items(), reverse=True):
        names[sha] = tag
    for branch, sha in sorted(refs.branches.items(), reverse=True):
        names[sha] = branch
    if refs.head is not None and refs.head_branch is not None:
        names[refs.head] = refs.head_branch
    return names


_NO_ANNOTATIONS = Annotations()  # frozen: one shared instance for the rows that have none
_UTC = timezone.utc


def _row(
    name: str, rev: str, baseline: str, kind: RowKind, bname: str, data: dict, ann: Annotations | None, ref: str | None
) -> ExperimentRow:
    """One row from a cache entry: called once per experiment on every listing, so it does only what each row
    needs (one lookup per key, the shared empty `Annotations`). The params/metrics/errors dicts are copies: rows
    are handed out and the cache entry must not change with them."""
    t = data.get("time")
    return ExperimentRow(
        name=name,
        rev=rev,
        baseline=baseline,
        kind=kind,
        status="queued" if kind == "queued" else (data.get("status") or "success"),
        baseline_name=bname,
        created=datetime.fromtimestamp(t, _UTC) if t else None,
        params={f: v.copy() for f, v in data["params"].items()},
        metrics={f: v.copy() for f, v in data["metrics"].items()},
        errors=data["errors"].copy(),
        annotations=ann or _NO_ANNOTATIONS,
        facts=data.get("facts"),
        ref=ref,
    )
