"""This repository is itself an example project (issue 12): the root `dvc.yaml` runs the churn pipeline's code from
`pipelines/churn/src`, with the root `params.yaml`, `.dvc/` and `.dvcignore`.

The end-to-end test clones the committed HEAD of this checkout (uncommitted changes are not in the clone) and does
what the README tells a new user to do there, with exptui and with the real `dvc` side by side.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BIN, PIPELINES, ROOT, git

DVC = str(BIN / "dvc")
EXPTUI = [str(BIN / "exptui")] if (BIN / "exptui").exists() else [sys.executable, "-m", "exptui"]
CHURN_STAGES = ["generate", "prepare", "train", "evaluate"]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    """DVC's nested params/metrics as exptui's dotted keys."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _dvc_values(row: dict) -> tuple[dict, dict]:
    """(params, metrics) of one `dvc exp show --json` row, as {file: {dotted.key: value}}."""
    data = row["data"]
    return ({f: _flat(v.get("data", {})) for f, v in (data.get("params") or {}).items()},
            {f: _flat(v.get("data", {})) for f, v in (data.get("metrics") or {}).items()})


# --- the files at the root agree with pipelines/churn (fast) ---------------------------------------------------------


def test_root_params_are_the_churn_params() -> None:
    """`exptui demo` copies pipelines/churn/params.yaml; the root project must start from the same values."""
    assert _load(ROOT / "params.yaml") == _load(PIPELINES / "churn" / "params.yaml")


def test_root_dvc_yaml_is_the_churn_pipeline_run_from_the_root() -> None:
    """Same stages, params, outputs and plots as pipelines/churn/dvc.yaml; only the code paths point into
    pipelines/churn/src (one copy of the code), so outputs land at the root (data/, models/, metrics.yaml, plots/)."""
    root, churn = _load(ROOT / "dvc.yaml"), _load(PIPELINES / "churn" / "dvc.yaml")

    def moved(item: Any) -> Any:
        if isinstance(item, str):
            return item.replace("src/", "pipelines/churn/src/")
        if isinstance(item, list):
            return [moved(i) for i in item]
        if isinstance(item, dict):
            return {moved(k): moved(v) for k, v in item.items()}
        return item

    assert list(root["stages"]) == CHURN_STAGES
    assert root["stages"] == moved(churn["stages"])
    assert root["plots"] == churn["plots"]
    for stage in root["stages"].values():
        for dep in stage["deps"]:
            assert (ROOT / dep).is_file() or not dep.startswith("pipelines/"), dep


def test_root_has_dvc_inits_files_and_ignores_the_example_pipelines() -> None:
    """`.dvc/` holds what `dvc init` (and `exptui init`) writes; the root `.dvcignore` hides pipelines/*/dvc.yaml so
    that exptui and DVC see one project here, and keeps DVC out of the virtualenvs."""
    from dvc_compat.config import DVC_GITIGNORE, DVCIGNORE_TEXT
    from dvc_compat.dvcyaml import find_dvcfiles
    from dvc_compat.ignore import DvcIgnore

    assert (ROOT / ".dvc" / "config").read_text() == ""
    assert (ROOT / ".dvc" / ".gitignore").read_text() == DVC_GITIGNORE
    assert (ROOT / ".dvcignore").read_text().startswith(DVCIGNORE_TEXT)
    ignore = DvcIgnore(ROOT)
    assert ignore.is_ignored("pipelines/churn/dvc.yaml") and ignore.is_ignored("pipelines/sentiment/dvc.yaml")
    assert not ignore.is_ignored("pipelines/churn/src/train.py") and not ignore.is_ignored("pipelines/churn/params.yaml")
    assert ignore.is_ignored(".venv", is_dir=True)
    found = find_dvcfiles(ROOT)  # (a developer's own untracked pipelines may add more; none under pipelines/)
    assert found[0] == "dvc.yaml" and not [p for p in found if p.startswith("pipelines/")], found


