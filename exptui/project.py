"""`Project`: one repository's facade, used by both the CLI and the TUI.

It lists experiments (through the index), resolves names, runs, applies, branches, removes, annotates, pushes and
pulls them. Everything durable goes through git (`exptui.store`); nothing here imports Textual or pandas.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from exptui.errors import ExperimentNotFound, ExptuiError
# what `Project.live_metrics()` returns (a plain record; the front ends name it through this facade)
from exptui.execution.live_metrics import LiveMetrics as LiveMetrics
from exptui.execution.live_metrics import LiveMetricsReader
from exptui.records import Annotations, ExperimentRow, RowKind
# the queue's records, for the front ends (which reach the store only through this facade): what
# `project.queue.entries()` returns and the states an entry goes through
from exptui.store.entry_state import EntryState as EntryState
from exptui.store.git import ZERO_OID, Git, RefConflict, RefUpdate
from exptui.store.index import ExperimentIndex, parse_exp_ref, read_refs
from exptui.store.index import RefSnapshot as RefSnapshot   # the refs of a listing (`experiments(on_refs=...)`)
from exptui.store.signals import held_signals
from exptui.store.queue import QueueEntry as QueueEntry

if TYPE_CHECKING:  # pragma: no cover
    from dvc_compat.plots import PlotFile
    from exptui.execution.queue_manager import QueueManager
    # what `run(events=...)` receives; the CLI names it through this facade
    from exptui.pipeline.repro import StageEvent as StageEvent
    from exptui.query.compare import DiffRow
    from exptui.query.columns import Column
    from exptui.store.prestart import StartedRefs
    from exptui.store.apply import ApplyResult
    from exptui.store.data_remote import DataTransfer as DataTransfer
    from exptui.store.experiments import ExperimentRecord
    # the dashboard's saved first screen (exptui.tui.app names it through this facade)
    from exptui.store.first_rows import FirstRows as FirstRows
    from exptui.store.first_rows import Since as Since
    from exptui.store.first_rows import Early as Early
    from exptui.store.first_rows import EarlyStart as EarlyStart
    from exptui.store.gc import GcPlan


class Project:
    """One git repository holding DVC-format pipelines and experiments."""

    def __init__(self, git: Git):
        self.git = git
        self.root: Path = git.root
        self._index: ExperimentIndex | None = None
        self._rows: list[ExperimentRow] | None = None
        self._queue: QueueManager | None = None
        self.last_record: ExperimentRecord | None = None  # of the last workspace run (its large_files warn)
        self.last_apply: ApplyResult | None = None  # of the last apply, as far as it got (an interrupted one too)
        self._live_reader: LiveMetricsReader | None = None
        # what a commit holds never changes: plots declarations and DVCLive series per full sha, read once per
        # process (the plots screen reopened reads nothing from git)
        self._by_commit: dict[tuple[str, str], Any] = {}
        self._plots_by_text: dict[bytes, list[Any]] = {}   # plot files of an uninterpolated dvc.yaml, by its text

    @classmethod
    def open(cls, path: str | os.PathLike[str] = ".", long_lived: bool = False) -> Project:
        """The project containing `path` (found from the git top level). `long_lived` (the TUI): see `Git`.

        Errors: not a git repository; a repository without commits (exptui never commits on the user's behalf).
        """
        git = Git.discover(path, long_lived=long_lived)
        git.head()  # raises with "make an initial commit" when there are no commits
        return cls(git)

    # --- paths --------------------------------------------------------------------------------------------------

    @property
    def dvc_cache_dir(self) -> Path:
        """The DVC cache directory (`.dvc/cache` unless `.dvc/config` moves it)."""
        from dvc_compat.config import DEFAULT_CACHE_DIR, load_config
        from dvc_compat.errors import FormatError

        try:
            return Path(load_config(self.root).cache_dir)
        except FormatError:  # a broken .dvc/config is reported by the commands that need it
            return self.root / DEFAULT_CACHE_DIR

    @property
    def index(self) -> ExperimentIndex:
        if self._index is None:
            self._index = ExperimentIndex(self.git, self.dvc_cache_dir)
        return self._index

    # --- listing ------------------------------------------------------------------------------------------------

    def experiments(self, all_commits: bool = False, refresh: bool = True, num: int = 1, *, first: int = 0,
                    on_first: Callable[[list[ExperimentRow], int], None] | None = None,
                    shared: bool = False, on_refs: Callable[[RefSnapshot], None] | None = None,
                    refs: RefSnapshot | None = None) -> list[ExperimentRow]:
        """Workspace, baselines (HEAD, branch tips with experiments; every commit with `all_commits`; the last
        `num` commits of HEAD's first-parent history), their experiments newest first, then queued entries.
        `refresh=False` returns the last listing if there is one. `first`/`on_first`: the top rows of the listing
        are handed over before the rest are built (the dashboard paints them first; `ExperimentIndex.rows`).
        `shared`: experiment rows hold the index's own params/metrics dicts instead of copies, for readers that
        never change them (the dashboard: one copy of every experiment's data fewer at 100,000 rows)."""
        if self._rows is not None and not refresh:
            return self._rows
        self._rows = self.index.rows(all_commits=all_commits, num=num, first=first, on_first=on_first,
                                     shared=shared, on_refs=on_refs, refs=refs)
        return self._rows

    def saved_first_rows(self, token: str | None = None) -> FirstRows | None:
        """The top rows the dashboard saved (`save_first_rows`) when the change token was `token` (whatever it
        was if None), or None: at 100,000 experiments they are on screen ~0.8 s of CPU before the listing's plan is
        (`exptui.store.first_rows`)."""
        from exptui.store import first_rows

        return first_rows.load(self.git.git_dir, None if token is None else (token,))

    def save_first_rows(self, token: str, rows: list[ExperimentRow], total: int,
                        since: Since | None = None) -> None:
        """Keep `rows` (what the dashboard shows at the top, in listing order, of a listing of `total` rows read
        when the change token was `token`) for the next start; best effort. `since` (`first_rows_since`) when the
        rows are a prefix of the listing: a start after a ref change amends them (`amend_first_rows`)."""
        from exptui.store import first_rows

        first_rows.save(self.git.git_dir, (token,), rows, total, since)

    def first_rows_since(self, state: str, refs: RefSnapshot, top: Sequence[ExperimentRow] = ()) -> Since:
        """What `save_first_rows` needs of a listing's refs (`state_token()` before the listing, and its refs):
        two columns of strings, not the snapshot's 100,000 tuples (kept while the dashboard runs: ~15 MiB less at
        100,000 experiments). `top`: the listing's first rows (those the dashboard may save), whose listing keys
        are kept with them, so that an amendment reads the index's ids only for a new experiment on screen."""
        from exptui.store import first_rows

        exps = [(row.ref or "", row.rev, row.name) for row in top if row.kind == "experiment"]
        with self.index.lock:
            keys = tuple(k for k in self.index.listing_keys(exps) if k is not None) if exps else ()
        return first_rows.since(state, refs, keys)

    def first_rows_since_view(self, since: Since, filter_text: str, sort: Sequence[tuple[str, bool]],
                              leaderboard: bool, columns: Sequence[Column], listed: Iterable[str]) -> Since:
        """`since` for the top of a sorted, filtered or leaderboard view (the dashboard's `ViewState` parts, the
        columns it resolved their names against and the baselines its listing showed): a start after a ref change
        amends that top too (`exptui.store.first_rows_view`)."""
        from exptui.store.first_rows_view import with_view

        return with_view(since, filter_text, sort, leaderboard, tuple(columns), listed)

    @staticmethod
    def first_rows_fit(rows: FirstRows, filter_text: str, sort: Sequence[tuple[str, bool]], leaderboard: bool) -> bool:
        """Whether saved or amended first rows are the top of this view (the one they were derived with)."""
        from exptui.store.first_rows_view import fits

        return fits(rows, filter_text, sort, leaderboard)

    def amend_first_rows(self, saved: FirstRows, refs: RefSnapshot, state: str) -> FirstRows | None:
        """`saved` (read under other refs) made the top of the listing `refs` gives, or None if that is not
        certain without the rest of the listing (`exptui.store.first_rows.amend`). Call under the project's
        lock (from `experiments(on_refs=...)`)."""
        from exptui.store import first_rows

        return first_rows.amend(saved, refs, state, self.index)

    def start_first_screen(self, started: StartedRefs | None = None) -> EarlyStart:
        """Start working out the dashboard's first screen in a thread, now: `exptui ui` calls this before it
        imports Textual, so the saved screen is read, and after a ref change the refs are read and the screen
        amended, while the UI is imported and started (`exptui.store.first_rows.EarlyStart`).

        `started`: the refs' for-each-ref `exptui ui` started first thing (`exptui.store.prestart`), used when it
        is this repository's: its tokens (read before git started) are the thread's, its output the refs (read
        again if git failed); else it is stopped and the thread reads the tokens and refs itself."""
        from exptui.store.first_rows import EarlyStart

        index = self.index   # made here, not in the thread: the UI thread may ask for it meanwhile (one index)
        if started is not None and (started.git_dir, started.root) != (str(self.git.git_dir), str(self.root)):
            started.discard()
            started = None

        def work() -> Early:
            from exptui.query.gc_pause import gc_paused

            # the cyclic collector paused as in a listing (whose `read_refs` runs paused too): 100,000 refs' tuples
            # are acyclic, and full collections meanwhile would walk them and, beside them, the UI's imports
            try:
                with gc_paused():
                    return first_screen()
            finally:
                if started is not None:
                    started.discard()   # not taken (an error before): git never outlives the thread

        def first_screen() -> Early:
            from exptui.store.first_rows import Early

            # the tokens are read before the refs (a change after them makes the app's token differ, and then the
            # refs are not used); a pre-started for-each-ref's were read before git started
            token = started.token if started is not None else self.changed_token()
            try:
                saved = self.saved_first_rows()
            except Exception:  # noqa: BLE001 - only a head start
                saved = None
            if saved is not None and saved.rows and saved.key == (token,):
                if started is not None:
                    started.discard()   # the listing reads the refs after the paint, as before
                return Early(token, "", None, saved)
            state = started.state if started is not None else self.state_token()
            with index.lock:
                # the experiment refs are not parsed before the paint: the amendment compares for-each-ref's bytes
                # with the saved ones and decodes only the lines that differ; the listing parses them after it
                raw = started.output() if started is not None else None
                refs = index.read_snapshot(parse=False, raw=raw)
                amended = None
                if saved is not None and saved.rows and saved.since is not None:
                    try:
                        # a few new commits may be read: not through GitPython, whose import (~70 ms CPU) would
                        # compete with the UI's imports before the paint
                        with self.git.batch_only():
                            amended = self.amend_first_rows(saved, refs, state)
                    except Exception:  # noqa: BLE001 - only a head start
                        amended = None
            return Early(token, state, refs, amended if amended is not None and amended.rows else None)

        return EarlyStart.start(work)

    def experiments_json(self, all_commits: bool = False, num: int = 1,
                         live: Mapping[str, dict[str, Any]] | None = None) -> Iterator[str]:
        """The listing of `experiments` as ``show --json`` records (one JSON text per row), streamed from the
        index's pre-encoded pieces; does not replace the last listing."""
        return self.index.json_lines(all_commits=all_commits, num=num, live=live)

    def changed_token(self) -> str:
        """A cheap (< 5 ms) token that changes whenever refs, notes or the queue change; the TUI polls it."""
        from exptui.store.token import changed_token

        return changed_token(self.git.git_dir, self.root)

    def state_token(self) -> str:
        """`changed_token` without the experiment refs (and `packed-refs`, `HEAD`): see `amend_first_rows`."""
        from exptui.store.token import changed_token

        return changed_token(self.git.git_dir, self.root, refs=False)

    # --- resolving ----------------------------------------------------------------------------------------------

    def resolve(self, name_or_rev: str) -> ExperimentRow:
        """An experiment (or commit) by name, full `refs/exps/...` ref, git rev (branch, tag, sha) or sha prefix.

        A bare name prefers the experiment under HEAD's baseline; a name found under several other baselines is
        ambiguous and the error lists the candidates.
        """
        text = name_or_rev.strip()
        if not text:
            raise ExperimentNotFound("no experiment name given")
        if text == "workspace":
            ws = self.index.workspace()
            if ws is not None:
                return ws
        # the common cases without a listing (issue 13: 8 s at 100k): a full experiment ref, or a bare name under
        # HEAD's baseline (which the listing's rules below would pick too: it wins over any other match)
        if text.startswith("refs/"):
            row = self.index.experiment_by_ref(text)
            if row is not None:
                return row
        else:
            head = self.git.rev_parse("HEAD")
            if head is not None and "/" not in text:
                from dvc_compat.exp_refs import baseline_prefix

                row = self.index.experiment_by_ref(baseline_prefix(head) + text)
                if row is not None:
                    return row
        # the rest looks through what the listing (every baseline) holds without building its rows: at 100,000
        # experiments building them is seconds, the catalog (refs, the index's ids and times) a fraction of that
        entries, row_of = self.index.catalog(all_commits=True)
        if text.startswith("refs/"):
            for e in entries:
                if e.ref == text:
                    return row_of(e)
            parsed = parse_exp_ref(text)
            if parsed is not None:
                sha = self.git.rev_parse(text)
                if sha is not None:
                    return self._row_for_commit(sha, kind="experiment", name=parsed[1], ref=text)
            raise ExperimentNotFound(f"no experiment ref {text}")
        named = [e for e in entries if e.kind in ("experiment", "queued") and e.name == text]
        if len(named) == 1:
            return row_of(named[0])
        if len(named) > 1:
            head = self.git.head()
            mine = [e for e in named if e.baseline == head and e.kind == "experiment"]
            if len(mine) == 1:
                return row_of(mine[0])
            listing = ", ".join(f"{e.ref or e.rev[:7]} (baseline {e.baseline_name})" for e in named)
            raise ExptuiError(f"experiment name '{text}' is ambiguous: {listing}; give the full ref")
        sha = self.git.rev_parse(text)
        if sha is not None:
            for e in entries:
                if e.rev == sha and e.kind in ("experiment", "baseline"):
                    return row_of(e)
            return self._row_for_commit(sha, kind="baseline", name=text)
        if len(text) >= 4 and all(c in "0123456789abcdef" for c in text.lower()):
            hits = [e for e in entries if e.kind in ("experiment", "queued", "baseline")
                    and e.rev.startswith(text.lower())]
            uniq = {e.rev: e for e in hits}
            if len(uniq) == 1:
                return row_of(next(iter(uniq.values())))
            if len(uniq) > 1:
                raise ExptuiError(
                    f"'{text}' matches several experiments: " + ", ".join(f"{e.name} ({e.rev[:9]})" for e in uniq.values())
                )
        close = _close_names(text, [e.name for e in entries if e.kind == "experiment"])
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise ExperimentNotFound(f"no experiment or revision named '{text}'{hint}")

    def stage_order(self) -> list[str]:
        """The workspace pipeline's stage addresses in the order a run goes through them (the TUI's "stage i/n" of
        a running row); empty when dvc.yaml cannot be read (the banner for that is elsewhere)."""
        from exptui.pipeline.dag import load_pipeline

        try:
            return [stage.address for stage in load_pipeline(self.root).select(None)]
        except Exception:  # noqa: BLE001 - only a progress hint: a broken dvc.yaml shows no "i/n"
            return []

    def _row_for_commit(self, sha: str, kind: RowKind = "baseline", name: str | None = None, ref: str | None = None) -> ExperimentRow:
        from exptui.store.index import _row

        data = self.index.commit_data([sha]).get(sha)
        if data is None:
            raise ExperimentNotFound(f"{sha} is not a commit")
        parent = data["parents"][0] if (kind == "experiment" and data["parents"]) else sha
        return _row(name or sha[:7], sha, parent, kind, parent[:7], data, None, ref)

    # --- comparing ----------------------------------------------------------------------------------------------

    def diff(self, a: str, b: str | None = None) -> list[DiffRow]:
        """Params/metrics differences from `b` (default: `a`'s baseline) to `a`: list of
        exptui.query.compare.DiffRow (old = b, new = a)."""
        from exptui.query.compare import diff as query_diff

        old, new = self.diff_pair(a, b)
        return query_diff(old, new)

    def diff_pair(self, a: str, b: str | None = None) -> tuple[ExperimentRow, ExperimentRow]:
        """(old, new) rows for a diff: `b` (default: `a`'s baseline, or HEAD for the workspace) and `a`."""
        ra = self.resolve(a)
        if b is None:
            if ra.kind == "workspace":
                rb = self._row_for_commit(self.git.head(), "baseline", self.git.head_branch())
            elif ra.kind == "baseline":
                raise ExptuiError(f"'{a}' is a baseline: give a second revision to compare it with")
            else:
                listed = self._rows or []  # the last listing if there is one: never a new listing for this
                found = next((r for r in listed if r.kind == "baseline" and r.rev == ra.baseline), None)
                if found is None:  # as the listing's baseline row: named after its branch (or tag, or short sha)
                    found = self._row_for_commit(ra.baseline, "baseline", ra.baseline_name or None)
                    found.baseline_name = found.name
                rb = found
        else:
            rb = self.resolve(b)
        return rb, ra

    # --- plots --------------------------------------------------------------------------------------------------

    def _commit_cached(self, kind: str, rev: str, read: Callable[[], Any]) -> Any:
        """`read()` once per full commit sha (immutable content); names, branches and the workspace every time."""
        if len(rev) != 40 or not all(c in "0123456789abcdef" for c in rev):
            return read()
        key = (kind, rev)
        if key not in self._by_commit:
            self._by_commit[key] = read()
        return self._by_commit[key]

    def plot_files(self, rev: str) -> list[PlotFile]:
        """Plots files the dvc.yaml at `rev` declares (``workspace``: the work tree), with their x/y/title props.
        A dvc.yaml the parser rejects still yields its literal file paths."""
        return list(self._commit_cached("plot_files", rev, lambda: self._plot_files(rev)))

    def _plot_files(self, rev: str) -> list[PlotFile]:
        from dvc_compat.errors import FormatError
        from dvc_compat.plots import plot_files, plot_files_unresolved
        from dvc_compat.yamlio import load_yaml
        from exptui.store.outputs import WORKSPACE, parse_dvcfile_at, read_file

        # experiments of one baseline mostly share their dvc.yaml: one without `${…}` declares the same plots
        # whatever the vars files hold, so it is parsed once per text (49 experiments: ~50 ms of YAML on `p`)
        text = read_file(self.git, rev, "dvc.yaml") if rev != WORKSPACE else None
        literal = text is not None and b"${" not in text
        if literal and text in self._plots_by_text:
            return self._plots_by_text[text]
        try:
            dvcfile = parse_dvcfile_at(self.git, rev)
        except (FormatError, OSError, ValueError):
            try:
                return plot_files_unresolved(load_yaml(read_file(self.git, rev, "dvc.yaml") or b"", "dvc.yaml"))
            except FormatError:
                return []
        files = plot_files(dvcfile) if dvcfile is not None else []
        if literal and text is not None:
            self._plots_by_text[text] = files
        return files

    def read_plot(self, rev: str, path: str) -> bytes | None:
        """A plots file of `rev`: from git (the work tree for ``workspace``), else from the DVC cache."""
        from exptui.store.outputs import read_output

        return read_output(self.git, rev, path, self.dvc_cache_dir)

    # --- running ------------------------------------------------------------------------------------------------

    def run(
        self,
        overrides: Sequence[str] = (),
        name: str | None = None,
        temp: bool = False,
        force: bool = False,
        sink: Callable[[bytes], None] | None = None,
        *,
        events: Callable[[StageEvent], None] | None = None,
        targets: list[str] | None = None,
        message: str | None = None,
        command: str | None = None,
        timeout: float | None = None,
    ) -> ExperimentRow:
        """Run one experiment now, like `dvc exp run`.

        In the workspace (default): apply the `-S` overrides to the params files (comments kept), reproduce the
        pipeline, record the experiment; the workspace keeps the results, as with DVC. `temp=True` runs it in an
        isolated clone instead and leaves the workspace untouched. A sweep needs the queue (`project.queue`).
        `timeout`: seconds per stage, as the queue's (SIGTERM to the stage's group, grace, SIGKILL; the run fails).

        The workspace lock (`exptui.pipeline.workspace_lock`) is held from before the params files are read and
        edited until the experiment is recorded (or the params are put back), so a second run, `apply`, a queue
        snapshot or a `dvc` command never sees or writes this run's in-flight files.
        """
        from dvc_compat.config import hydra_composition_refusal
        from dvc_compat.sweep import check_paths, is_sweep, parse_overrides
        from exptui.pipeline.dag import load_pipeline
        from exptui.pipeline.repro import reproduce
        from exptui.store.experiments import check_name_free, record_experiment
        from exptui.store.facts import finish_facts, start_facts
        from exptui.store.workspace_run import WorkspaceRun

        parsed = parse_overrides(list(overrides))
        check_paths(parsed, self.root, [self.git.git_dir])  # -S never writes outside the project or into .git
        if is_sweep(parsed):
            raise ExptuiError("a sweep makes several experiments: add --queue to queue them")
        baseline = self.git.head()
        if not (self.root / ".dvc").is_dir():  # as `dvc exp run`; and the queue refuses the same repo
            raise ExptuiError(f"'{self.root}' is not a DVC repository (no .dvc directory): run 'exptui init' "
                              "(or 'dvc init') first; nothing was run")
        refusal = hydra_composition_refusal(self.root)
        if refusal is not None:
            raise ExptuiError(f"{refusal}; nothing was run")
        if name is not None:
            check_name_free(self.git, baseline, name, force)
        load_pipeline(self.root)  # a malformed dvc.yaml fails here, before any params file is edited
        if temp:
            return self._run_temp(parsed, name, force, sink, baseline, command, timeout)
        from exptui.pipeline.workspace_lock import workspace_lock

        self.git.check_writable()  # a read-only object store fails now, not after the whole pipeline ran
        with workspace_lock(self.root):
            originals = {o.path: _read_or_none(self.root / o.path) for o in parsed}
            try:
                self._apply_overrides(parsed, self.root)
                facts = start_facts(command)
                env = {"DVC_EXP_BASELINE_REV": baseline, "DVC_ROOT": str(self.root)}
                if name:
                    env["DVC_EXP_NAME"] = name
                with WorkspaceRun(self.git.git_dir, name) as marker:  # lets the TUI show the workspace as running

                    def on_event(ev: StageEvent) -> None:
                        if ev.kind == "start":
                            marker.stage(ev.stage.address)
                        if events is not None:
                            events(ev)

                    result = reproduce(self.root, targets=targets, force=force, sink=sink, events=on_event,
                                       cache_dir=self.dvc_cache_dir, env=env, timeout=timeout)
                stages_lock = _reproduced_locks(result, self.root)
            except BaseException:
                # A failed, refused or interrupted run leaves the params files as the user had them (dvc.lock keeps
                # the stages that finished, so `exptui status` shows exactly what differs). A second Ctrl-C/SIGTERM
                # (the first stopped the stage) waits until they are all back.
                with held_signals():
                    _restore_files(self.root, originals)
                raise
            # Recorded whole or not at all: a Ctrl-C/SIGTERM/SIGHUP from here on is delivered once the experiment
            # is recorded (the command then exits 128+signal, the experiment and its params kept) or the record
            # failed and the params are back; never a ref written under params put back.
            with held_signals():
                try:
                    record = record_experiment(self.git, self.root, baseline, name, stages_lock,
                                               finish_facts(facts), message, force=force)
                except BaseException:
                    _restore_files(self.root, originals)
                    raise
                self.last_record = record  # callers may warn about record.large_files
                self._rows = None
        return self._row_for_record(record.ref, record.rev, record.name, baseline)

    def save(self, name: str | None = None, force: bool = False, message: str | None = None) -> ExperimentRow:
        """Record the workspace as an experiment of HEAD without running anything, like `dvc exp save`.

        Stages whose lock entry no longer matches the workspace are committed first (`dvc commit --force`: deps,
        params and outs hashed as they are, cached outs saved to the DVC cache, dvc.lock updated), then the
        workspace is recorded as `run` records it. A taken name is refused unless `force`; the workspace keeps
        its files.
        """
        from exptui.pipeline.commit import commit_workspace
        from exptui.pipeline.workspace_lock import workspace_lock
        from exptui.store.experiments import check_name_free, record_experiment

        baseline = self.git.head()
        if not (self.root / ".dvc").is_dir():
            raise ExptuiError(f"'{self.root}' is not a DVC repository (no .dvc directory): run 'exptui init' "
                              "(or 'dvc init') first; nothing was saved")
        if name is not None:
            check_name_free(self.git, baseline, name, force)
        self.git.check_writable()
        with workspace_lock(self.root):
            locks = commit_workspace(self.root, self.dvc_cache_dir)
            with held_signals():  # the commit and its ref: recorded whole, then the signal is delivered
                record = record_experiment(self.git, self.root, baseline, name, locks, None, message, force=force)
                self.last_record = record
                self._rows = None
        return self._row_for_record(record.ref, record.rev, record.name, baseline)

    def _row_for_record(self, ref: str, rev: str, name: str, baseline: str) -> ExperimentRow:
        for r in self.experiments():
            if r.ref == ref:
                return r
        return self._row_for_commit(rev, "experiment", name, ref)

    def _apply_overrides(self, parsed: Sequence[Any], where: Path) -> None:
        from dvc_compat.params import apply_overrides
        from dvc_compat.sweep import expand_grid, group_by_file

        if not parsed:
            return
        combo = expand_grid(parsed)[0]
        for file, edit in group_by_file(combo, parsed).items():
            apply_overrides(where / file, edit.values, allow_new=edit.allow_new, remove=edit.remove, display=file)

    def _run_temp(self, parsed: Sequence[Any], name: str | None, force: bool,
                  sink: Callable[[bytes], None] | None, baseline: str, command: str | None = None,
                  timeout: float | None = None) -> ExperimentRow:
        """Snapshot the workspace with the overrides applied (workspace untouched) and run it in an isolated clone."""
        import random
        import time

        from dvc_compat.exp_refs import generate_name
        from exptui.execution.isolated import run_isolated
        from exptui.store.experiments import _taken_names

        from exptui.pipeline.workspace_lock import workspace_lock

        self.git.check_writable()
        with workspace_lock(self.root):  # never snapshot another run's in-flight params
            snapshot = self._snapshot_with_overrides(parsed, baseline)
        if name is None:
            taken = _taken_names(self.git, baseline)
            name = generate_name(random.Random(), lambda n: n in taken)
        result = run_isolated(self.root, snapshot, baseline, name, None, cache_dir=self.dvc_cache_dir, sink=sink,
                              git=self.git, command=command, created=time.time(), timeout=timeout)
        if result.status != "success" or not result.exp_ref:
            raise ExptuiError(f"experiment {name} {result.status}: {result.reason or 'see the output above'}")
        self._rows = None
        return self._row_for_record(result.exp_ref, result.exp_rev or "", result.name or name, baseline)

    def _snapshot_with_overrides(self, parsed: Sequence[Any], baseline: str) -> str:
        """A commit (parent: baseline) of the workspace with `-S` edits applied, built without touching it."""
        import shutil

        from exptui.store.git import temp_dir

        from exptui.pipeline.datasources import snapshot_data_sources

        # data edited in place since `dvc add` is committed into the snapshot, as DVC's queue does
        tree = snapshot_data_sources(self.root, self.git, self.git.snapshot_workspace(), self.dvc_cache_dir)
        if parsed:
            scratch = temp_dir(self.git)
            try:
                from dvc_compat.sweep import expand_grid, group_by_file

                combo = expand_grid(parsed)[0]
                files = list(group_by_file(combo, parsed))
                for f in files:
                    data = self.git.read_blob(f"{tree}:{f}")
                    target = scratch / f
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if data is not None:
                        target.write_bytes(data)
                self._apply_overrides(parsed, scratch)
                index = scratch / ".index"
                env = {"GIT_INDEX_FILE": str(index)}
                self.git.run("read-tree", tree, env=env)
                for f in files:
                    blob = self.git.run("hash-object", "-w", "--", str(scratch / f)).strip()
                    self.git.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{f}", env=env)
                tree = self.git.run("write-tree", env=env).strip()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return self.git.commit_tree(tree, [baseline], "exptui: workspace snapshot for a --temp run\n")

    @property
    def queue(self) -> QueueManager:
        """The queue manager for this repo (created on first use: listing experiments needs none)."""
        if self._queue is None:
            from exptui.execution.queue_manager import QueueManager

            self._queue = QueueManager(self)
        return self._queue

    def live_metrics(self) -> dict[str, LiveMetrics]:
        """DVCLive's live values of every running experiment, keyed like the table's rows (`ExperimentRow.key`):
        the queue entry id of a running queue entry, ``"workspace"`` while an `exptui run` works in the workspace.

        A queued run's checkout is the run dir its worker wrote into the entry's run file (``.git/exptui/runs/<entry
        id>``, for the local pool and Dask alike), so this needs no git call; the reader keeps a stat cache, so a
        poll of runs whose files did not change costs a directory listing and a few ``stat`` calls. Runs without
        DVCLive output (yet) are left out.
        """
        from exptui.store.claims import RunState
        from exptui.store.workspace_run import current

        if self._live_reader is None:
            self._live_reader = LiveMetricsReader()
        reader = self._live_reader
        dirs: dict[str, Path] = {}
        for entry_id, info in RunState(self.git.git_dir).all().items():
            if info.run_dir:
                dirs[entry_id] = Path(info.run_dir)
        if current(self.git.git_dir) is not None:
            dirs["workspace"] = self.root
        reader.retain(list(dirs.values()))
        out: dict[str, LiveMetrics] = {}
        for key, run_dir in dirs.items():
            live = reader.read(run_dir)
            if live is not None:
                out[key] = live
        return out

    def live_series_at(self, rev: str, dvclive_dir: str = "dvclive") -> dict[str, list[tuple[int, float]]]:
        """The DVCLive series a finished experiment recorded (``dvclive/plots/metrics/**/*.tsv`` of its commit),
        with the same dotted keys as `live_metrics`, so a plot can draw finished trials beside running ones."""
        series = self._commit_cached(f"live_series:{dvclive_dir}", rev,
                                     lambda: self._live_series_at(rev, dvclive_dir))
        return {key: list(values) for key, values in series.items()}

    def _tree_files(self, rev: str, folder: str) -> list[str]:
        """Paths of the files under `folder` at `rev`, at any depth (what `git ls-tree -r --name-only` lists), read
        as tree objects through the object reader: one round trip per level instead of a `git` process per commit
        (the plots screen asks for 49 experiments at once: ~50 ms of fork/exec on its first open)."""
        files: list[str] = []
        level = [folder]
        while level:
            below: list[str] = []
            for path, answer in zip(level, self.git.read_objects([f"{rev}:{p}" for p in level])):
                if answer is None or answer[1] != "tree":
                    continue
                for mode, name in _tree_entries(answer[2], len(answer[0]) // 2):
                    (below if mode == b"40000" else files).append(f"{path}/{name}")
            level = below
        return files

    def _live_series_at(self, rev: str, dvclive_dir: str) -> dict[str, list[tuple[int, float]]]:
        from exptui.execution.live_metrics import SERIES_DIR, parse_series_tsv

        base = "/".join((dvclive_dir, *SERIES_DIR))
        try:
            listing = self._tree_files(rev, base)
        except Exception:  # noqa: BLE001 - an unknown rev or a damaged tree: nothing recorded
            return {}
        out: dict[str, list[tuple[int, float]]] = {}
        for path in sorted(p for p in listing if p.endswith(".tsv")):
            raw = self.read_plot(rev, path)
            rows = parse_series_tsv(raw) if raw is not None else []
            if rows:
                out[".".join(path[len(base) + 1:-len(".tsv")].split("/"))] = rows
        return out

    # --- workspace ----------------------------------------------------------------------------------------------

    def apply(self, name: str, force: bool = False) -> ApplyResult:
        """Write an experiment's files into the workspace without moving HEAD (like `dvc exp apply`).

        Refuses when a file the experiment would change has uncommitted changes, unless `force`. Git-tracked files
        come from the experiment commit; DVC-cached outs are restored from the DVC cache by their dvc.lock hashes.
        """
        from exptui.pipeline.workspace_lock import workspace_lock
        from exptui.store.apply import ApplyResult, apply_commit

        row = self.resolve(name)
        if row.kind == "workspace":
            raise ExptuiError("the workspace is already applied")
        head = self.git.head()
        recorded = self.index.experiment_shas(head)  # not a listing: one for-each-ref of HEAD's experiments
        # filled in as apply goes: an interrupted command reads it to say what is left to do
        self.last_apply = result = ApplyResult(row.rev)
        with workspace_lock(self.root):  # never write files under a running `exptui run`/`dvc repro`
            apply_commit(self.git, row.rev, force=force, cache_dir=self.dvc_cache_dir, recorded=recorded,
                         result=result)
        self._rows = None
        return result

    def branch(self, name: str, branch: str) -> str:
        """Create branch `branch` at experiment `name` (never moves an existing branch). Returns the commit sha."""
        from dvc_compat.exp_refs import MAX_NAME_BYTES
        from exptui.store.experiments import name_problem

        # the name rules of new experiments (no leading '-', no HEAD, no sha look-alike), before any other work
        problem = name_problem(None, branch)
        if problem is None and any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES
                                   for part in branch.split("/")):
            problem = f"a part of it is longer than {MAX_NAME_BYTES} bytes"
        if problem is not None:
            raise ExptuiError(f"invalid branch name '{branch}': {problem}; choose another name")
        check = self.git.run_bytes("check-ref-format", "--branch", branch, check=False)
        if not check.strip():
            raise ExptuiError(f"'{branch}' is not a valid branch name")
        row = self.resolve(name)
        ref = f"refs/heads/{branch}"
        try:
            self.git.update_refs([RefUpdate(ref, row.rev, ZERO_OID)], message=f"dvc: Created from experiment '{row.name}'")
        except RefConflict:
            raise ExptuiError(f"branch '{branch}' already exists; choose another name") from None
        return row.rev

    def remove(self, names: Iterable[str] = (), all: bool = False) -> list[ExperimentRow]:
        """Delete experiment refs (compare-and-swap on their current sha, one transaction). Returns what went."""
        rows = self.experiments(all_commits=True)
        queued: list[ExperimentRow] = []
        if all:
            targets = [r for r in rows if r.kind == "experiment" and r.ref]
        else:
            targets = []
            for n in names:
                r = self.resolve(n)
                if r.kind == "queued" and r.queue_id and not r.queue_id.startswith("dvc:"):
                    queued.append(r)  # an entry of exptui's queue: the queue drops it (refuses running ones)
                    continue
                if r.kind == "queued":
                    raise ExptuiError(f"'{n}' is in DVC's own queue; remove it with: dvc queue remove {n}")
                if r.kind != "experiment" or not r.ref:
                    raise ExptuiError(f"'{n}' is not an experiment (only experiments can be removed)")
                targets.append(r)
        if queued:
            self.queue.remove([r.queue_id for r in queued if r.queue_id])
        uniq = {r.ref: r for r in targets if r.ref}
        if not uniq:
            self._rows = None
            return queued
        try:
            self.git.update_refs([RefUpdate(ref, None, r.rev) for ref, r in uniq.items()],
                                 message="exptui: remove experiment")
        except RefConflict as exc:
            raise ExptuiError(f"{exc}; nothing was removed, list again and retry") from None
        self._rows = None
        return queued + list(uniq.values())

    # --- annotations --------------------------------------------------------------------------------------------

    def _annotatable(self, name: str) -> ExperimentRow:
        row = self.resolve(name)
        if row.kind not in ("experiment", "baseline"):
            raise ExptuiError(f"'{name}' is {row.kind}: only experiments and commits can be annotated")
        return row

    def star(self, name: str, on: bool = True) -> Annotations:
        from exptui.store.annotations import set_star

        out = set_star(self.git, self._annotatable(name).rev, on)
        self._rows = None
        return out

    def label(self, name: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Annotations:
        from exptui.store.annotations import set_labels

        out = set_labels(self.git, self._annotatable(name).rev, tuple(add), tuple(remove))
        self._rows = None
        return out

    def note(self, name: str, text: str) -> Annotations:
        from exptui.store.annotations import set_note

        out = set_note(self.git, self._annotatable(name).rev, text)
        self._rows = None
        return out

    # --- housekeeping -------------------------------------------------------------------------------------------

    def gc(self, workspace: bool = False, all_branches: bool = False, all_tags: bool = False,
           all_commits: bool = False, dry_run: bool = False) -> GcPlan:
        """Remove experiments whose baseline is not kept, and prune the index cache.

        With no flag: keep experiments whose baseline is reachable from any branch, tag or HEAD (i.e. drop those
        orphaned by a rebase or a deleted branch). Flags narrow what is kept, like DVC 2's `exp gc`:
        `workspace` (HEAD), `all_branches` (branch tips), `all_tags` (tag tips), `all_commits` (anything
        reachable). `dry_run` only computes the plan.
        """
        from exptui.store.gc import plan_gc, run_gc

        plan = plan_gc(self.git, workspace=workspace, all_branches=all_branches, all_tags=all_tags,
                       all_commits=all_commits)
        if not dry_run:
            run_gc(self.git, plan, self.index)
            self._rows = None
        return plan

    # --- sharing ------------------------------------------------------------------------------------------------

    def push(self, remote: str, names: Sequence[str] | None = None) -> list[str]:
        """Push experiment refs (all, or `names`) and the annotations notes to a git remote. Returns refs pushed."""
        from exptui.store.sharing import push

        refs = self._refs_for(names)
        return push(self.git, remote, refs)

    def pull(self, remote: str, names: Sequence[str] | None = None) -> list[str]:
        """Fetch experiment refs (all, or `names`) and merge the remote's annotations. Returns refs fetched."""
        from exptui.store.sharing import pull

        out = pull(self.git, remote, names)
        self._rows = None
        return out

    def push_data(self, git_remote: str, names: Sequence[str] | None = None,
                  dvc_remote: str | None = None) -> DataTransfer:
        """Send the cached outputs of experiments (all, or `names`) to the DVC remote (`dvc_remote`, else the
        default one), as `dvc exp push` does besides the refs. Raises when no DVC remote is configured."""
        from exptui.store.data_remote import transfer

        revs = [sha for sha in (self.git.rev_parse(ref) for ref in self._refs_for(names)) if sha]
        return transfer(self.git, revs, self.dvc_cache_dir, dvc_remote, "push", git_remote, list(names or ()))

    def pull_data(self, refs: Sequence[str], git_remote: str, names: Sequence[str] | None = None,
                  dvc_remote: str | None = None) -> DataTransfer:
        """Fetch the cached outputs of the experiment `refs` (just pulled) from the DVC remote into the DVC cache,
        so `apply` can restore them."""
        from exptui.store.data_remote import transfer

        revs = [sha for sha in (self.git.rev_parse(ref) for ref in refs) if sha]
        return transfer(self.git, revs, self.dvc_cache_dir, dvc_remote, "pull", git_remote, list(names or ()))

    def has_dvc_remote(self) -> bool:
        """Does `.dvc/config` name a default DVC remote (`core.remote`)?"""
        from dvc_compat.config import load_config
        from dvc_compat.errors import FormatError

        try:
            return bool(load_config(self.root).core_remote)
        except FormatError:
            return True   # let the transfer report the broken config in its one line

    def _refs_for(self, names: Sequence[str] | None) -> list[str]:
        if names:
            out = []
            for n in names:
                r = self.resolve(n)
                if not r.ref:
                    raise ExptuiError(f"'{n}' is not an experiment")
                out.append(r.ref)
            return out
        return [ref for ref, _sha, _b, _n in read_refs(self.git).exps]

    def close(self) -> None:
        self.git.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_names(text: str, names: Iterable[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(text, sorted(set(names)), n=3, cutoff=0.6)


def _reproduced_locks(result: Any, root: Path) -> dict[str, Any]:
    """{stage: lock entry} of the stages the run reproduced (ran or restored), as DVC hashes them; all stages
    when nothing changed, so an unchanged re-run still gets a stable hash."""
    from exptui.pipeline.repro import FROZEN, SKIPPED

    changed = {o.address: o.lock for o in result.stages if o.outcome not in (SKIPPED, FROZEN) and o.lock is not None}
    if changed:
        return changed
    return {o.address: o.lock for o in result.stages if o.lock is not None}


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore_files(root: Path, originals: dict[str, bytes | None]) -> None:
    """Put files back byte for byte (a file that did not exist is removed again), each replaced whole."""
    from dvc_compat.fsutil import atomic_write

    for rel, data in originals.items():
        path = root / rel
        if data is None:
            path.unlink(missing_ok=True)
        elif _read_or_none(path) != data:
            atomic_write(path, data, display=rel)


def _tree_entries(data: bytes, id_size: int) -> Iterator[tuple[bytes, str]]:
    """(mode, name) of each entry of a raw git tree object (``<mode> <name>\\0<id>`` repeated); submodules
    (mode 160000, a commit in another repository) are left out, as they hold no files of this one."""
    at = 0
    while at < len(data):
        space = data.index(b" ", at)
        end = data.index(b"\0", space)
        mode = data[at:space]
        if mode != b"160000":
            yield mode, data[space + 1:end].decode("utf-8", "surrogateescape")
        at = end + 1 + id_size
