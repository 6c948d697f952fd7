"""`exptui plots diff`: the plots files dvc.yaml declares, one line per revision, as `dvc plots diff` overlays them.

Drawn in the terminal with plotext (the dashboard's renderer and step data), or written as a self-contained HTML
page (`--html`, `-o DIR`; DVC's default directory `dvc_plots`). `--json` gives the data points per revision.
Revisions as DVC takes them: none compares the workspace with HEAD, one compares the workspace with it.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from exptui.cli.output import echo, write_json, write_text


def _revisions(revs: tuple[str, ...]) -> list[str]:
    if not revs:
        return ["HEAD", "workspace"]
    if len(revs) == 1:
        return [revs[0], "workspace"]
    return list(dict.fromkeys(revs))


@click.group()
def plots() -> None:
    """Compare plots between revisions and experiments."""


@plots.command(name="diff")
@click.argument("revisions", nargs=-1)
@click.option("--targets", multiple=True, metavar="FILE", help="Only these plots files (repeatable).")
@click.option("--html", "as_html", is_flag=True, help="Write an HTML page (to dvc_plots/index.html, or -o DIR).")
@click.option("-o", "--out", "out_dir", default=None, metavar="DIR", help="Directory for the HTML page.")
@click.option("--json", "as_json", is_flag=True, help="The data points of each plots file per revision.")
@click.option("--width", type=click.IntRange(min=20), default=None, help="Chart width in cells (default: terminal).")
@click.option("--height", type=click.IntRange(min=6), default=16, help="Chart height in cells.")
@click.pass_context
def diff(ctx: click.Context, revisions: tuple[str, ...], targets: tuple[str, ...], as_html: bool,
         out_dir: str | None, as_json: bool, width: int | None, height: int) -> None:
    """Overlay the plots of REVISIONS (git revisions or experiment names; none: HEAD and the workspace; one: it
    and the workspace), as `dvc plots diff`."""
    from exptui.project import Project
    from exptui.query.plots import curve_columns, curve_of
    from exptui.query.step_data import load_step_data

    project = Project.open((ctx.obj or {}).get("repo", "."))
    names = _revisions(revisions)
    rows = [project.resolve(name) for name in names]
    for row, name in zip(rows, names):
        row.name = name   # the legend says what the user typed (HEAD, a branch, an experiment)
    data = load_step_data(project, rows, targets)
    if not data.files:
        what = ", ".join(targets) if targets else "no plots files declared in dvc.yaml"
        from exptui.errors import ExptuiError

        raise ExptuiError(f"nothing to plot at {', '.join(names)}: {what}")
    charts = []   # (path, column, title, x label, curves)
    for path, per_row in data.files.items():
        x_hint = data.x_hints.get(path)
        x_label = curve_columns(per_row[0][1], x_hint)[0] or "row"
        for column in data.columns(path):
            curves = [curve_of(names[i], i, records, curve_columns(records, x_hint)[0], column)
                      for i, records in per_row]
            title = data.titles.get(path)
            charts.append((path, column, f"{title} · {column}" if title else f"{column} ({path})", x_label, curves))
    if as_json:
        out: dict[str, list[dict[str, object]]] = {}
        for path, column, _title, x_label, curves in charts:
            values = [{x_label: x, column: y, "rev": c.name} for c in curves for x, y in zip(c.xs, c.ys)]
            out.setdefault(path, []).append({"revisions": names, "x": x_label, "y": column, "values": values})
        write_json(json.dumps({"data": out}) + "\n")
        return
    if as_html or out_dir:
        from exptui.query.plots_html import Chart, page

        target = Path(out_dir or "dvc_plots")
        if not target.is_absolute():
            target = Path.cwd() / target
        target.mkdir(parents=True, exist_ok=True)
        index = target / "index.html"
        index.write_text(page("exptui plots diff: " + " vs ".join(names),
                              [Chart(t, x, col, cs) for _p, col, t, x, cs in charts], names), encoding="utf-8")
        echo(f"file://{index}")
        return
    from exptui.query.inert import inert
    from exptui.tui.widgets.plot_data import colour_for
    from exptui.tui.widgets.plot_render import draw_curves, render

    cols = width or max(40, shutil.get_terminal_size((100, 24)).columns)
    colour = sys.stdout.isatty()
    import plotext as plt

    text = []
    for _path, _column, title, x_label, curves in charts:
        chart = render(draw_curves(curves, title, x_label), cols, height)
        text.append(chart if colour else plt.uncolorize(chart))
        legend = []
        for i, name in enumerate(names):
            r, g, b = colour_for(i)
            mark = f"\x1b[38;2;{r};{g};{b}m●\x1b[0m" if colour else "●"
            legend.append(f"{mark} {inert(name)}")
        text.append("  ".join(legend) + "\n")
    if colour:   # plotext's colours are ours; names in the legend and titles were made inert before drawing
        sys.stdout.write("\n".join(text))
        sys.stdout.flush()
    else:
        write_text("\n".join(text))
