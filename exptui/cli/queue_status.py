"""What `exptui queue status` prints, without click: both the click command (`queue_cmds.status`) and the
click-free fast path of a plain ``exptui queue status`` (`exptui.cli.fast`) print through these, so their output
is the same bytes."""
from __future__ import annotations

import operator
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
    """(the counts line, the table's text or None when the queue is empty); both still to be made inert.

    Built column by column (one comprehension per column, one loop over the entries that are not queued), not
    row by row with a branch per entry: most of a 10,000-entry sweep is queued, with nothing but its name and
    params to show."""
    # the state's plain string (`_value_`, an instance attribute): hashing or formatting the enum member itself
    # goes through Python-level methods, 10,000 times per table
    values = [e.status._value_ for e in entries]
    head = " · ".join(f"{n} {s}" for s, n in zip(ORDER, map(values.count, ORDER)) if n) or "the queue is empty"
    head = f"{head} · {len(workers)} worker{'s' if len(workers) != 1 else ''}"
    if not entries:
        return head, None
    from exptui.query.overrides import summarize

    rank = {s: i for i, s in enumerate(ORDER)}
    ranks = [rank.get(v, 9) for v in values]
    ids = [e.id for e in entries]
    # by state, then id (queue order). A listing of one state already in id order (`QueueStore.entries` sorts
    # by id) is left as it is; otherwise the sort compares plain tuples, no key function per entry
    if len(set(ranks)) > 1 or not all(map(operator.le, ids, ids[1:])):
        order = [i for _r, _id, i in sorted(zip(ranks, ids, range(len(entries))))]
        entries = [entries[i] for i in order]
        values = [values[i] for i in order]
    params = summarize([e.overrides for e in entries])
    names = [e.name for e in entries]
    stages = [e.stage or "" for e in entries]
    # queued and finished entries: the reason, else the experiment the entry made
    infos = [e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "") for e in entries]
    elapsed = [""] * len(entries)  # nothing ran yet for a queued entry
    for i, status in enumerate(values):
        if status == "queued":
            continue
        e = entries[i]
        if status == "running":
            elapsed[i] = format_duration(now - e.started, tenths=False, missing="") if e.started else ""
            infos[i] = f"attempt {e.attempt}" if e.attempt > 1 else ""
        else:  # a finished entry shows how long it ran, as the dashboard's queue view does
            elapsed[i] = format_duration(e.done.duration if e.done else None, tenths=False, missing="")
    header = ("NAME", "STATUS", "STAGE", "ELAPSED", "PARAMS", "INFO")
    rows: list[tuple[str, ...]] = [header, *zip(names, values, stages, elapsed, params, infos)]
    # one check over all the text, a column at a time; cells are rarely unsafe
    printable = all("".join(column).isprintable() for column in (names, values, stages, elapsed, params, infos))
    # the rows hold what is printed: the columns go before the lines are made (a lower peak, fewer fresh pages)
    del names, values, stages, elapsed, params, infos, entries, ids, ranks
    from exptui.query.cells import aligned_lines

    if not printable:
        from exptui.query.inert import inert

        rows = [tuple(inert(c) for c in r) for r in rows]  # made inert before it is measured
    return head, "\n".join(aligned_lines(rows, 5)) + "\n"
