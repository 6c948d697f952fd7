"""`exptui repro`, `exptui status`, `exptui dag`: DVC's pipeline commands, same files, faster.

Imports stay minimal: a no-op `repro`/`status` must finish well under 0.25 s with Python startup.
"""
from __future__ import annotations

from pathlib import Path

import click

from exptui.cli.output import TerminalSink, echo


def _root(ctx: click.Context) -> Path:
    from exptui.pipeline.status import find_root

    return find_root(Path((ctx.obj or {}).get("repo", ".")))


class _Terminal:
    """Stage output to stdout as it comes (flushing, so progress shows live), and our status lines between it.

    Into a pipe the stage's bytes pass untouched; on a terminal they are made inert (colour kept) by
    `TerminalSink`. Status lines quote stage names and paths from dvc.yaml: always inert.
    """

    def __init__(self) -> None:
        self.sink = TerminalSink()
        self.at_line_start = True

    @property
    def closed(self) -> bool:
        # `exptui repro | head`: the reader left; the stage goes on, its log keeps everything
        return self.sink.closed

    def __call__(self, chunk: bytes) -> None:
        self.sink.write(chunk)
        if chunk:
            self.at_line_start = chunk.endswith(b"\n")

    def line(self, text: str) -> None:
        self.sink.flush()
        self.sink.put_text(("" if self.at_line_start else "\n") + text + "\n")
        self.at_line_start = True


