"""`exptui show --filter/--sort-by/--sort-order/--limit` (issue 13): the pushed-down path prints what the unpushed
one does (the whole listing filtered, then sorted, then cut), on a real repo with ties, missing and unreadable
values, queued/failed/cancelled entries and several baselines."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from exptui.project import Project
from exptui.query.sort import parse_sort_spec
from exptui.query.table import TableModel

try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, fail_first_cancel_second, git, import_experiments, make_pipeline
except ImportError:  # pragma: no cover
    from test_store_support import exptui, fail_first_cancel_second, git, import_experiments, make_pipeline

# (f1, lr, extra metrics text): ties in f1 and lr, a row without f1, one whose metrics file does not parse
_EXPS = [
    (0.5, 0.1, None), (0.7, 0.2, None), (0.5, 0.3, None), (None, 0.1, None), (0.9, 0.2, None),
    (0.7, 0.1, None), (0.2, 0.4, "{not json"), (0.9, 0.3, None),
]


def _experiments(repo: Path, baseline: str, prefix: str, start: int) -> None:
    """Experiment commits under `baseline` in DVC's ref layout, one `git fast-import` stream."""
    experiments = []
    for i, (f1, lr, broken) in enumerate(_EXPS):
        # `seed` is text in one row (a mixed column), and the newest row has its metrics in another order: the
        # columns' order and kinds over the whole listing differ from those over the printed rows alone
        params = f"train:\n  lr: {lr}\n  epochs: 3\nseed: {'x' if i == 3 else i % 3}\n".encode()
        values = {"acc": lr * 2} | ({} if f1 is None else {"f1": f1}) | {"loss": i / 10, "auc": 1 - i / 10}
        metrics = (broken or json.dumps(dict(reversed(values.items())) if i == 7 else values)).encode()
        experiments.append((f"{prefix}{i}", params, metrics))
    import_experiments(repo, baseline, experiments, start)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("pushdown") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "init")
    make_pipeline(repo)
    old = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "old")  # a branch tip with experiments: listed without -A
    _experiments(repo, old, "o", 1_700_000_000)
    (repo / "README").write_text("v2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")
    head = git(repo, "rev-parse", "HEAD").strip()
    _experiments(repo, head, "h", 1_700_001_000)
    git(repo, "checkout", "-q", "-b", "tmp", "HEAD~1")  # a baseline that is no branch tip: only with -A
    (repo / "README").write_text("side\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "side")
    side = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "tmp")
    _experiments(repo, side, "s", 1_700_002_000)
    exptui(repo, "run", "--queue", "-S", "train.lr=0.6,0.7,0.8")
    fail_first_cancel_second(repo)
    return repo


def _unpushed(repo: Path, filter_: str | None, sort: str | None, desc: bool, limit: int | None,
              all_commits: bool) -> list[dict]:
    """The whole listing (copied rows) through the table model, then cut to `limit` rows."""
    with Project.open(repo) as project:
        rows = project.experiments(all_commits=all_commits)
        table = TableModel(rows, head=project.git.rev_parse("HEAD"))
        if filter_:
            table.set_filter(filter_)
        if sort:
            table.set_sort(parse_sort_spec(sort, table.index, default_descending=desc))
        records = table.to_json_records()
    return json.loads(json.dumps(records[:limit] if limit is not None else records))


CASES = [  # filter, sort, order, limit, -A
    ("f1 > 0.4", "f1", "desc", 5, False),
    ("f1 > 0.4", "f1", None, 5, True),
    (None, "train.lr,f1:asc", "desc", 12, True),
    (None, "f1", None, None, True),
    ("acc >= 0.2 or status == 'failed'", "acc", "desc", 30, True),
    ("f1 > 0.4", None, None, 3, False),
    ("f1 > 2", "f1", None, 0, True),
]


@pytest.mark.parametrize("filter_,sort,order,limit,all_commits", CASES)
def test_pushdown_equals_filter_then_sort_then_limit(repo: Path, filter_: str | None, sort: str | None,
                                                     order: str | None, limit: int | None, all_commits: bool) -> None:
    args = (["--filter", filter_] if filter_ else []) + (["--sort-by", sort] if sort else [])
    args += (["--sort-order", order] if order else []) + ([] if limit is None else ["--limit", str(limit)])
    args += ["-A"] if all_commits else []
    got = json.loads(exptui(repo, "show", "--json", *args).stdout)
    want = _unpushed(repo, filter_, sort, order == "desc", limit, all_commits)
    assert got == want
    if limit is not None:
        assert len(got) <= limit
    if limit not in (5, 30):
        return
    # the CSV prints the same rows in the same order
    csv = exptui(repo, "show", "--csv", *args).stdout.splitlines()[1:]
    assert [line.split(",")[:2] for line in csv] == [[r["name"], r["rev"]] for r in got]


def test_the_fixture_has_what_the_cases_need(repo: Path) -> None:
    rows = _unpushed(repo, None, None, False, None, True)
    kinds = {(r["kind"], r["status"]) for r in rows}
    assert {("queued", "queued"), ("queued", "failed"), ("queued", "cancelled")} <= kinds
    assert len([r for r in rows if r["kind"] == "baseline"]) == 3
    assert any("metrics.json" in r["errors"] for r in rows)  # an unreadable value
    assert any(r["kind"] == "experiment" and "f1" not in r["metrics"].get("metrics.json", {"f1": 0})
               for r in rows)  # a missing value
    # without -A the side baseline's experiments are not listed
    assert not any(r["name"].startswith("s") and r["kind"] == "experiment"
                   for r in _unpushed(repo, None, None, False, None, False))


