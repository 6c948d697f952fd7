"""Experiment commands: run, show, diff, apply, branch, remove, star, label, note, gc, push, pull.

Each command opens the `Project` of ``-C REPO`` (default: the current directory) and prints plain text, or
JSON/CSV/markdown for scripts. `show --json` with no filtering stays on a fast path (no table model) so listing
10,000 experiments is bound by git, not by Python.
"""
from __future__ import annotations

import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

import click

from exptui.cli.output import TerminalSink, echo, write_data, write_json, write_json_chunks, write_text

if TYPE_CHECKING:  # pragma: no cover
    from exptui.project import DataTransfer, Project, StageEvent
    from exptui.records import ExperimentRow


def _project(ctx: click.Context) -> Project:
    from exptui.project import Project

    return Project.open((ctx.obj or {}).get("repo", "."))


def _short(row: ExperimentRow) -> str:
    return f"{row.name} ({row.rev[:7]})" if row.rev != "workspace" else "workspace"


# --- run ------------------------------------------------------------------------------------------------------


@click.command(context_settings={"show_default": True})
@click.option("-S", "--set-param", "overrides", multiple=True, metavar="[FILE:]KEY=VALUE",
              help="Set a param (repeatable). A value list (a=1,2,3) or range(...) makes a sweep (needs --queue).")
@click.option("-n", "--name", default=None, help="Experiment name (a sweep gets NAME-1, NAME-2, ...).")
@click.option("--temp", is_flag=True, help="Run in an isolated copy; the workspace is not touched.")
@click.option("--queue", "queue", is_flag=True, help="Queue instead of running now.")
@click.option("-f", "--force", is_flag=True, help="Re-run all stages and replace an experiment of the same name.")
@click.option("--random", "random_n", type=int, default=None, metavar="N", help="Queue N random combinations.")
@click.option("--seed", type=int, default=None, help="Seed for --random and --search.")
@click.option("--search", "search", type=click.Choice(["random", "tpe", "cmaes"]), default=None,
              help="Adaptive search (needs --queue): Optuna's sampler proposes each trial from the finished ones "
                   "(pip install 'exptui[search]'); `queue start -j N` runs at most N at a time.")
@click.option("--trials", type=click.IntRange(min=1), default=None, metavar="N",
              help="Trials of the --search (default 20).")
@click.option("--metric", default=None, metavar="NAME", help="The metric --search optimises (e.g. f1).")
@click.option("--maximize/--minimize", "maximize", default=True, show_default="--maximize",
              help="Direction of --metric.")
@click.option("--prune", type=click.Choice(["median", "asha", "hyperband"]), default=None,
              help="Stop --search trials early whose DVCLive step metric falls behind (status: pruned).")
@click.option("--yes", is_flag=True, help="Queue sweeps larger than 1,000 experiments without refusing.")
@click.option("-j", "--jobs", type=int, default=1, help="Workers to start with --start.")
@click.option("--start", is_flag=True, help="Start queue workers after queueing.")
@click.option("--dry", is_flag=True, help="Only print what would be queued.")
@click.option("-m", "--message", default=None, help="Commit message instead of DVC's default.")
@click.option("-q", "--quiet", is_flag=True, help="Do not echo stage output.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Per-stage timeout (as `queue start --timeout`): the stage's processes get SIGTERM, then "
                   "SIGKILL, and the run fails. With --queue --start: the workers' timeout.")
