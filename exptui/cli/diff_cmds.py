"""`exptui params diff`, `exptui metrics diff`: DVC's commands of the same names, same argument order and output.

`A` is the old side (default ``HEAD``), `B` the new one (default ``workspace``); either may be a git revision or an
experiment name. `--json` prints what `dvc params diff --json` / `dvc metrics diff --json` print.
"""
from __future__ import annotations

import json

import click

from exptui.cli.output import echo, write_json, write_text


def _diff_command(section: str) -> click.Command:
    title = "params" if section == "params" else "metrics"

    @click.command(name="diff")
    @click.argument("a_rev", default="HEAD", metavar="[A]")
    @click.argument("b_rev", default="workspace", metavar="[B]")
    @click.option("--targets", multiple=True, metavar="FILE", help=f"Only these {title} files (repeatable).")
    @click.option("--all", "with_unchanged", is_flag=True, help=f"Show unchanged {title} as well.")
    @click.option("--json", "as_json", is_flag=True, help=f"JSON, as `dvc {title} diff --json`.")
    @click.option("--md", "as_md", is_flag=True, help="Markdown table (GFM).")
    @click.option("--no-path", is_flag=True, help="Leave out the file column.")
    @click.option("--precision", type=click.IntRange(min=0), default=None, metavar="N",
                  help="Round floats to N digits after the point"
                       + (" (default 5)." if section == "metrics" else " (default: as written)."))
    @click.pass_context
    def diff(ctx: click.Context, a_rev: str, b_rev: str, targets: tuple[str, ...], with_unchanged: bool,
             as_json: bool, as_md: bool, no_path: bool, precision: int | None) -> None:
        if as_json and as_md:
            raise click.UsageError("choose one of --json, --md")
        from exptui.project import Project
        from exptui.query.dvc_diff import METRICS_PRECISION, rev_diff, to_markdown, to_text

        project = Project.open((ctx.obj or {}).get("repo", "."))
        old, new = project.resolve(a_rev), project.resolve(b_rev)
        result = rev_diff(old, new, section, with_unchanged=with_unchanged,  # type: ignore[arg-type]
                          old_label=a_rev, new_label=b_rev, targets=targets)
        for label, file, reason in result.errors:
            echo(f"warning: {file} at {label} could not be read ({reason}); compared as empty", err=True)
        if as_json:
            write_json(json.dumps(result.diff) + "\n")
            return
        if precision is None and section == "metrics":
            precision = METRICS_PRECISION
        render = to_markdown if as_md else to_text
        write_text(render(result, section, a_rev, b_rev, precision, no_path))  # type: ignore[arg-type]

    diff.help = (f"Show how {title} changed from revision or experiment A (default HEAD) to B (default the "
                 f"workspace), as `dvc {title} diff`.")
    return diff


@click.group()
def params() -> None:
    """Compare params between revisions and experiments."""


@click.group()
def metrics() -> None:
    """Compare metrics between revisions and experiments."""


params.add_command(_diff_command("params"))
metrics.add_command(_diff_command("metrics"))
