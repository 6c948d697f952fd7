"""Command line entry point.

Commands live in their own modules and are imported only when invoked, so
`exptui show --json` never pays for Textual, pandas or scikit-learn imports.
"""
from __future__ import annotations

import sys

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


def __getattr__(name: str) -> object:
    """`cli` and `LazyGroup` (the click group) live in `exptui.cli.group`, imported on first use: a plain
    ``exptui queue status`` answers without importing click at all (`exptui.cli.fast`)."""
    if name in ("cli", "LazyGroup"):
        from exptui.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; `ExptuiError`/`FormatError` become one line on stderr and a non-zero exit."""
    args = sys.argv[1:] if argv is None else argv
    repo = _dashboard_repo(args)
    if repo is not None:
        # the dashboard's refs, read by git while click, the project and Textual are imported (issue 13)
        from exptui.store import prestart

        prestart.start(repo)
    try:
        from exptui.cli.fast import fast_path

        code = fast_path(args)
        if code is None:
            from exptui.cli.errors import run_guarded
            from exptui.cli.group import cli

            code = run_guarded(cli, argv)
        else:
            # answered, and the process exits next: the collections the interpreter runs while it shuts down would
            # walk every tracked object for nothing (no cycles worth finding); frozen, they skip them. `queue
            # status` of 10,000 entries: ~9 ms CPU less (median of 15 alternating runs)
            import gc

            gc.freeze()
    finally:
        if repo is not None:
            prestart.discard()   # not taken: the command failed before the dashboard's early start
    sys.exit(code)


def _dashboard_repo(argv: list[str]) -> str | None:
    """The repo directory when `argv` opens the dashboard: ``[-C DIR | --repo DIR] [ui [OPTIONS]]``; None for
    anything else (another command, help, version), which never starts git early."""
    args = list(argv)
    repo = "."
    if len(args) >= 2 and args[0] in ("-C", "--repo"):
        repo, args = args[1], args[2:]
    if (args and args[0] != "ui") or any(a in ("-h", "--help", "--version") for a in args):
        return None
    return repo if repo and not repo.startswith("-") else None
