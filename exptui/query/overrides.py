"""How a list of queue entries' params overrides reads best: what differs between them first.

A sweep queued from an experiment pins every param to that experiment's values, so each entry carries
eight or more overrides of which one or two vary. Printing them all makes every line of `queue status` (and
the queue view) look the same; the varying ones first, the shared ones counted, make the sweep readable.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Overrides = Mapping[str, Mapping[str, Any]]


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


def summarize(all_overrides: Sequence[Overrides | None]) -> list[str]:
    """One text per entry: the overrides that are not the same in every entry, then `(+N shared)`.

    With fewer than two entries, or when nothing differs, each entry shows all its overrides.
    """
    items = [override_items(o) if o else [] for o in all_overrides]
    if len(items) < 2:
        return [" ".join(t for _, t in it) for it in items]
    texts_by_label: dict[str, set[str]] = {}
    present: dict[str, int] = {}
    for entry in items:
        for label, text in entry:
            texts = texts_by_label.get(label)
            if texts is None:
                texts_by_label[label] = {text}
                present[label] = 1
            else:
                texts.add(text)
                present[label] += 1
    shared = {label for label, texts in texts_by_label.items() if len(texts) == 1 and present[label] == len(items)}
    if len(shared) == len(texts_by_label):
        return [" ".join(t for _, t in it) for it in items]
    if not shared:  # e.g. a one-parameter sweep: every override varies
        return [" ".join([t for _, t in it]) for it in items]
    out: list[str] = []
    for entry in items:
        varying = [text for label, text in entry if label not in shared]
        n_shared = len(entry) - len(varying)
        out.append(" ".join(varying + ([f"(+{n_shared} shared)"] if n_shared else [])))
    return out
