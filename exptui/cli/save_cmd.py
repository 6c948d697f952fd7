"""`exptui exp save`: DVC's `dvc exp save`, recording the workspace as an experiment without running it.

`exp` is a group so that DVC users' muscle memory (`dvc exp save` → `exptui exp save`) works; the other experiment
commands stay top-level (`exptui run`, `exptui show`...).
"""
from __future__ import annotations

import click

from exptui.cli.output import echo


@click.group()
def exp() -> None:
    """Experiment commands spelled as in DVC (`exptui exp save`)."""


@exp.command()
@click.option("-n", "--name", default=None, help="Experiment name (default: a generated one).")
@click.option("-f", "--force", is_flag=True, help="Replace an experiment of the same name.")
@click.option("-m", "--message", default=None, help="Commit message instead of DVC's default.")
@click.pass_context
def save(ctx: click.Context, name: str | None, force: bool, message: str | None) -> None:
    """Record the workspace as an experiment of HEAD, without running anything (as `dvc exp save`).

    Stages whose outputs, deps or params changed since dvc.lock are committed as they are (outputs saved to the
    DVC cache, dvc.lock updated); the workspace keeps its files.
    """
    from exptui.project import Project

    project = Project.open((ctx.obj or {}).get("repo", "."))
    try:
        row = project.save(name, force=force, message=message)
    except KeyboardInterrupt:
        done = project.last_record   # the signal came while recording: held until the record was complete
        if done is not None:
            echo(f"Experiment has been saved as: {done.name} (before the interruption)", err=True)
        raise
    echo(f"Experiment has been saved as: {row.name}")
    large = project.last_record.large_files if project.last_record is not None else ()
    if large:
        echo("warning: large files were committed with the experiment (add them to .gitignore or track "
             "them with DVC): " + ", ".join(large), err=True)
