"""Turn expected failures into one clear line and an exit code, never a traceback."""
from __future__ import annotations

import os
import sys

import click

from exptui.cli.output import echo


def run_guarded(group: click.Group, argv: list[str] | None) -> int:
    from dvc_compat.errors import FormatError, SweepSyntaxError
    from exptui.errors import ExptuiError

    from exptui.cli.interrupts import Interrupted, interrupt_signals, interrupted_line, signum_of

    try:
        with interrupt_signals():  # SIGTERM/SIGHUP anywhere in a command: handled as Ctrl-C there
            rv = group.main(args=argv, prog_name="exptui", standalone_mode=False)
        # A command's `ctx.exit(n)` / `raise click.exceptions.Exit(n)` comes back as the int n here.
        return rv if type(rv) is int else 0
    except Interrupted as exc:  # raised by the group for a KeyboardInterrupt out of a command
        echo(interrupted_line(exc.signum), err=True)
        return 128 + exc.signum
    except click.exceptions.Abort:
        echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt as exc:  # before or after the command (parsing, the last output line)
        signum = signum_of(exc)
        echo(interrupted_line(signum), err=True)
        return 128 + signum
    except click.UsageError as exc:
        # One line instead of click's usage block: what was wrong, and where the help is.
        where = exc.ctx.command_path if exc.ctx is not None else "exptui"
        echo(f"error: {exc.format_message().rstrip('.')} (see '{where} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        echo(f"Error: {exc.format_message()}", err=True)   # click's own show(), but the message may quote data
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except ExptuiError as exc:
        echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (FormatError, SweepSyntaxError) as exc:
        echo(f"error: {exc}", err=True)
        return 1
    except BrokenPipeError:
        # `exptui show | head`: not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A full disk, a quota, a read-only file system: one line naming the file (WriteError says what to do),
        # never a traceback. Whatever was being written was replaced whole or not at all (atomic_write).
        echo(f"error: {_os_error_line(exc)}", err=True)
        return 1


def _os_error_line(exc: OSError) -> str:
    from dvc_compat.errors import WriteError

    if isinstance(exc, WriteError):
        return str(exc)
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{what}{where}"