# --- a fresh clone, end to end (slow: runs the pipeline and one queued experiment) ------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`git clone --no-hardlinks` of this checkout at its committed HEAD."""
    try:
        head = git(ROOT, "rev-parse", "HEAD").strip()
        tracked = git(ROOT, "ls-tree", "--name-only", head, "dvc.yaml").strip()
    except subprocess.CalledProcessError:
        pytest.skip("not a git checkout of exptui")
    if tracked != "dvc.yaml":
        pytest.skip("HEAD has no root dvc.yaml yet (commit it first)")
    dest = tmp_path_factory.mktemp("example-project") / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", "--no-checkout", str(ROOT), str(dest)], check=True,
                   capture_output=True, text=True, timeout=300)
    git(dest, "checkout", "-q", "-B", "main", head)
    return dest


@pytest.mark.slow
@pytest.mark.dvc
def test_fresh_clone_repro_show_queue_and_real_dvc_agree(clone: Path) -> None:
    # 1. DVC sees one project at the root: the example pipelines under pipelines/ are .dvcignore'd
    stages = _run([DVC, "stage", "list", "--all", "--name-only"], clone, 120).stdout.split()
    assert stages == CHURN_STAGES

    # 2. the baseline runs with exptui's engine; DVC agrees it is up to date, git that nothing unexpected changed
    _run([*EXPTUI, "repro"], clone)
    for out in ("data/churn.csv", "data/prepared/test.csv", "models/model.joblib", "metrics.yaml", "plots/roc.csv"):
        assert (clone / out).is_file(), out
    assert "Data and pipelines are up to date." in _run([DVC, "status"], clone, 120).stdout
    changed = {line[3:] for line in git(clone, "status", "--porcelain").splitlines()}
    assert changed <= {"dvc.lock", "metrics.yaml", "plots/roc.csv", "plots/train_curve.csv", "dvclive/metrics.json",
                       "dvclive/plots/metrics/train/logloss.tsv", "dvclive/plots/metrics/test/logloss.tsv"}, changed

    # 3. one queued experiment, run by a worker
    _run([*EXPTUI, "run", "--queue", "-S", "train.max_depth=3", "-n", "shallow"], clone)
    _run([*EXPTUI, "queue", "start", "--wait"], clone, 600)

    # 4. exptui and DVC list the same rows with the same params and metrics
    ours = {row["name"]: row for row in json.loads(_run([*EXPTUI, "show", "--json"], clone).stdout)}
    assert set(ours) == {"workspace", "main", "shallow"}, list(ours)
    for row in ours.values():
        assert row["errors"] == {}, row  # nothing read from the ignored pipelines/*/dvc.yaml
        assert set(row["metrics"]["metrics.yaml"]) == {"accuracy", "f1", "precision", "recall", "roc_auc"}
    assert ours["main"]["kind"] == "baseline" and ours["shallow"]["kind"] == "experiment"
    assert ours["shallow"]["params"]["params.yaml"]["train.max_depth"] == 3
    assert ours["workspace"]["params"]["params.yaml"]["train.max_depth"] == 5

    theirs_json = json.loads(_run([DVC, "exp", "show", "--json"], clone, 120).stdout)
    theirs: dict[str, dict] = {}
    for row in theirs_json:
        theirs["workspace" if row["rev"] == "workspace" else row["name"]] = row
        for exp in row.get("experiments") or []:
            for rev in exp["revs"]:
                theirs[rev["name"]] = rev
    assert set(theirs) == set(ours), list(theirs)
    for name, row in ours.items():
        params, metrics = _dvc_values(theirs[name])
        assert params == row["params"], name
        assert metrics == row["metrics"], name

    # 5. the dashboard shows the same three rows, baseline metrics included
    assert asyncio.run(_dashboard_rows(clone)) == [("workspace", "workspace", ours["workspace"]["metrics"]),
                                                   ("baseline", "main", ours["main"]["metrics"]),
                                                   ("experiment", "shallow", ours["shallow"]["metrics"])]


async def _dashboard_rows(repo: Path) -> list[tuple[str, str, dict]]:
    """(kind, name, metrics) of the rows the real Textual app shows once it has loaded."""
    from exptui.project import Project
    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState
    from tests.tui_support import settled

    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, lambda: app.reloads > 0 and len(app.main.table.rows) >= 3, "the clone's rows loaded")
        header = app.main.table.render_line(0).text
        assert "metrics.yaml" in header and "params.yaml" in header
        return [(str(r.kind), r.name, r.metrics) for r in app.main.table.rows]