@click.argument("targets", nargs=-1)
@click.pass_context
def run(ctx: click.Context, overrides: tuple[str, ...], name: str | None, temp: bool, queue: bool, force: bool,
        random_n: int | None, seed: int | None, search: str | None, trials: int | None, metric: str | None,
        maximize: bool, prune: str | None, yes: bool, jobs: int, start: bool, dry: bool,
        message: str | None, quiet: bool, timeout: float | None, targets: tuple[str, ...]) -> None:
    """Run an experiment (like `dvc exp run`), or queue one or a sweep with --queue.

    \b
    exptui run -S train.lr=0.05              run now in the workspace; results stay there
    exptui run --temp -S train.lr=0.05       run in an isolated copy
    exptui run --queue -S 'train.lr=0.01,0.1' -S 'train.depth=range(3,7)' --start -j 2
    exptui run --queue --search tpe --trials 24 --metric f1 --maximize -S 'train.lr=loguniform(0.01,0.3)'
    """
    from dvc_compat.sweep import is_sweep, parse_overrides

    if search is None and (trials is not None or metric is not None or prune is not None):
        raise click.UsageError("--trials, --metric and --prune belong to an adaptive search: add --search tpe "
                               "(or random, cmaes)")
    if search is not None and dry:
        raise click.UsageError("--dry lists a grid or random sweep's experiments; a --search proposes its trials "
                               "one by one as results come in, so there is nothing to list before it runs")
    if search is not None:
        _queue_search(ctx, overrides, name, search, trials, metric, maximize, prune, seed, random_n, queue, start,
                      jobs, timeout)
        return
    parsed = parse_overrides(list(overrides))
    project = _project(ctx)
    sweep = is_sweep(parsed) or random_n is not None
    if queue or sweep or dry:
        if sweep and not (queue or dry):
            raise click.UsageError("a sweep makes several experiments: add --queue (and --start to run them)")
        manager = project.queue
        if dry:
            for item in manager.preview(list(overrides), random_n=random_n, seed=seed):
                echo(item["text"] or "(no overrides)")
            return
        entries = manager.enqueue(list(overrides), name=name, random_n=random_n, seed=seed, yes=yes)
        for e in entries:
            echo(f"queued {e.name}")
        label = entries[0].sweep_label if entries else None
        in_sweep = f" as sweep {label} (filter: sweep == '{label}')" if label else ""
        echo(f"{len(entries)} experiment{'s' if len(entries) != 1 else ''} queued{in_sweep}.", err=True)
        if start:
            workers = manager.start(jobs=jobs, timeout=timeout)
            echo(f"started {len(workers)} worker{'s' if len(workers) != 1 else ''}; "
                 "follow them with `exptui queue status` or `exptui`.", err=True)
        return

    terminal = TerminalSink()   # stage output: as it is into a pipe, inert (colour kept) on a terminal

    def sink(chunk: bytes) -> None:
        if not quiet:
            terminal.write(chunk)

    def events(ev: StageEvent) -> None:
        if quiet:
            return
        kind, stage = ev.kind, ev.stage.address
        if kind == "start":
            echo(f"Running stage '{stage}':", err=True)
        elif kind in ("skipped", "restored", "run-cache", "frozen", "committed"):
            echo(ev.message or f"Stage '{stage}': {kind}", err=True)

    try:
        row = project.run(list(overrides), name=name, temp=temp, force=force, sink=sink, events=events,
                          targets=list(targets) or None, message=message, command=_command_line(),
                          timeout=timeout)
    except KeyboardInterrupt:
        done = project.last_record   # the signal came while recording: held until the record was complete
        if done is not None:
            echo(f"\nRecorded experiment {done.name} ({done.rev[:7]}) before the interruption.", err=True)
        raise
    finally:
        terminal.flush()
    echo(f"\nRecorded experiment {row.name} ({row.rev[:7]}) on {row.baseline_name or row.baseline[:7]}.")
    large = project.last_record.large_files if project.last_record is not None else ()
    if large:
        echo("warning: large files were committed with the experiment (add them to .gitignore or track "
             "them with DVC): " + ", ".join(large), err=True)
    if not temp:
        echo("Its results are in the workspace; `exptui apply` another experiment to switch.", err=True)
    for file, values in row.metrics.items():
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(values.items())[:8])
        echo(f"  {file}: {shown}")


def _command_line() -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in ["exptui", *sys.argv[1:]])


def _fmt(v: Any) -> str:
    return f"{v:.5g}" if isinstance(v, float) else str(v)


