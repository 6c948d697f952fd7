"""The dashboard's first screen, kept from its last start: painted before the listing is read.

At 100,000 experiments the listing's plan (one `for-each-ref` of every ref, parsing it, the index's ids and
times) costs ~0.8 s of CPU before a single row can be built, and the dashboard shows forty. So the rows the
dashboard painted first last time are saved here (a few hundred rows, a few hundred KB at most), keyed by the
change token (`exptui.store.token`: the ref directories' and `packed-refs`' stat, HEAD, the queue's state,
dvc.yaml/params.yaml/dvc.lock) and the listing's options. On the next start with the same key they are handed
over at once; the listing is read as before and replaces them when it is complete, so rows the token cannot
see change (the workspace's metrics files, a run's elapsed time) are right again a second or so later, and a
ref added or deleted since (which changes the token) is never painted from here.

The file is `.git/exptui/first-rows.pickle`: inside the git dir, outside the index (a damaged or foreign file is
ignored and removed, never an error: it is only a head start) and outside the change token (writing it never
makes the poller reload).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, fields
from pathlib import Path

from dvc_compat.fsutil import atomic_write
from exptui.records import Annotations, ExperimentRow, RunFacts

FILE = "first-rows.pickle"
FORMAT = 1


@dataclass(frozen=True)
class FirstRows:
    """The saved top of a listing: `rows` (in listing order) of a listing of `total` rows."""

    rows: list[ExperimentRow]
    total: int


def _shape() -> tuple:
    """What the pickled rows' classes looked like: a field added or renamed makes old files unusable."""
    return (FORMAT, *(tuple(f.name for f in fields(cls)) for cls in (ExperimentRow, RunFacts, Annotations)))


def path_of(git_dir: Path) -> Path:
    return Path(git_dir) / "exptui" / FILE


def load(git_dir: Path, key: tuple) -> FirstRows | None:
    """The rows saved under `key`, or None (no file, another key, or an unreadable file, which is removed)."""
    path = path_of(git_dir)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        shape, saved_key, total, rows = pickle.loads(data)
        if shape != _shape() or saved_key != key:
            return None
        if not isinstance(total, int) or not isinstance(rows, list) \
                or not all(isinstance(r, ExperimentRow) for r in rows):
            raise ValueError("not a list of rows")
    except Exception:  # noqa: BLE001 - truncated, foreign or from another version: only a head start
        try:
            path.unlink()
        except OSError:
            pass
        return None
    return FirstRows(rows, total)


def save(git_dir: Path, key: tuple, rows: list[ExperimentRow], total: int) -> None:
    """Keep `rows` (the top of a listing of `total` rows) for the next start with the same `key`. Best effort:
    a read-only git dir or a full disk costs the next start its head start, nothing else."""
    try:
        path = path_of(git_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, pickle.dumps((_shape(), key, total, list(rows)), protocol=pickle.HIGHEST_PROTOCOL),
                     durable=False)   # a cache: losing it in a power cut costs a head start, never a torn file
    except Exception:  # noqa: BLE001 - see above
        pass
