"""`exptui ui` (and `exptui` with no command): open the dashboard for the repo.

Textual and the Project are imported here, inside the command, so other commands never pay for them.
"""
from __future__ import annotations

import signal
import threading
from pathlib import Path

import click


@click.command("ui")
@click.option("--poll", "poll", type=click.FloatRange(min=0.1), default=0.5, show_default=True,
              help="Seconds between checks for new or changed experiments (at least 0.1).")
@click.pass_context
def ui(ctx: click.Context, poll: float) -> None:
    """Open the experiments dashboard (the default when exptui runs with no command)."""
    from exptui.project import Project
    from exptui.store import prestart

    repo = (ctx.obj or {}).get("repo", ".") if ctx.obj else "."
    started = prestart.take()   # git's for-each-ref, started by `exptui.cli.main` first thing (if it was)
    try:
        project = Project.open(Path(repo), long_lived=True)
    except BaseException:
        if started is not None:
            started.discard()
        raise
    # first, before Textual is imported: the first screen (after a ref change the refs' for-each-ref and the saved
    # screen's amendment) is worked out in a thread while the UI is imported and started (~0.3 s of CPU)
    early = project.start_first_screen(started)

    from exptui.tui.bindings import APP_BINDINGS, MAIN_BINDINGS
    from exptui.tui.config import config_path, load_keymap
    from exptui.tui.widgets.experiment_table import TABLE_BINDINGS

    known = {b.id for b in [*APP_BINDINGS, *MAIN_BINDINGS, *TABLE_BINDINGS] if b.id}
    warnings: list[str] = []     # an unknown binding id is shown in the app, which still starts
    keymap = load_keymap(config_path(), known_ids=known, warnings=warnings)

    from exptui.tui.app import ExptuiApp
    from exptui.tui.signals import remember_until_mounted

    root = project.root.resolve()
    app = ExptuiApp(project, root, poll_interval=poll, keymap=keymap, warnings=warnings, early=early)
    # While the app runs, SIGTERM/SIGHUP go through its event loop (exptui.tui.signals: a clean exit, the
    # terminal restored); asyncio resets them to the default when the loop closes, so the command's own
    # handlers (Ctrl-C semantics, exptui.cli.interrupts) are put back for the rest of the command.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        remember_until_mounted(app)
        app.run()
    finally:
        for sig, handler in handlers.items():
            if handler is not None and threading.current_thread() is threading.main_thread():
                signal.signal(sig, handler)
        project.close()  # its git cat-file processes end with the app, not at interpreter exit
    if app.exit_signal is not None:
        from exptui.cli.interrupts import Interrupted

        raise Interrupted(app.exit_signal)