# --- show -----------------------------------------------------------------------------------------------------


def _queue_search(ctx: click.Context, overrides: tuple[str, ...], name: str | None, search: str,
                  trials: int | None, metric: str | None, maximize: bool, prune: str | None, seed: int | None,
                  random_n: int | None, queue: bool, start: bool, jobs: int, timeout: float | None) -> None:
    """`run --queue --search ...`: store the search; `queue start` (or --start) proposes and runs the trials."""
    if not queue:
        raise click.UsageError("--search queues its trials: add --queue (and --start to run them)")
    if random_n is not None:
        raise click.UsageError("--random and --search are two kinds of sweep: give one of them")
    if not metric:
        raise click.UsageError("--search needs --metric NAME (the metric to optimise, e.g. --metric f1)")
    manager = _project(ctx).queue
    spec = manager.create_search(list(overrides), sampler=search, trials=trials or 20, metric=metric,
                                 direction="maximize" if maximize else "minimize", seed=seed, prune=prune,
                                 name=name)
    echo(f"search {spec.name}: {spec.sampler}, {spec.trials} trials, {spec.direction} {spec.metric}"
         + (f", pruning: {spec.prune}" if spec.prune else "") + f" (filter: search == '{spec.name}')", err=True)
    if start:
        pid = manager.start_feeder(jobs, timeout)
        echo(f"started the search feeder (pid {pid}, at most {jobs} trial{'s' if jobs != 1 else ''} at once); "
             "follow it with `exptui queue status` or `exptui`.", err=True)
    else:
        echo("run it with: exptui queue start -j N [--wait]", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON (schema: docs/show-json.md).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, full precision.")
@click.option("--md", "as_md", is_flag=True, help="Markdown table.")
@click.option("-A", "--all-commits", is_flag=True, help="Experiments of every commit, not only HEAD and branch tips.")
@click.option("-n", "--num", type=int, default=1, help="Show the last N commits of HEAD's first-parent history.")
@click.option("--sort-by", "sort_by", default=None, metavar="COL[:desc]", help="Sort experiments within baselines.")
@click.option("--sort-order", "sort_order", type=click.Choice(["asc", "desc"]), default=None,
              help="Direction of --sort-by keys that name none (as `dvc exp show`; default asc).")
@click.option("--filter", "filter_", default=None, metavar="EXPR", help="Only rows matching, e.g. 'acc > 0.8'.")
@click.option("--limit", "limit", type=click.IntRange(min=0), default=None, metavar="N",
              help="Print the first N rows (after --filter and --sort-by; workspace and baselines count).")
@click.option("--only-changed", is_flag=True, help="Hide columns whose value is the same in every row.")
@click.option("--keep", multiple=True, metavar="RE", help="Columns to keep (regex; repeatable).")
@click.option("--drop", multiple=True, metavar="RE", help="Columns to drop (regex; repeatable).")
@click.option("--precision", type=int, default=None, help="Significant digits for floats (default 5).")
@click.pass_context
def show(ctx: click.Context, as_json: bool, as_csv: bool, as_md: bool, all_commits: bool, num: int,
         sort_by: str | None, sort_order: str | None, filter_: str | None, limit: int | None,
         only_changed: bool, keep: tuple[str, ...], drop: tuple[str, ...], precision: int | None) -> None:
    """List experiments with their params and metrics (like `dvc exp show`)."""
    if sum((as_json, as_csv, as_md)) > 1:
        raise click.UsageError("choose one of --json, --csv, --md")
    if sort_order is not None and not sort_by:
        raise click.UsageError("--sort-order needs --sort-by COL")
    from exptui.query.gc_pause import gc_paused

    # listing, table and output allocate acyclic objects in bulk: the cyclic collector only costs time here
    with gc_paused():
        _show(ctx, as_json, as_csv, as_md, all_commits, num, sort_by, sort_order == "desc", filter_, limit,
              only_changed, keep, drop, precision)


def _live_json(project: Any, rows: list[Any]) -> dict[str, dict[str, Any]] | None:
    """The ``live`` fields of running rows (DVCLive's step and latest values); None when nothing runs."""
    if not any(r.status == "running" for r in rows):
        return None
    from exptui.query.show_json import live_json

    return {key: live_json(m.step, m.latest) for key, m in project.live_metrics().items()}


def _show(ctx: click.Context, as_json: bool, as_csv: bool, as_md: bool, all_commits: bool, num: int,
          sort_by: str | None, descending: bool, filter_: str | None, limit: int | None, only_changed: bool,
          keep: tuple[str, ...], drop: tuple[str, ...], precision: int | None) -> None:
    project = _project(ctx)
    plain = not (sort_by or filter_ or only_changed or keep or drop or limit is not None)
    if as_json and plain and not sys.stdout.isatty():
        from itertools import chain

        from exptui.query.show_json import json_array_chunks, live_json

        # one line (C encoder) for pipes and scripts, streamed row by row from the index's pre-encoded pieces;
        # running rows get DVCLive's live values, read before the first row is written (none while nothing runs)
        live = {key: live_json(m.step, m.latest) for key, m in project.live_metrics().items()} or None
        lines = project.experiments_json(all_commits=all_commits, num=num, live=live)
        write_json_chunks(chain(json_array_chunks(lines), ["\n"]))
        return
    if as_json and plain:
        from exptui.query.show_json import rows_to_json

        rows = project.experiments(all_commits=all_commits, num=num)
        write_json(rows_to_json(rows, indent=2, live=_live_json(project, rows)) + "\n")  # indented for people
        return
    from exptui.query.table import TableModel

    kwargs: dict[str, Any] = {"head": project.git.rev_parse("HEAD")}
    if precision is not None:
        kwargs["precision"] = precision
    if plain:
        rows = project.experiments(all_commits=all_commits, num=num)
        table = TableModel(rows, **kwargs)
    elif filter_ or limit is not None:
        rows, table = _pushed_down(project, all_commits, num, kwargs, filter_, sort_by, descending, limit)
    else:
        # the table reads the index's own dicts (never changed here) instead of a copy per experiment
        rows = project.index.rows(all_commits=all_commits, num=num, shared=True)
        table = TableModel(rows, **kwargs)
        _filter_and_sort(table, filter_, sort_by, descending, limit)
    if only_changed:
        table.set_only_changed(True)
    if keep:
        table.set_keep(keep)
    if drop:
        table.set_drop(drop)
    if as_json:
        from itertools import chain

        from exptui.query.show_json import indented_array_chunks

        # record by record: the document is never held whole (same bytes as `table.to_json()`)
        records = table.iter_json_records(live=_live_json(project, table.shown_rows))
        write_json_chunks(chain(indented_array_chunks(records), ["\n"]))
    elif as_csv:
        write_data(table.to_csv(precision))
    elif as_md:
        write_text(table.to_markdown())
    else:
        width = shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else None
        write_text(table.render_text(width=width))
        # the '!' cells of the workspace are the user's to fix: say why, one line per file (on stderr)
        for row in rows:
            if row.kind == "workspace":
                for reason in row.errors.values():
                    echo(f"warning: {reason}; its values show as '!' in the workspace row", err=True)


def _filter_and_sort(table: Any, filter_: str | None, sort_by: str | None, descending: bool,
                     limit: int | None) -> None:
    from exptui.query.filter import FilterError
    from exptui.query.sort import parse_sort_spec

    if filter_:
        try:
            table.set_filter(filter_)
        except FilterError as exc:
            from exptui.errors import ExptuiError

            # one error line, then the expression with a caret under the mistake
            raise ExptuiError(exc.message + "\n  " + exc.caret(filter_).replace("\n", "\n  ")) from None
    if sort_by:
        table.set_sort(parse_sort_spec(sort_by, table.index, default_descending=descending))
    if limit is not None:
        table.set_limit(limit)


def _pushed_down(project: Any, all_commits: bool, num: int, kwargs: dict[str, Any], filter_: str | None,
                 sort_by: str | None, descending: bool, limit: int | None) -> tuple[list[Any], Any]:
    """``show --filter/--limit`` over the index's per-column store: the filter and sort run over rows that hold
    only the columns they name (every column is known from the index's schemas, so names resolve and kinds are
    what the full rows give), then the rows that will be printed are read in full and the table is built over
    those alone, with the listing's columns: the same output as the whole table cut the same way
    (tests/test_cli_show_pushdown.py), without unpickling 100,000 entries."""
    from exptui.query.table import TableModel

    def choose(columns: list[Any]) -> list[Any]:
        probe = TableModel([], columns=columns, **kwargs)
        _filter_and_sort(probe, filter_, sort_by, descending, None)  # the errors a bad filter/sort gives
        named = list(probe.predicate.columns) if probe.predicate is not None else []
        return named + [key.column for key in probe.sort_keys]

    columns, light, full = project.index.columnar(all_commits, num, choose)
    table = TableModel(light, columns=columns, **kwargs)
    _filter_and_sort(table, filter_, sort_by, descending, limit)
    shown = table.shown_rows
    if not shown:  # nothing printed: this table already says so, with the listing's total
        return light, table
    # the printed rows in full, in listing order: filter, sort and limit pick the same rows in the same order
    position = {id(row): n for n, row in enumerate(light)}
    printed = full(sorted(shown, key=lambda row: position[id(row)]))
    table = TableModel(printed, columns=columns, **kwargs)
    _filter_and_sort(table, filter_, sort_by, descending, limit)
    return light, table


# --- diff -----------------------------------------------------------------------------------------------------


@click.command()
@click.argument("a")
@click.argument("b", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON like `dvc exp diff --json`.")
@click.option("--md", "as_md", is_flag=True, help="Markdown table.")
@click.option("--all", "include_unchanged", is_flag=True, help="Include unchanged values.")
@click.option("--precision", type=int, default=None, help="Significant digits for floats.")
@click.pass_context
def diff(ctx: click.Context, a: str, b: str | None, as_json: bool, as_md: bool, include_unchanged: bool,
         precision: int | None) -> None:
    """Show how experiment A differs from B (default: A's baseline)."""
    from exptui.query import compare

    project = _project(ctx)
    old, new = project.diff_pair(a, b)
    rows = compare.diff(old, new, include_unchanged=include_unchanged)
    old_name = old.baseline_name if old.kind == "baseline" and old.baseline_name else old.name
    pending = [r for r in (old, new) if r.status in ("queued", "running")]
    if pending:   # metrics not computed yet are not a change
        from exptui.query.columns import MISSING

        rows = [r for r in rows if not (r.column.family == "metrics" and MISSING in (r.old, r.new))]
    kwargs: dict[str, Any] = {} if precision is None else {"precision": precision}
    if as_json:
        write_json(json.dumps(compare.diff_to_json(rows), indent=2, ensure_ascii=False) + "\n")
    elif as_md:
        write_text(compare.diff_to_markdown(rows, old_name, new.name, **kwargs))
    else:
        write_text(compare.diff_to_text(rows, old_name, new.name, **kwargs))
    for row in pending:
        echo(f"note: {row.name} is {row.status}: its metrics are not computed yet (not shown as changes)",
             err=True)


# --- workspace and refs ---------------------------------------------------------------------------------------


@click.command()
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Overwrite uncommitted changes to the files it changes.")
@click.pass_context
def apply(ctx: click.Context, name: str, force: bool) -> None:
    """Put experiment NAME's params, metrics and outputs into the workspace (HEAD does not move)."""
    project = _project(ctx)
    try:
        result = project.apply(name, force=force)
    except KeyboardInterrupt:
        partial = project.last_apply   # the git-tracked files are written together; the cached outs after them
        if partial is not None and partial.files_applied and not partial.complete:
            import shlex

            echo(f"\nThe params, dvc.lock and metrics of {name} were applied, but not all of its cached outputs: "
                 f"run `exptui apply {shlex.quote(name)}` to complete it.", err=True)
        raise
    echo(f"Applied {name} ({result.rev[:7]}): {len(result.written)} file(s) written"
         + (f", {len(result.deleted)} removed" if result.deleted else "")
         + (f", {len(result.restored)} output(s) restored from the cache" if result.restored else "") + ".")
    if result.missing:
        echo("warning: not in the local DVC cache (run `dvc pull` or re-run): " + ", ".join(result.missing),
             err=True)


@click.command()
@click.argument("name")
@click.argument("branch")
@click.pass_context
def branch(ctx: click.Context, name: str, branch: str) -> None:
    """Create git branch BRANCH at experiment NAME."""
    sha = _project(ctx).branch(name, branch)
    echo(f"Created branch {branch} at {sha[:7]} (experiment {name}). Switch with: git checkout {branch}")


@click.command()
@click.argument("names", nargs=-1)
@click.option("-A", "--all", "all_", is_flag=True, help="Remove every experiment (of all baselines).")
@click.pass_context
def remove(ctx: click.Context, names: tuple[str, ...], all_: bool) -> None:
    """Remove experiments (their refs; the commits stay until git gc)."""
    if not names and not all_:
        raise click.UsageError("name the experiments to remove, or pass --all")
    if names and all_:
        raise click.UsageError("give names or --all, not both")
    removed = _project(ctx).remove(names, all=all_)
    for r in removed:
        echo(f"removed {_short(r)}")
    if not removed:
        echo("nothing to remove")


@click.command()
@click.argument("name")
@click.option("--off", is_flag=True, help="Remove the star.")
@click.pass_context
def star(ctx: click.Context, name: str, off: bool) -> None:
    """Star (or --off: unstar) experiment NAME."""
    _project(ctx).star(name, not off)
    echo(f"{'unstarred' if off else 'starred'} {name}")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("changes", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def label(ctx: click.Context, name: str, changes: tuple[str, ...]) -> None:
    """Add (+LABEL or LABEL) or remove (-LABEL) labels of experiment NAME; with none, print them."""
    add: list[str] = []
    rm: list[str] = []
    for change in changes:  # in order: the last mention of a label wins
        target, other, lbl = (rm, add, change[1:]) if change.startswith("-") else \
            (add, rm, change[1:] if change.startswith("+") else change)
        if lbl in other:
            other.remove(lbl)
        if lbl not in target:
            target.append(lbl)
    project = _project(ctx)
    if not changes:
        row = project.resolve(name)
        echo(" ".join(row.annotations.labels))
        return
    ann = project.label(name, add, rm)
    echo(f"{name}: {' '.join(ann.labels) or '(no labels)'}")


@click.command()
@click.argument("name")
@click.argument("text")
@click.pass_context
def note(ctx: click.Context, name: str, text: str) -> None:
    """Attach a note to experiment NAME ('' clears it)."""
    _project(ctx).note(name, text)
    echo(f"{'noted' if text.strip() else 'cleared note of'} {name}")


@click.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep experiments of HEAD.")
@click.option("-a", "--all-branches", is_flag=True, help="Keep experiments of every branch tip.")
@click.option("-T", "--all-tags", is_flag=True, help="Keep experiments of every tag.")
@click.option("-A", "--all-commits", is_flag=True, help="Keep experiments of any commit reachable from a branch/tag.")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def gc(ctx: click.Context, workspace: bool, all_branches: bool, all_tags: bool, all_commits: bool, dry_run: bool,
       yes: bool) -> None:
    """Remove experiments whose baseline is no longer kept (default: not reachable from any branch or tag)."""
    project = _project(ctx)
    flags = {"workspace": workspace, "all_branches": all_branches, "all_tags": all_tags, "all_commits": all_commits}
    plan = project.gc(**flags, dry_run=True)
    if not plan.remove:
        echo(f"nothing to remove ({len(plan.keep)} experiment(s) kept)")
        if not dry_run:
            project.gc(**flags)  # still prunes the index cache
        return
    for ref, sha in plan.remove:
        echo(f"would remove {ref.rsplit('/', 1)[-1]} ({sha[:7]}, baseline {ref.split('/')[2]}{ref.split('/')[3][:5]})"
             if dry_run or not yes else f"removing {ref.rsplit('/', 1)[-1]} ({sha[:7]})")
    if dry_run:
        return
    if not yes and not click.confirm(f"Remove {len(plan.remove)} experiment(s)?", default=False, err=True):
        raise click.exceptions.Abort()
    done = project.gc(**flags)
    echo(f"removed {len(done.remove)} experiment(s); kept {len(done.keep)}")


_NO_DVC_REMOTE = ("warning: no DVC remote is configured, so only the git refs moved; cached outputs stay here "
                  "(add one with `dvc remote add -d NAME PATH`, or pass --no-data to skip this)")


def _report_data(result: DataTransfer, verb: str) -> None:
    if result.command is not None:
        echo("warning: " + result.summary(verb), err=True)
        return
    echo(result.summary(verb))
    if result.missing:
        where = "the local DVC cache" if verb == "pushed" else f"DVC remote '{result.remote}'"
        echo(f"warning: {len(result.missing)} output object(s) not in {where}: "
             + ", ".join(sorted(set(result.missing))[:5]) + (", ..." if len(set(result.missing)) > 5 else ""),
             err=True)


@click.command()
@click.argument("remote")
@click.argument("names", nargs=-1)
@click.option("--no-data", is_flag=True, help="Only the git refs and annotations, not the cached outputs.")
@click.option("-r", "--dvc-remote", default=None, metavar="NAME",
              help="The DVC remote for the cached outputs (default: core.remote of .dvc/config).")
@click.pass_context
def push(ctx: click.Context, remote: str, names: tuple[str, ...], no_data: bool, dvc_remote: str | None) -> None:
    """Push experiments (all, or NAMES) and their stars/labels/notes to git REMOTE, and their cached outputs to
    the DVC remote (as `dvc exp push`)."""
    project = _project(ctx)
    no_dvc_remote = not no_data and dvc_remote is None and not project.has_dvc_remote()
    if not no_data and not no_dvc_remote:   # the data first: whoever pulls the refs can then find the outputs
        _report_data(project.push_data(remote, list(names) or None, dvc_remote), "pushed")
    pushed = project.push(remote, list(names) or None)
    echo(f"pushed {len(pushed)} experiment ref(s) to {remote}")
    if no_dvc_remote:   # said once the refs did move (a bad git remote is then the one error line)
        echo(_NO_DVC_REMOTE, err=True)


@click.command()
@click.argument("remote")
@click.argument("names", nargs=-1)
@click.option("--no-data", is_flag=True, help="Only the git refs and annotations, not the cached outputs.")
@click.option("-r", "--dvc-remote", default=None, metavar="NAME",
              help="The DVC remote for the cached outputs (default: core.remote of .dvc/config).")
@click.pass_context
def pull(ctx: click.Context, remote: str, names: tuple[str, ...], no_data: bool, dvc_remote: str | None) -> None:
    """Fetch experiments (all, or NAMES) and their annotations from git REMOTE, and their cached outputs from the
    DVC remote into the DVC cache (as `dvc exp pull`); `exptui apply` then restores them."""
    project = _project(ctx)
    fetched = project.pull(remote, list(names) or None)
    echo(f"fetched {len(fetched)} experiment ref(s) from {remote}")
    if no_data:
        return
    if dvc_remote is None and not project.has_dvc_remote():
        echo(_NO_DVC_REMOTE.replace("cached outputs stay here", "cached outputs were not fetched"), err=True)
        return
    _report_data(project.pull_data(fetched, remote, list(names) or None, dvc_remote), "pulled")
