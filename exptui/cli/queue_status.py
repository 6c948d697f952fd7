"""What `exptui queue status` prints, without click: both the click command (`queue_cmds.status`) and the
click-free fast path of a plain ``exptui queue status`` (`exptui.cli.fast`) print through these, so their output
is the same bytes."""
from __future__ import annotations

import time
from typing import Any

from exptui.query.durations import format_duration

ORDER = ("running", "queued", "success", "pruned", "failed", "crashed", "cancelled")


def collect(mgr: Any) -> tuple[Any, list[Any], list[str], float]:
    """(the listing, workers, warnings for stderr, now) after recovery: a dead worker's entry shows as crashed,
    never as running forever. The listing is a `QueueListing` (`QueueManager.listing`): queued entries as
    columns, the others (the only ones recovery looks at) as entries."""
    listing = mgr.listing()
    recovered = mgr.recover(listing.special)
    if recovered.changed:
        listing = mgr.listing()
    mgr.show_dead_as_crashed(listing.special)  # dead, but its crashed state could not be written (full disk)
    warnings = []
    if recovered.unrecorded:
        name, _why, err = recovered.unrecorded[0]
        warnings.append(f"warning: could not record {len(recovered.unrecorded)} crashed entr"
                        f"{'y' if len(recovered.unrecorded) == 1 else 'ies'} ({name}: {err}); it is recorded by "
                        "the next queue status once there is room")
    return listing, mgr.workers(listing), warnings, time.time()


def plain(listing: Any, workers: list[Any], now: float) -> tuple[str, str | None]:
    """(the counts line, the table's text or None when the queue is empty); both still to be made inert.

    Built column by column, straight from the listing's columns: most of a 10,000-entry sweep is queued, with
    nothing but its name and params to show, and those come from the body cache as they are (names, and the
    overrides as `flat` columns for `summarize_flat`). Only the other entries (running, finished, retried) are
    looked at one by one."""
    special = listing.special
    # the state's plain string (`_value_`, an instance attribute): hashing or formatting the enum member itself
    # goes through Python-level methods
    svalues = [e.status._value_ for e in special]
    n_plain = len(listing.ids)
    counts = [svalues.count(s) + (n_plain if s == "queued" else 0) for s in ORDER]
    head = " · ".join(f"{n} {s}" for s, n in zip(ORDER, counts) if n) or "the queue is empty"
    head = f"{head} · {len(workers)} worker{'s' if len(workers) != 1 else ''}"
    if not n_plain and not special:
        return head, None
    from exptui.query.overrides import summarize_flat

    if not special:  # a queue of queued entries only: the columns as the cache gave them
        empty = [""] * n_plain
        names, values, stages, elapsed, infos = listing.names, ["queued"] * n_plain, empty, empty, empty
        labels, texts, ends = listing.flat
    else:
        names, values, stages, elapsed, infos, labels, texts, ends = _columns(listing, svalues, now)
    params = summarize_flat(labels, texts, ends)
    del labels, texts, ends
    header = ("NAME", "STATUS", "STAGE", "ELAPSED", "PARAMS", "INFO")
    rows: list[tuple[str, ...]] = [header, *zip(names, values, stages, elapsed, params, infos)]
    # one check over all the text, a column at a time; cells are rarely unsafe
    printable = all("".join(column).isprintable() for column in (names, values, stages, elapsed, params, infos))
    # the rows hold what is printed: the columns go before the lines are made (a lower peak, fewer fresh pages)
    del names, values, stages, elapsed, params, infos
    from exptui.query.cells import aligned_lines

    if not printable:
        from exptui.query.inert import inert

        rows = [tuple(inert(c) for c in r) for r in rows]  # made inert before it is measured
    return head, "\n".join(aligned_lines(rows, 5)) + "\n"


def _columns(listing: Any, svalues: list[str], now: float) -> tuple[list[Any], ...]:
    """The table's columns in display order (by state, then id: queue order) when some entries are not plainly
    queued: the plainly queued ones are runs of the listing's columns, copied by slices; each other entry's
    cells are worked out here."""
    from bisect import bisect_left

    from exptui.query.overrides import flat

    special = listing.special
    rank = {s: i for i, s in enumerate(ORDER)}
    order = sorted(range(len(special)), key=lambda i: (rank.get(svalues[i], 9), special[i].id))
    queued_rank = rank["queued"]
    # segments in display order: an int is a special entry's index, a tuple a run (start, stop) of plain ones
    segments: list[int | tuple[int, int]] = []
    ids = listing.ids
    start = 0
    placed = False
    for i in order:
        r = rank.get(svalues[i], 9)
        if r == queued_rank:  # a queued entry shown in full (retried): among the plain ones, by id
            at = bisect_left(ids, special[i].id)
            if at > start:
                segments.append((start, at))
                start = at
        elif r > queued_rank and not placed:
            segments.append((start, len(ids)))
            start, placed = len(ids), True
        segments.append(i)
    if not placed:
        segments.append((start, len(ids)))
    pnames, (plabels, ptexts, pends) = listing.names, listing.flat
    names: list[str] = []
    values: list[str] = []
    stages: list[str] = []
    elapsed: list[str] = []
    infos: list[str] = []
    labels: list[str] = []
    texts: list[str] = []
    ends: list[int] = []
    for seg in segments:
        if isinstance(seg, tuple):
            a, b = seg
            if a == b:
                continue
            names += pnames[a:b]
            blank = [""] * (b - a)
            values += ["queued"] * (b - a)
            stages += blank
            elapsed += blank
            infos += blank
            lo, hi = pends[a - 1] if a else 0, pends[b - 1]
            shift = len(labels) - lo
            labels += plabels[lo:hi]
            texts += ptexts[lo:hi]
            ends += pends[a:b] if not shift else [e + shift for e in pends[a:b]]
            continue
        e, status = special[seg], svalues[seg]
        names.append(e.name)
        values.append(status)
        stages.append(e.stage or "")
        # queued and finished entries: the reason, else the experiment the entry made
        info = e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "")
        spent = ""  # nothing ran yet for a queued entry
        if status == "running":
            spent = format_duration(now - e.started, tenths=False, missing="") if e.started else ""
            info = f"attempt {e.attempt}" if e.attempt > 1 else ""
        elif status != "queued":  # a finished entry shows how long it ran, as the dashboard's queue view does
            spent = format_duration(e.done.duration if e.done else None, tenths=False, missing="")
        elapsed.append(spent)
        infos.append(info)
        more_labels, more_texts, _ = flat([e.overrides])
        labels += more_labels
        texts += more_texts
        ends.append(len(labels))
    return names, values, stages, elapsed, infos, labels, texts, ends
