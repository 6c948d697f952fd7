"""Per-step plot records of several experiments, read through the repository facade: what the dashboard's "over
steps" tab and `exptui plots diff` both draw (one reader, so the terminal, the dashboard and the HTML page agree).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from exptui.query.plots import curve_columns, parse_plot_records
from exptui.records import ExperimentRow

if TYPE_CHECKING:  # pragma: no cover
    from dvc_compat.plots import PlotFile


class PlotReader(Protocol):
    """What reading plots needs of a repository (`exptui.project.Project` is one)."""

    def plot_files(self, rev: str) -> list[PlotFile]: ...

    def read_plot(self, rev: str, path: str) -> bytes | None: ...


@dataclass
class StepData:
    """Per-step plot records of every experiment, keyed by plots file: {path: [(row index, records)]}."""

    files: dict[str, list[tuple[int, list[dict[str, Any]]]]] = field(default_factory=dict)
    x_hints: dict[str, str | None] = field(default_factory=dict)
    y_hints: dict[str, tuple[str, ...]] = field(default_factory=dict)   # declared y columns: listed first
    titles: dict[str, str] = field(default_factory=dict)                # declared `title:` per file

    def columns(self, path: str) -> list[str]:
        """The plottable y columns of one plots file: the declared ones first, then the other numeric ones."""
        per_row = self.files.get(path, [])
        columns: dict[str, None] = {}
        present = {c for _, records in per_row for c in curve_columns(records, self.x_hints.get(path))[1]}
        for column in self.y_hints.get(path, ()):
            if column in present:
                columns.setdefault(column, None)
        for _, records in per_row:
            for column in curve_columns(records, self.x_hints.get(path))[1]:
                columns.setdefault(column, None)
        return list(columns)

    def options(self) -> list[tuple[str, str]]:
        """(label, value) per plottable column: value is ``path\\tcolumn``."""
        return [(f"{path}: {column}", f"{path}\t{column}") for path in self.files for column in self.columns(path)]


def load_step_data(project: PlotReader, rows: list[ExperimentRow], targets: tuple[str, ...] = ()) -> StepData:
    """Read every declared plots file (or only `targets`) of every experiment (git reads; run it in a thread)."""
    data = StepData()
    wanted = {t.rstrip("/") for t in targets}
    for index, row in enumerate(rows):
        for plot in project.plot_files(row.rev):
            if wanted and plot.path not in wanted:
                continue
            raw = project.read_plot(row.rev, plot.path)
            if raw is None:
                continue
            records = parse_plot_records(plot.path, raw)
            if records:
                data.files.setdefault(plot.path, []).append((index, records))
                data.x_hints.setdefault(plot.path, plot.x)
                data.y_hints.setdefault(plot.path, plot.ys)
                if plot.title:
                    data.titles.setdefault(plot.path, plot.title)
    return data
