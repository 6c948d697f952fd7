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
