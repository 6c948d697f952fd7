"""The click group of `exptui` (commands imported lazily from `exptui.cli.COMMANDS`)."""
from __future__ import annotations

import importlib

import click

from exptui import __version__
from exptui.cli import COMMANDS


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
