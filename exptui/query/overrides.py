"""How a list of queue entries' params overrides reads best: what differs between them first.

A sweep queued from an experiment pins every param to that experiment's values, so each entry carries
eight or more overrides of which one or two vary. Printing them all makes every line of `queue status` (and
the queue view) look the same; the varying ones first, the shared ones counted, make the sweep readable.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import accumulate, compress
from operator import ne
from typing import Any

Overrides = Mapping[str, Mapping[str, Any]]

#: names how `flat` writes labels and texts: the queue's body cache (`exptui.store.queue`) keeps each entry's flat
#: columns on disk under this version, so a change to the texts below must change it (old caches are then rebuilt)
FLAT_FORMAT = 1


def override_items(overrides: Overrides | None) -> list[tuple[str, str]]:
    """(key label, display text) per override, in file then key order as stored: `train.lr=0.1`,
    `other.yaml:key=v` for files other than params.yaml, `~key` for a deletion."""
    items: list[tuple[str, str]] = []
    if not overrides:
        return items
    append = items.append  # called once per override of every entry: `queue status` of a 10,000-entry sweep
    for file, values in overrides.items():
        if not values:
            continue
        prefix = "" if file == "params.yaml" else f"{file}:"
        for key, value in values.items():
            label = prefix + key if prefix else key
            append((label, label if value is None and key.startswith("~") else f"{label}={value}"))
    return items


def full_text(overrides: Overrides | None) -> str:
    return " ".join(text for _, text in override_items(overrides))


def flat(all_overrides: Sequence[Overrides | None]) -> tuple[list[str], list[str], list[int]]:
    """Every entry's `override_items` as two flat columns (labels, texts) and where each entry's run ends: no
    list and no tuple per entry (`queue status` of a 10,000-entry sweep: ~3x cheaper than `override_items` per
    entry). Same labels and texts in the same order."""
    labels: list[str] = []
    texts: list[str] = []
    ends: list[int] = []
    add_label, add_text, add_end = labels.append, texts.append, ends.append
    for overrides in all_overrides:
        if overrides:
            for file, values in overrides.items():
                if not values:
                    continue
                if file == "params.yaml":
                    for key, value in values.items():
                        add_label(key)
                        add_text(key if value is None and key.startswith("~") else f"{key}={value}")
                else:
                    prefix = f"{file}:"
                    for key, value in values.items():
                        label = prefix + key
                        add_label(label)
                        add_text(label if value is None and key.startswith("~") else f"{label}={value}")
        add_end(len(labels))
    return labels, texts, ends


def summarize(all_overrides: Sequence[Overrides | None]) -> list[str]:
    """One text per entry: the overrides that are not the same in every entry, then `(+N shared)`.

    With fewer than two entries, or when nothing differs, each entry shows all its overrides. A label counts as
    shared when it occurs as often as there are entries, always with the same text.
    """
    return summarize_flat(*flat(all_overrides))


def summarize_flat(labels: Sequence[str], texts: Sequence[str], ends: Sequence[int]) -> list[str]:
    """`summarize` of entries given as `flat` columns: `queue status` takes them from the body cache as they are,
    without a dict per entry."""
    n = len(ends)
    if n == len(labels) and list(ends) == list(range(1, n + 1)):
        whole = list(texts)  # one override per entry (a one-parameter sweep): each entry's text is that override
    else:
        whole = [" ".join(texts[a:b]) for a, b in zip([0, *ends], ends)]
    if n < 2:
        return whole
    present = Counter(labels)
    candidates = {label for label, count in present.items() if count == n}
    if not candidates:  # e.g. a one-parameter sweep: every override varies
        return whole
    # a label whose texts are not all its last one varies: found by C iterators, no tuple per override
    last = dict(zip(labels, texts))
    varies = set(compress(labels, map(ne, texts, map(last.__getitem__, labels))))
    shared = candidates - varies
    if not shared or len(shared) == len(present):
        return whole
    keep = [label not in shared for label in labels]
    varying = list(compress(texts, keep))  # the varying texts of all entries, in order
    kept = [0, *accumulate(keep)]  # kept[i]: how many of the first i overrides vary
    out: list[str] = []
    for a, b in zip([0, *ends], ends):
        parts = varying[kept[a]:kept[b]]
        n_shared = b - a - len(parts)
        if n_shared:
            parts.append(f"(+{n_shared} shared)")
        out.append(" ".join(parts))
    return out
