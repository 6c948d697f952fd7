"""`params diff` / `metrics diff` between two revisions, in the shape `dvc params diff` / `dvc metrics diff` print.

DVC compares two revisions file by file: every flattened key of either side, ``{"old", "new"}`` plus ``"diff"``
(new - old) when both are numbers, lists compared and printed as their Python text (``"[1, 2]"``), a key missing
on one side as ``None``, keys sorted in the table. A file that cannot be read on one side counts as empty there
(DVC then warns that it failed to load it; so do we, naming the file). exptui's own `diff` (two experiments,
relative changes, directions) stays in `compare.py`: this module is the DVC-shaped one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from exptui.query.cells import column_widths, fit
from exptui.query.inert import inert
from exptui.records import ExperimentRow

Section = Literal["params", "metrics"]
#: `dvc metrics diff` rounds to 5 digits after the point by default; `dvc params diff` does not round
METRICS_PRECISION = 5


@dataclass
class RevDiff:
    """The diff of one section between two revisions: ``{file: {key: {"old", "new", "diff"?}}}`` and the files
    that could not be read (``(rev label, file, reason)``)."""

    diff: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def _value(v: Any) -> Any:
    # DVC turns lists into their Python text before comparing (dvc.utils.diff.format_dict)
    return str(v) if isinstance(v, list) else v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float))


def _entry(old: Any, new: Any, with_unchanged: bool) -> dict[str, Any] | None:
    if not with_unchanged and old == new:
        return None
    out: dict[str, Any] = {"old": old, "new": new}
    if _is_number(old) and _is_number(new):
        out["diff"] = new - old
    return out


def rev_diff(old: ExperimentRow, new: ExperimentRow, section: Section, *, with_unchanged: bool = False,
             old_label: str = "old", new_label: str = "new", targets: Sequence[str] = ()) -> RevDiff:
    """What changed in `section` from `old` to `new`, file by file, as DVC's diff commands compute it."""
    result = RevDiff()
    sides = []
    for row, label in ((old, old_label), (new, new_label)):
        data: dict[str, dict[str, Any]] = getattr(row, section)
        # an unreadable file counts as empty on that side; which section it belongs to is not known once it
        # failed to parse, so each diff command names every unreadable file of the revision (DVC names the rev)
        result.errors.extend((label, file, reason) for file, reason in row.errors.items())
        sides.append({f: v if isinstance(v, dict) else {} for f, v in data.items() if f not in row.errors})
    names = list(dict.fromkeys([*sides[0], *sides[1]]))
    if targets:
        wanted = {t.rstrip("/") for t in targets}
        names = [n for n in names if n in wanted]
    for file in names:
        a, b = sides[0].get(file, {}), sides[1].get(file, {})
        entries: dict[str, dict[str, Any]] = {}
        for key in dict.fromkeys([*a, *b]):
            entry = _entry(_value(a.get(key)), _value(b.get(key)), with_unchanged)
            if entry is not None:
                entries[key] = entry
        if entries:
            result.diff[file] = entries
    return result


def _format(v: Any, precision: int | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and precision:
        return str(round(v, precision))
    return str(v)


def _grid(d: RevDiff, section: Section, old_label: str, new_label: str, precision: int | None,
          no_path: bool) -> list[list[str]]:
    title = "Param" if section == "params" else "Metric"
    changes = section == "metrics"
    header = ["Path", title, old_label, new_label] + (["Change"] if changes else [])
    rows = [header]
    for file, entries in d.diff.items():
        for key in sorted(entries):
            e = entries[key]
            row = [file, key, _format(e["old"], precision), _format(e["new"], precision)]
            if changes:
                row.append(_format(e.get("diff"), precision))
            rows.append(row)
    if no_path:
        rows = [r[1:] for r in rows]
    return [[inert(c) for c in r] for r in rows]


def to_text(d: RevDiff, section: Section, old_label: str, new_label: str, precision: int | None = None,
            no_path: bool = False) -> str:
    """Columns separated by two spaces, as `dvc params diff` prints them; nothing at all when nothing changed."""
    if not d.diff:
        return ""
    grid = _grid(d, section, old_label, new_label, precision, no_path)
    widths = column_widths(grid)
    return "".join("  ".join(fit(c, widths[i]) for i, c in enumerate(r)).rstrip() + "\n" for r in grid)


def to_markdown(d: RevDiff, section: Section, old_label: str, new_label: str, precision: int | None = None,
                no_path: bool = False) -> str:
    """A GitHub-flavoured table (the header alone when nothing changed, as DVC prints it)."""
    grid = _grid(d, section, old_label, new_label, precision, no_path)
    grid = [[c.replace("|", "\\|") for c in r] for r in grid]
    widths = column_widths(grid)
    lines = ["| " + " | ".join(fit(c, widths[i]) for i, c in enumerate(r)) + " |" for r in grid]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"