@click.command()
@click.argument("targets", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Run the stages even if nothing changed.")
@click.option("-s", "--single-item", is_flag=True, help="Only the given stages, not their upstream.")
@click.option("--force-downstream", is_flag=True, help="Also run every stage downstream of a changed one.")
@click.option("--no-run-cache", is_flag=True, help="Do not restore outputs from the run cache.")
@click.option("-q", "--quiet", is_flag=True, help="Only stage output and errors, no status lines.")
@click.option("-v", "--why", is_flag=True, help="Say why each stage runs or is restored.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Per-stage timeout (as `queue start --timeout`): the stage's processes get SIGTERM, then "
                   "SIGKILL, and repro fails.")
@click.option("--dry", is_flag=True, help="Only print what would run (or be restored) and why; run nothing.")
@click.option("--downstream", is_flag=True, help="TARGETS and the stages after them, not their upstream.")
@click.option("-k", "--keep-going", is_flag=True,
              help="After a failure, go on with the stages that do not depend on it; exit non-zero naming the "
                   "failed and skipped stages.")
@click.pass_context
def repro(ctx: click.Context, targets: tuple[str, ...], force: bool, single_item: bool,
          force_downstream: bool, no_run_cache: bool, quiet: bool, why: bool, timeout: float | None,
          dry: bool, downstream: bool, keep_going: bool) -> None:
    """Bring the pipeline (or TARGET stages and their upstream) up to date.

    Unchanged stages are skipped; stages whose outputs are in the cache are restored
    instead of run. Each stage's output goes to the terminal and to
    .dvc/tmp/exptui/logs/<stage>.log.
    """
    if downstream and not targets:
        raise click.UsageError("--downstream needs a TARGET stage to start from")
    if dry:
        _dry(ctx, list(targets) or None, force, single_item, downstream, force_downstream)
        return
    from exptui.pipeline.repro import BLOCKED, FROZEN, RAN, RUN_CACHE, SKIPPED, StageEvent, reproduce

    root = _root(ctx)
    term = _Terminal()

    def on_event(ev: StageEvent) -> None:
        if quiet:
            return
        if ev.kind == "start":
            term.line(ev.message)
            if why:
                for reason in ev.reasons or ["forced"]:
                    term.line(f"  because {reason}")
        elif ev.kind == RAN:
            term.line(f"Stage '{ev.stage.address}' done in {ev.elapsed:.2f}s")
        elif ev.kind == "failed":
            pass  # the error line says it
        elif ev.kind in (SKIPPED, FROZEN, BLOCKED):
            term.line(ev.message)
        else:  # restored from the lock's cache objects or from the run cache
            term.line(f"{ev.message} ({ev.elapsed:.2f}s)")
            if why:
                for reason in ev.reasons:
                    term.line(f"  because {reason}")

    result = reproduce(root, list(targets) or None, force=force, sink=term, events=on_event,
                       force_downstream=force_downstream, single_item=single_item,
                       run_cache=not no_run_cache, echo_commands=not quiet, timeout=timeout,
                       downstream=downstream, keep_going=keep_going)
    if quiet:
        return
    if not result.changed:
        term.line("Data and pipelines are up to date.")
    ran = [s for s in result.stages if s.outcome in (RAN, RUN_CACHE)]
    locks = sorted({str(Path(s.address.rsplit(":", 1)[0]).with_name("dvc.lock")) if ":" in s.address
                    else "dvc.lock" for s in ran})
    if locks:
        term.line(f"Updated {', '.join(locks)}.")
    tracked = locks + result.dotdvc_files + result.gitignores
    if tracked:
        term.line("To track the changes with git, run:\n\n\tgit add " + " ".join(tracked) + "\n")
    term.line(result.summary())


def _dry(ctx: click.Context, targets: list[str] | None, force: bool, single_item: bool, downstream: bool,
         force_downstream: bool) -> None:
    from exptui.pipeline.dry import MAYBE, RESTORE, RUN, dry_run

    plan = dry_run(_root(ctx), targets, force=force, single_item=single_item, downstream=downstream,
                   force_downstream=force_downstream)
    lines = []
    for p in plan:
        lines.append(p.line())
        lines.extend(f"  because {r}" for r in p.reasons)
    would = [p for p in plan if p.action in (RUN, RESTORE, MAYBE)]
    if not any(p.action in (RUN, RESTORE) for p in plan) and not any(p.action == "commit" for p in plan):
        lines.append("Data and pipelines are up to date.")
    lines.append(f"(dry run: nothing was run; {len(would)} of {len(plan)} stage{'s' if len(plan) != 1 else ''} "
                 "would run or be restored)")
    echo("\n".join(lines))


@click.command()
@click.argument("targets", nargs=-1)
@click.option("-d", "--with-deps", is_flag=True, help="Also the stages upstream of TARGETS (as dvc status -d).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with old and new param values).")
@click.option("--dvc-json", is_flag=True, help="Exactly what `dvc status --json` prints.")
@click.pass_context
def status(ctx: click.Context, targets: tuple[str, ...], with_deps: bool, as_json: bool, dvc_json: bool) -> None:
    """Show which stages (all, or TARGETS alone) changed and why, in DVC's words (exit code 0 either way, like
    dvc status)."""
    from exptui.pipeline.dag import load_pipeline
    from exptui.pipeline.status import Workspace, ensure_stages, stage_status, status_stages

    root = _root(ctx)
    pipeline = load_pipeline(root)
    ensure_stages(root, pipeline.stages)
    ws = Workspace(root)
    try:
        statuses = [stage_status(ws, s) for s in status_stages(pipeline, list(targets) or None, with_deps)]
    except OSError as exc:  # an unreadable dep: one line naming it
        from exptui.errors import PipelineError

        raise PipelineError(f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")) from exc
    finally:
        ws.close()
    changed = [s for s in statuses if s.changed]
    if dvc_json:
        import json

        dvc_data = {s.address: s.to_dvc() for s in changed}
        echo(json.dumps({k: v for k, v in dvc_data.items() if v}))
        return
    if as_json:
        import json

        data = {s.address: [c.to_dict() for c in s.changes] for s in changed}
        echo(json.dumps(data, indent=2, default=str))
        return
    if not changed:
        echo("Data and pipelines are up to date.")
        return
    lines = []
    for s in changed:
        suffix = " (frozen)" if s.stage.frozen else ""
        lines.append(f"{s.address}:{suffix}")
        lines.extend(f"\t{c}" for c in s.changes)
    echo("\n".join(lines))


@click.command()
@click.argument("target", required=False)
@click.option("--dot", "fmt", flag_value="dot", help="Graphviz dot output.")
@click.option("--mermaid", "fmt", flag_value="mermaid", help="Mermaid flowchart output.")
@click.option("--ascii", "fmt", flag_value="ascii", default=True, help="Boxes drawing (default).")
@click.pass_context
def dag(ctx: click.Context, target: str | None, fmt: str) -> None:
    """Draw the stage graph (or TARGET and its upstream)."""
    from exptui.pipeline.dag import draw_ascii, draw_dot, draw_mermaid, load_pipeline
    from exptui.pipeline.status import ensure_stages

    root = _root(ctx)
    pipeline = load_pipeline(root)
    ensure_stages(root, pipeline.stages)
    stages = pipeline.select([target] if target else None)
    if fmt == "dot":
        echo(draw_dot(pipeline, stages))
    elif fmt == "mermaid":
        echo(draw_mermaid(pipeline, stages))
    else:
        import shutil

        echo(draw_ascii(pipeline, stages, width=max(40, shutil.get_terminal_size().columns)))


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Make this git repository a DVC repository, as `dvc init` does.

    Writes `.dvc/config`, `.dvc/.gitignore` and `.dvcignore` (byte-identical to DVC 3's) and stages them with
    `git add`, so exptui works without the `dvc` package installed. Existing files are left alone.
    """
    from dvc_compat.config import init_dvc_dir
    from exptui.errors import ExptuiError, NotAGitRepo
    from exptui.store.git import Git, GitError

    start = Path((ctx.obj or {}).get("repo", ".")).resolve()
    if not start.is_dir():
        raise ExptuiError(f"'{start}' does not exist")
    try:
        git = Git.discover(start)
    except NotAGitRepo as exc:
        raise ExptuiError(f"'{start}' is not a git repository: run 'git init' there first, then 'exptui init'") from exc
    root = Path(git.root).resolve()
    if root != start:
        raise ExptuiError(f"'{start}' is inside the git repository '{root}': run 'exptui init' at its top level "
                          "(subdirectory DVC repos are not supported)")
    created = init_dvc_dir(root)
    if not created:
        echo(f"'{root}' is already a DVC repository: nothing to do.")
        return
    try:
        git.run("add", "--", *created)
    except GitError as exc:
        raise ExptuiError(f"created {', '.join(created)} but 'git add' failed: {exc}") from exc
    first = "run 'exptui repro'" if (root / "dvc.yaml").is_file() else "write dvc.yaml, run 'exptui repro'"
    echo(f"Initialized a DVC repository in {root} ({', '.join(created)}; staged with git add).\n"
         f"Next: {first}, then 'git commit' and 'exptui run -S key=value'.")
