"""Compare view (transposed, deltas vs the first experiment) and the two-experiment diff."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from exptui.query.columns import ERROR, MISSING
from exptui.query.compare import compare, diff, diff_to_json, diff_to_markdown, diff_to_text
from exptui.query.direction import Directions
from exptui.records import RunFacts
from test_query_columns import make_row


@pytest.fixture
def exps():
    a = make_row("ref", created=datetime(2026, 11, 23, 9, 0),
                 params={"params.yaml": {"train.lr": 0.1, "seed": 1, "model": "rf"}},
                 metrics={"metrics.json": {"acc": 0.8, "loss": 0.5}},
                 facts=RunFacts(duration=60.0, host="box", python="3.11.7", packages_digest="ab" * 32))
    b = make_row("better", created=datetime(2026, 11, 23, 10, 0),
                 params={"params.yaml": {"train.lr": 0.01, "seed": 1, "model": "rf"}},
                 metrics={"metrics.json": {"acc": 0.9, "loss": 0.25}},
                 facts=RunFacts(duration=30.0, host="box", python="3.11.7", packages_digest="cd" * 32))
    c = make_row("broken", status="failed", params={"params.yaml": {"train.lr": 1.0, "seed": 1, "model": "lgbm"}},
                 errors={"metrics.json": "bad"}, facts=RunFacts(error="stage train exited with 1"))
    return [a, b, c]


def line(comparison, label):
    (found,) = [ln for ln in comparison.lines if ln.label == label]
    return found


def test_compare_lines_deltas_and_flags(exps) -> None:
    c = compare(exps)
    assert c.names == ["ref", "better", "broken"]
    assert [ln.section for ln in c.lines][:5] == ["metrics", "metrics", "params", "params", "params"]
    acc = line(c, "acc")
    assert acc.values == (0.8, 0.9, ERROR) and acc.texts == ("0.8", "0.9", "!") and acc.differs
    assert acc.deltas[0].abs is None
    assert acc.deltas[1].abs == pytest.approx(0.1) and acc.deltas[1].rel == pytest.approx(0.125)
    assert acc.deltas[1].better is True and acc.deltas[2].abs is None
    loss = line(c, "loss")
    assert loss.deltas[1].better is True and loss.deltas[1].rel == pytest.approx(-0.5)
    lr = line(c, "train.lr")
    assert lr.deltas[1].better is None and lr.deltas[1].abs == pytest.approx(-0.09)
    assert not line(c, "seed").differs
    assert line(c, "duration").texts == ("1m00s", "30s", "-") and line(c, "duration").deltas[1].better is True
    assert line(c, "status").values == ("success", "success", "failed")
    assert line(c, "packages digest").texts[:2] == ("abababababab", "cdcdcdcdcdcd")
    assert line(c, "failure").texts[2] == "stage train exited with 1"
    assert "command" not in [ln.label for ln in c.lines]  # a fact nobody has is left out


def test_compare_diff_only_keeps_facts(exps) -> None:
    c = compare(exps, diff_only=True)
    labels = [ln.label for ln in c.lines]
    assert "seed" not in labels and "train.lr" in labels and "model" in labels
    assert "host" in labels  # facts stay


def test_compare_directions_override(exps) -> None:
    c = compare(exps[:2], directions=Directions({"acc": "lower"}))
    assert line(c, "acc").deltas[1].better is False


def test_compare_markdown_for_pr(exps) -> None:
    md = compare(exps[:2]).to_markdown()
    lines = md.splitlines()
    assert lines[0] == "|  | ref (reference) | better |"
    assert lines[1] == "|:---|---:|---:|"
    assert "| **metrics** | | |" in lines
    assert "| **acc** | 0.8 | **0.9** (+0.1, +12.5%) ✅ |" in lines
    assert "| **loss** | 0.5 | **0.25** (-0.25, -50.0%) ✅ |" in lines
    assert "| seed | 1 | 1 |" in lines
    assert all(ln.count("|") == 4 for ln in lines)
    assert compare([]).to_markdown() == "_no experiments to compare_\n"


def test_compare_text_and_json(exps) -> None:
    text = compare(exps).to_text()
    assert any(ln.startswith("≠ acc") for ln in text.splitlines())
    assert any(ln.startswith("  seed") for ln in text.splitlines())
    data = compare(exps).to_json()
    json.dumps(data, allow_nan=False)
    acc = [ln for ln in data["lines"] if ln["label"] == "acc"][0]
    assert acc["values"] == [0.8, 0.9, None] and acc["deltas"][0] is None and acc["deltas"][1]["better"] is True


def test_diff(exps) -> None:
    a, b, c = exps
    rows = diff(a, b)
    assert [(r.column.id, r.old, r.new) for r in rows] == [
        ("metrics:metrics.json:acc", 0.8, 0.9), ("metrics:metrics.json:loss", 0.5, 0.25),
        ("params:params.yaml:train.lr", 0.1, 0.01)]
    assert rows[0].abs_change == pytest.approx(0.1) and rows[0].rel_change == pytest.approx(0.125)
    assert rows[1].better is True
    assert len(diff(a, b, include_unchanged=True)) == 5
    rows = diff(a, c)
    assert [(r.column.key, r.old, r.new) for r in rows] == [
        ("acc", 0.8, ERROR), ("loss", 0.5, ERROR), ("train.lr", 0.1, 1.0), ("model", "rf", "lgbm")]
    assert rows[0].abs_change is None
    new_key = make_row("x", metrics={"metrics.json": {"acc": 0.8, "auc": 0.6}})
    (only,) = [r for r in diff(a, new_key) if r.column.key == "auc"]
    assert only.old is MISSING and only.new == 0.6


def test_diff_outputs(exps) -> None:
    a, b, c = exps
    data = diff_to_json(diff(a, c))
    assert data["metrics"]["metrics.json"]["acc"] == {"old": 0.8, "new": "!"}
    assert data["params"]["params.yaml"]["model"] == {"old": "rf", "new": "lgbm"}
    lr = data["params"]["params.yaml"]["train.lr"]
    assert lr["old"] == 0.1 and lr["new"] == 1.0 and lr["diff"] == pytest.approx(0.9) and "better" not in lr
    json.dumps(data, allow_nan=False)
    md = diff_to_markdown(diff(a, b), "ref", "better").splitlines()
    assert md[0] == "| Path | Key | ref | better | Change |"
    assert md[2] == "| metrics.json | acc | 0.8 | 0.9 | +0.1 (+12.5%) |"
    text = diff_to_text(diff(a, c), "ref", "broken").splitlines()
    assert text[0].split() == ["Path", "Key", "ref", "broken", "Change"]
    assert text[-1].split() == ["params.yaml", "model", "rf", "lgbm", "changed"]
    assert diff_to_text([]) == "no differences\n"


def test_compare_shows_created_in_local_time() -> None:
    from datetime import timezone

    local = datetime(2026, 3, 10, 0, 30)
    row = make_row("a", created=local.astimezone(timezone.utc), metrics={"m.json": {"acc": 1}})
    assert line(compare([row]), "created").texts == ("2026-03-10 00:30",)


def test_compare_names_the_search_of_trials_and_stays_quiet_without_one(exps) -> None:
    from dataclasses import replace

    assert "search" not in [ln.label for ln in compare(exps).lines]
    trials = [replace(r, facts=replace(r.facts or RunFacts(), search="17-x", search_name="tpe-3f9a1c"))
              for r in exps[:2]]
    found = line(compare([*trials, exps[2]]), "search")
    assert found.section == "facts" and found.values[:2] == ("tpe-3f9a1c", "tpe-3f9a1c")
    assert found.values[2] is MISSING
