"""What `exptui queue status` prints, without click: both the click command (`queue_cmds.status`) and the
click-free fast path of a plain ``exptui queue status`` (`exptui.cli.fast`) print through these, so their output
is the same bytes."""
from __future__ import annotations

import time
from typing import Any

from exptui.query.durations import format_duration

ORDER = ("running", "queued", "success", "pruned", "failed", "crashed", "cancelled")


def collect(mgr: Any) -> tuple[list[Any], list[Any], list[str], float]:
    """(entries, workers, warnings for stderr, now) after recovery: a dead worker's entry shows as crashed, never
    as running forever."""
    entries = mgr.entries()
    recovered = mgr.recover(entries)
    if recovered.changed:
        entries = mgr.entries()
    mgr.show_dead_as_crashed(entries)  # dead, but its crashed state could not be written (full disk)
    warnings = []
    if recovered.unrecorded:
        name, _why, err = recovered.unrecorded[0]
        warnings.append(f"warning: could not record {len(recovered.unrecorded)} crashed entr"
                        f"{'y' if len(recovered.unrecorded) == 1 else 'ies'} ({name}: {err}); it is recorded by "
                        "the next queue status once there is room")
    return entries, mgr.workers(entries), warnings, time.time()


def plain(entries: list[Any], workers: list[Any], now: float) -> tuple[str, str | None]:
    """(the counts line, the table's text or None when the queue is empty); both still to be made inert."""
    # the state's plain string (`_value_`, an instance attribute): hashing or formatting the enum member itself
    # goes through Python-level methods, 10,000 times per table
    values = [e.status._value_ for e in entries]
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    head = " · ".join(f"{counts[s]} {s}" for s in ORDER if counts.get(s)) or "the queue is empty"
    head = f"{head} · {len(workers)} worker{'s' if len(workers) != 1 else ''}"
    if not entries:
        return head, None
    from exptui.query.overrides import summarize

    rows: list[tuple[str, ...]] = [("NAME", "STATUS", "STAGE", "ELAPSED", "PARAMS", "INFO")]
    rank = {s: i for i, s in enumerate(ORDER)}
    # by state, then id (queue order): the sort compares plain tuples, no key function per entry
    ranked = sorted(zip([rank.get(v, 9) for v in values], [e.id for e in entries], range(len(entries))))
    entries = [entries[i] for _r, _id, i in ranked]
    values = [values[i] for _r, _id, i in ranked]
    params = summarize([e.overrides for e in entries])
    for e, status, params_text in zip(entries, values, params):
        if status == "queued":  # most of a big sweep: nothing ran yet, so no elapsed time
            info = e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "")
            rows.append((e.name, status, e.stage or "", "", params_text, info))
            continue
        if status == "running":
            elapsed = format_duration(now - e.started, tenths=False, missing="") if e.started else ""
            info = f"attempt {e.attempt}" if e.attempt > 1 else ""
        else:  # a finished entry shows how long it ran, as the dashboard's queue view does
            elapsed = format_duration(e.done.duration if e.done else None, tenths=False, missing="")
            info = e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "")
        rows.append((e.name, status, e.stage or "", elapsed, params_text, info))
    from exptui.query.cells import aligned_lines

    cells: list[tuple[str, ...]] = rows
    if not "".join(map("".join, rows)).isprintable():  # one check over all the text; cells are rarely unsafe
        from exptui.query.inert import inert

        cells = [tuple(inert(c) for c in r) for r in rows]  # made inert before it is measured
    return head, "\n".join(aligned_lines(cells, 5)) + "\n"
