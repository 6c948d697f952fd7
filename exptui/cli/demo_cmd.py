"""`exptui demo`: build a demo repo (example pipeline, baseline, a few experiments) and open it.

The first command a new user runs, so every step prints one line with its timing, and
when the dashboard cannot open (no terminal, --no-tui) the next commands to try are printed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from exptui.cli.output import echo
from exptui.demo import DEFAULT_DIR, PIPELINES, SUGGESTIONS
from exptui.errors import ExptuiError


def next_steps(dest: Path, pipeline: str) -> str:
    """What to type after the demo: a short tour of the CLI on this pipeline's params."""
    try:
        shown = dest.relative_to(Path.cwd())
    except ValueError:
        shown = dest
    one, sweep = SUGGESTIONS.get(pipeline, SUGGESTIONS["churn"])
    import shlex

    # no `cd .` when already there; a path with spaces stays one argument
    rows = [] if str(shown) == "." else [(f"cd {shlex.quote(str(shown))}", "")]
    rows += [
        ("exptui show", "the experiments table"),
        (f"exptui run -S {one}", "one experiment in the workspace"),
        (f"exptui run --queue -S '{sweep}'", "a sweep on the queue"),
        ("exptui queue start -j 2", "run the queue on two workers"),
        ("exptui", "the dashboard"),
    ]
    width = max(len(cmd) for cmd, _ in rows) + 2
    lines = [f"  {cmd:<{width}}# {what}" if what else f"  {cmd}" for cmd, what in rows]
    return "\n".join(["Next steps:", *lines])


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--pipeline", type=click.Choice(PIPELINES), default="churn", show_default=True,
              help="Which example pipeline to use.")
@click.option("--experiments", "experiments", type=click.IntRange(min=0), default=3, show_default=True,
              help="Experiments to record after the baseline (0 = none).")
@click.option("--no-tui", is_flag=True, help="Build the repo and print the next steps; do not open the dashboard.")
@click.option("--fresh", is_flag=True, help="Rebuild DIRECTORY if it holds an earlier demo.")
@click.option("--fixed-dates", is_flag=True, hidden=True, help="Fixed commit dates and identity (snapshot tests).")
@click.pass_context
def demo(ctx: click.Context, directory: Path | None, pipeline: str, experiments: int, no_tui: bool,
         fresh: bool, fixed_dates: bool) -> None:
    """Build a demo repo in DIRECTORY (default ./exptui-demo) and open the dashboard.

    The repo gets the example pipeline, its baseline run (committed) and a few finished
    experiments. Running it again on an earlier demo opens that demo (--fresh rebuilds it).
    """
    from exptui.demo import (build_demo, check_destination, demo_complete, demo_pipeline, demo_state,
                             ignore_in_enclosing_repo)

    base = Path((ctx.obj or {}).get("repo", ".")).expanduser()  # `exptui -C DIR demo` builds under DIR
    dest = (base / (directory or Path(DEFAULT_DIR)).expanduser()).absolute()
    if demo_state(dest) == "demo" and demo_complete(dest) and not fresh:
        built = demo_pipeline(dest) or pipeline
        asked = ctx.get_parameter_source("pipeline") == click.core.ParameterSource.COMMANDLINE
        if asked and built != pipeline:
            raise ExptuiError(f"{dest} holds the {built} demo: add --fresh to rebuild it as {pipeline}, "
                              "or give another directory")
        pipeline = built
        echo(f"Opening the {pipeline} demo built earlier in {dest} (--fresh rebuilds it).")
    else:
        state = check_destination(dest, fresh)
        verb = "Rebuilding" if state == "demo" else "Building"
        echo(f"{verb} the {pipeline} demo in {dest}")
        report = build_demo(dest, pipeline, experiments, fixed_dates=fixed_dates, fresh=fresh,
                            progress=lambda line: echo(line))
        total = sum(seconds for _, seconds in report.steps)
        echo(f"Demo ready in {total:.1f}s: baseline + {len(report.experiments)} experiment(s).")
        excluded = ignore_in_enclosing_repo(dest)
        if excluded is not None:
            echo(f"It is inside another git checkout: listed in {excluded}, so that repo's git status stays clean.")

    if no_tui or not (sys.stdin.isatty() and sys.stdout.isatty()):
        echo(next_steps(dest, pipeline))
        return
    from exptui.cli.tui_cmd import ui as ui_cmd

    ctx.ensure_object(dict)
    ctx.obj["repo"] = str(dest)
    ctx.invoke(ui_cmd)
