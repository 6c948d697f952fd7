"""The Params column of `queue status` and the queue view: what differs between entries first."""
from __future__ import annotations

from exptui.query.overrides import full_text, override_items, summarize

PINNED = {"train.model": "lightgbm", "train.n_estimators": 100, "train.seed": 0}


def sweep(depth: int) -> dict[str, dict[str, object]]:
    return {"params.yaml": {**PINNED, "train.max_depth": depth}}


def test_items_name_other_files_and_deletions() -> None:
    items = override_items({"params.yaml": {"a.b": 1, "~old": None}, "conf/train.yaml": {"lr": 0.1}})
    assert [text for _, text in items] == ["a.b=1", "~old", "conf/train.yaml:lr=0.1"]
    assert full_text(None) == ""


def test_a_sweep_shows_what_varies_and_counts_the_rest() -> None:
    assert summarize([sweep(2), sweep(4), sweep(6)]) == [
        "train.max_depth=2 (+3 shared)", "train.max_depth=4 (+3 shared)", "train.max_depth=6 (+3 shared)"]


def test_one_entry_or_identical_entries_show_everything() -> None:
    assert summarize([sweep(2)]) == ["train.model=lightgbm train.n_estimators=100 train.seed=0 train.max_depth=2"]
    assert summarize([sweep(2), sweep(2)]) == [full_text(sweep(2))] * 2
    assert summarize([]) == []


def test_a_key_missing_from_some_entries_counts_as_varying() -> None:
    a = {"params.yaml": {"lr": 0.1, "seed": 1}}
    b = {"params.yaml": {"seed": 1}}
    assert summarize([a, b]) == ["lr=0.1 (+1 shared)", "(+1 shared)"]


def summarize_as_first_written(all_overrides: list[dict[str, dict[str, object]] | None]) -> list[str]:
    """`summarize` as first written (a list of items per entry, label by label): the flat-column version must
    give the same texts (here and in test_queue_status_table)."""
    items = [override_items(o) if o else [] for o in all_overrides]
    if len(items) < 2:
        return [" ".join(t for _, t in it) for it in items]
    texts_by_label: dict[str, set[str]] = {}
    present: dict[str, int] = {}
    for entry in items:
        for label, text in entry:
            texts_by_label.setdefault(label, set()).add(text)
            present[label] = present.get(label, 0) + 1
    shared = {label for label, texts in texts_by_label.items() if len(texts) == 1 and present[label] == len(items)}
    if not shared or len(shared) == len(texts_by_label):
        return [" ".join(t for _, t in it) for it in items]
    out = []
    for entry in items:
        varying = [text for label, text in entry if label not in shared]
        n_shared = len(entry) - len(varying)
        out.append(" ".join(varying + ([f"(+{n_shared} shared)"] if n_shared else [])))
    return out


def test_summarize_gives_the_reference_texts_on_random_sweeps() -> None:
    """Random lists of overrides (several files, deletions, empty and missing overrides, labels that collide
    across files such as `a:b`): the same texts as the reference."""
    import random

    rng = random.Random(3)

    def one() -> dict[str, dict[str, object]] | None:
        if rng.random() < 0.1:
            return rng.choice([None, {}, {"params.yaml": {}}])
        return {file: {rng.choice(["a", "b", "~c", "a:b", "x.y"]): rng.choice([None, 1, 2, "s", 0.5])
                       for _ in range(rng.randint(0, 4))}
                for file in rng.sample(["params.yaml", "o.yaml", "a", ""], rng.randint(1, 3))}

    for _ in range(3000):
        base = one()
        entries = [rng.choice([base, base, one()]) for _ in range(rng.randint(0, 7))]
        assert summarize(entries) == summarize_as_first_written(entries), entries
    sweep_of_one = [{"params.yaml": {"train.lr": i}} for i in range(50)]
    assert summarize(sweep_of_one) == [f"train.lr={i}" for i in range(50)]
