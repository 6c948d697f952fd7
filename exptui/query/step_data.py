"""Per-step plot records of several experiments, read through the repository facade: what the dashboard's "over
steps" tab and `exptui plots diff` both draw (one reader, so the terminal, the dashboard and the HTML page agree).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from exptui.query.live_series import LIVE_PLOT_PATH, series_records
from exptui.query.plots import curve_columns, parse_plot_records
from exptui.records import ExperimentRow

if TYPE_CHECKING:  # pragma: no cover
    from dvc_compat.plots import PlotFile


class PlotReader(Protocol):
    """What reading plots needs of a repository (`exptui.project.Project` is one)."""

    def plot_files(self, rev: str) -> list[PlotFile]: ...

    def read_plot(self, rev: str, path: str) -> bytes | None: ...

    def live_series_at(self, rev: str) -> dict[str, list[tuple[int, float]]]: ...


@dataclass
class StepData:
    """Per-step plot records of every experiment, keyed by plots file: {path: [(row index, records)]}."""

    files: dict[str, list[tuple[int, list[dict[str, Any]]]]] = field(default_factory=dict)
    x_hints: dict[str, str | None] = field(default_factory=dict)
    y_hints: dict[str, tuple[str, ...]] = field(default_factory=dict)   # declared y columns: listed first
    titles: dict[str, str] = field(default_factory=dict)                # declared `title:` per file

    def set_live(self, index: int, series: dict[str, list[tuple[int, float]]]) -> None:
        """The live DVCLive series of the running row at `index` (replacing what it showed before)."""
        per_row = [(i, records) for i, records in self.files.get(LIVE_PLOT_PATH, []) if i != index]
        if series:
            per_row.append((index, series_records(series)))
            per_row.sort(key=lambda item: item[0])
        if per_row:
            self.files[LIVE_PLOT_PATH] = per_row
            self.x_hints.setdefault(LIVE_PLOT_PATH, "step")
            self.titles.setdefault(LIVE_PLOT_PATH, "DVCLive")
        else:
            self.files.pop(LIVE_PLOT_PATH, None)

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

    def options(self, live_first: bool = False) -> list[tuple[str, str]]:
        """(label, value) per plottable column: value is ``path\\tcolumn``; DVCLive's first while trials run."""
        paths = list(self.files)
        if live_first and LIVE_PLOT_PATH in paths:
            paths.remove(LIVE_PLOT_PATH)
            paths.insert(0, LIVE_PLOT_PATH)
        return [(f"{path}: {column}", f"{path}\t{column}") for path in paths for column in self.columns(path)]


@dataclass(frozen=True)
class RowPlots:
    """What one experiment's commit holds for the plots: each declared plots file with its records, and its DVCLive
    series. A commit never changes, so a `RowPlots` read once (ahead, by the dashboard's warm-up) stays true."""

    files: list[tuple[PlotFile, list[dict[str, Any]]]]
    live: dict[str, list[tuple[int, float]]]


def read_row_plots(project: PlotReader, rev: str, wanted: frozenset[str] = frozenset()) -> RowPlots:
    """The declared plots files (only `wanted` ones, if any) and the DVCLive series of `rev` (git reads)."""
    files = []
    for plot in project.plot_files(rev):
        if wanted and plot.path not in wanted:
            continue
        raw = project.read_plot(rev, plot.path)
        if raw is None:
            continue
        records = parse_plot_records(plot.path, raw)
        if records:
            files.append((plot, records))
    live = project.live_series_at(rev) if not wanted or LIVE_PLOT_PATH in wanted else {}
    return RowPlots(files, live)


def load_step_data(project: PlotReader, rows: list[ExperimentRow], targets: tuple[str, ...] = (),
                   known: Mapping[str, RowPlots] | None = None) -> StepData:
    """Read every declared plots file (or only `targets`) of every experiment (git reads; run it in a thread), and
    the DVCLive series each one recorded. Running rows are skipped: their snapshot holds the baseline's files, and
    their curves come live from their checkouts (`StepData.set_live`). `known`: rows already read, by commit (all
    files, no `targets`), taken instead of reading them again."""
    data = StepData()
    wanted = frozenset(t.rstrip("/") for t in targets)
    for index, row in enumerate(rows):
        if row.status == "running":
            continue
        read = known.get(row.rev) if known is not None and not wanted else None
        if read is None:
            read = read_row_plots(project, row.rev, wanted)
        for plot, records in read.files:
            data.files.setdefault(plot.path, []).append((index, records))
            data.x_hints.setdefault(plot.path, plot.x)
            data.y_hints.setdefault(plot.path, plot.ys)
            if plot.title:
                data.titles.setdefault(plot.path, plot.title)
        if read.live:   # after the declared files: those stay the first choice
            data.files.setdefault(LIVE_PLOT_PATH, []).append((index, series_records(read.live)))
            data.x_hints.setdefault(LIVE_PLOT_PATH, "step")
            data.titles.setdefault(LIVE_PLOT_PATH, "DVCLive")
    return data