def test_sort_order_desc_is_sort_by_desc(repo: Path) -> None:
    a = exptui(repo, "show", "--json", "--sort-by", "f1", "--sort-order", "desc").stdout
    b = exptui(repo, "show", "--json", "--sort-by", "f1:desc").stdout
    c = exptui(repo, "show", "--json", "--sort-by", "f1:asc", "--sort-order", "desc").stdout
    assert a == b and a != c  # the order applies to keys that name no direction of their own
    head_exps = [r for r in json.loads(a) if r["kind"] == "experiment" and r["baseline_name"] == "main"]
    f1s = [r["metrics"].get("metrics.json", {}).get("f1") for r in head_exps]
    present = [v for v in f1s if v is not None]
    assert present == sorted(present, reverse=True) and f1s == present + [None] * (len(f1s) - len(present))


def test_limit_in_the_text_table_keeps_the_tree(repo: Path) -> None:
    out = exptui(repo, "show", "--sort-by", "f1", "--sort-order", "desc", "--limit", "4").stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert any("└──" in line for line in lines)
    full = exptui(repo, "show", "--json", "--sort-by", "f1", "--sort-order", "desc").stdout
    names = [r["name"] for r in json.loads(full)][:4]
    assert all(any(name in line for line in lines) for name in names)


@pytest.mark.parametrize("args,needle", [
    (["--sort-by", "nope"], "nope"),
    (["--sort-by", "f1:sideways"], "sideways"),
    (["--filter", "f1 >"], "error:"),
    (["--filter", "nope > 1"], "nope"),
    (["--limit", "-1"], "--limit"),
    (["--limit", "x"], "--limit"),
    (["--sort-order", "desc"], "--sort-by"),
    (["--sort-by", "f1", "--sort-order", "down"], "--sort-order"),
])
def test_bad_sort_filter_or_limit_is_one_clear_line(repo: Path, args: list[str], needle: str) -> None:
    proc = exptui(repo, "show", "--json", *args, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: ") and needle in proc.stderr
    if not args[0] == "--filter":  # a filter error adds the expression and a caret under the mistake
        assert len(proc.stderr.strip().splitlines()) == 1


def _whole_table_output(repo: Path, fmt: str, filter_: str | None, sort: str | None, desc: bool,
                        limit: int | None, extra: dict[str, Any]) -> str:
    """What the table over the whole listing (full, copied rows) prints, as the CLI writes it into a pipe."""
    with Project.open(repo) as project:
        table = TableModel(project.experiments(all_commits=True), head=project.git.rev_parse("HEAD"))
        if filter_:
            table.set_filter(filter_)
        if sort:
            table.set_sort(parse_sort_spec(sort, table.index, default_descending=desc))
        if limit is not None:
            table.set_limit(limit)
        if extra.get("only_changed"):
            table.set_only_changed(True)
        if extra.get("drop"):
            table.set_drop(extra["drop"])
        if fmt == "--json":
            return table.to_json() + "\n"
        if fmt == "--csv":
            return table.to_csv(None)
        if fmt == "--md":
            return table.to_markdown()
        return table.render_text(width=None)


@pytest.mark.parametrize("fmt", ["--json", "--csv", "--md", "text"])
@pytest.mark.parametrize("filter_,sort,limit,extra", [
    ("f1 > 0.4", "f1", 5, {}),
    ("acc >= 0.2 or status == 'failed'", "train.lr,f1:asc", 9, {"only_changed": True}),
    ("f1 > 0.4 and seed != 1", None, None, {"drop": ["seed"]}),
    (None, "f1", 4, {}),
    ("f1 > 2", "f1", 3, {}),                      # nothing matches: the listing's total is still right
    ("train.lr >= 0.3", "acc", 0, {}),
    (None, "f1", None, {}),                       # a sort over everything: every row printed (indented in C)
    (None, None, None, {"only_changed": True}),   # --only-changed over everything
])
def test_pushed_down_output_is_byte_identical_in_every_format(repo: Path, fmt: str, filter_: str | None,
                                                              sort: str | None, limit: int | None,
                                                              extra: dict[str, Any]) -> None:
    """Filter, sort and limit run over rows holding only the columns they name (the index's per-column store),
    then only the printed rows are read in full: every output format is the whole table's, byte for byte (the
    columns, their order and kinds come from the index's schemas). `created` is dropped from the text and
    Markdown tables, which may show it relative to now."""
    args = (["--filter", filter_] if filter_ else []) + (["--sort-by", sort, "--sort-order", "desc"] if sort else [])
    args += ([] if limit is None else ["--limit", str(limit)]) + ["-A"]
    args += ["--only-changed"] if extra.get("only_changed") else []
    if fmt in ("--md", "text"):
        extra = {**extra, "drop": [*extra.get("drop", []), "created"]}
    args += [a for pattern in extra.get("drop", []) for a in ("--drop", pattern)]
    got = exptui(repo, "show", *([] if fmt == "text" else [fmt]), *args).stdout
    assert got == _whole_table_output(repo, fmt, filter_, sort, True, limit, extra)
