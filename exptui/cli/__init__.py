"""Command line entry point.

Commands live in their own modules and are imported only when invoked, so
`exptui show --json` never pays for Textual, pandas or scikit-learn imports.
"""
from __future__ import annotations

import importlib
import sys

import click

from exptui import __version__

# command name -> "module:attribute"; modules are imported lazily.
COMMANDS: dict[str, str] = {
    # pipeline (issue: foundation)
    "init": "exptui.cli.pipeline_cmds:init",
    "repro": "exptui.cli.pipeline_cmds:repro",
    "status": "exptui.cli.pipeline_cmds:status",
    "dag": "exptui.cli.pipeline_cmds:dag",
    "demo": "exptui.cli.demo_cmd:demo",
    # experiments (issue: store)
    "run": "exptui.cli.exp_cmds:run",
    "show": "exptui.cli.exp_cmds:show",
    "diff": "exptui.cli.exp_cmds:diff",
    "apply": "exptui.cli.exp_cmds:apply",
    "branch": "exptui.cli.exp_cmds:branch",
    "remove": "exptui.cli.exp_cmds:remove",
    "star": "exptui.cli.exp_cmds:star",
    "label": "exptui.cli.exp_cmds:label",
    "note": "exptui.cli.exp_cmds:note",
    "gc": "exptui.cli.exp_cmds:gc",
    "push": "exptui.cli.exp_cmds:push",
    "pull": "exptui.cli.exp_cmds:pull",
    "exp": "exptui.cli.save_cmd:exp",
    # DVC's everyday comparison commands (issue 12)
    "params": "exptui.cli.diff_cmds:params",
    "metrics": "exptui.cli.diff_cmds:metrics",
    "plots": "exptui.cli.plots_cmd:plots",
    # queue (issue: queue)
    "queue": "exptui.cli.queue_cmds:queue",
    "doctor": "exptui.cli.queue_cmds:doctor",
    # TUI
    "ui": "exptui.cli.tui_cmd:ui",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a Ctrl-C, SIGTERM or SIGHUP that its own handlers let through leaves as `Interrupted`
        (the guard's one line and 128+signal), not as click's Abort."""
        from exptui.cli.interrupts import Interrupted, signum_of

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted(signum_of(exc)) from None


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exptui")
@click.option("-C", "--repo", "repo", default=".", type=click.Path(file_okay=False), help="Run as if started in this directory.")
@click.pass_context
def cli(ctx: click.Context, repo: str) -> None:
    """exptui: run, queue and compare DVC experiments from the terminal.

    With no command, opens the experiments dashboard for the repo.
    """
    ctx.ensure_object(dict)
    ctx.obj["repo"] = repo
    if ctx.invoked_subcommand is None:
        from exptui.cli.tui_cmd import ui

        ctx.invoke(ui)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; `ExptuiError`/`FormatError` become one line on stderr and a non-zero exit."""
    from exptui.cli.errors import run_guarded

    sys.exit(run_guarded(cli, argv))
