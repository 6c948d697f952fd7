"""DVC's everyday commands in exptui (issue 12): `params diff`, `metrics diff`, `plots diff`, `exp save`,
`repro --dry/--downstream/--keep-going`, and `push`/`pull` of the DVC remote's data, each judged by the real `dvc`
on the same small repo (`--json` forms compared as data)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import git
from tests.interop_support import _module_env, dvc, exptui  # noqa: F401 - the autouse fixture

pytestmark = pytest.mark.dvc


TRAIN_PY = """\
import json, os, yaml
p = yaml.safe_load(open("params.yaml"))
os.makedirs("model", exist_ok=True)
open("model/weights.bin", "w").write("w" * p["train"]["depth"] + p["model"])
json.dump({"acc": p["train"]["lr"] * 3.33333333, "n": p["train"]["depth"], "nested": {"f1": 0.5}},
          open("metrics.json", "w"))
with open("curve.csv", "w") as f:
    f.write("step,loss\\n" + "".join(f"{i},{p['train']['lr'] / (i + 1):.4f}\\n" for i in range(5)))
"""

PARAMS = """\
train:
  lr: 0.1
  depth: 3
  layers: [1, 2]
model: a
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train, model]
    outs: [model]
    metrics: [metrics.json: {cache: false}]
    plots: [curve.csv: {cache: false, x: step, y: loss}]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC repo: one stage (params, a cached directory out, a metrics file, a plots file) run by `dvc repro` and
    committed; then params changed and run again in the workspace (uncommitted), and saved by DVC as `saved1`."""
    repo = tmp_path_factory.mktemp("small") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    for name, text in {"train.py": TRAIN_PY, "params.yaml": PARAMS, "dvc.yaml": DVC_YAML}.items():
        (repo / name).write_text(text)
    dvc(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    (repo / "params.yaml").write_text(PARAMS.replace("lr: 0.1", "lr: 0.2").replace("depth: 3", "depth: 4")
                                      .replace("model: a", "model: b").replace("[1, 2]", "[1, 3]"))
    dvc(repo, "repro", "-q")
    dvc(repo, "exp", "save", "-n", "saved1")
    return repo


def copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


# --- params diff / metrics diff ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--all"], ["saved1", "HEAD"]], ids=["workspace-all", "exp-name"])
@pytest.mark.parametrize("section", ["params", "metrics"])
def test_params_and_metrics_diff_json_equal_dvcs(small: Path, section: str, args: list[str]) -> None:
    theirs = json.loads(dvc(small, section, "diff", "--json", *args).stdout)
    ours = json.loads(exptui(small, section, "diff", "--json", *args).stdout)
    assert theirs, "the repo must have something to compare"
    assert ours == theirs


def test_params_and_metrics_diff_tables_have_dvcs_rows(small: Path) -> None:
    """The same header (old rev, new rev) and the same rows and cells as DVC's table; metrics rounded to 5 digits
    after the point, `--precision` changes it, `--md` a GitHub table; nothing changed prints nothing."""
    for section, extra in (("params", []), ("metrics", []), ("metrics", ["--precision", "2", "--all"])):
        theirs = [line.split() for line in dvc(small, section, "diff", *extra).stdout.splitlines()]
        ours = [line.split() for line in exptui(small, section, "diff", *extra).stdout.splitlines()]
        assert ours == theirs, (section, extra)
    md = exptui(small, "params", "diff", "--md").stdout.splitlines()
    assert md[0].split("|")[1:-1] == [" Path        ", " Param        ", " HEAD   ", " workspace "]
    assert md[2] == "| params.yaml | model        | a      | b         |"
    assert exptui(small, "metrics", "diff", "saved1", "workspace").stdout == ""
    bad = exptui(small, "params", "diff", "nope", check=False)
    assert bad.returncode != 0 and bad.stderr.strip().splitlines() == \
        ["error: no experiment or revision named 'nope'"]


# --- exp save ---------------------------------------------------------------------------------------------------

def _exp_ref(repo: Path, name: str) -> str:
    refs = [r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split() if r.endswith("/" + name)]
    assert len(refs) == 1, refs
    return refs[0]


def _tree(repo: Path, rev: str) -> list[str]:
    """Blobs of a commit; DVC's `exp save` also commits its own `.dvc/tmp/repro.dat` (force-added): left out."""
    return [line for line in git(repo, "ls-tree", "-r", rev).splitlines() if not line.endswith(".dvc/tmp/repro.dat")]


def test_exp_save_records_what_dvc_exp_save_records(small: Path, tmp_path: Path) -> None:
    """Params changed and an out edited by hand, nothing run: `exptui exp save -n X` and `dvc exp save -n X` on two
    copies make the same experiment (same tree: dvc.lock, params, metrics; same `dvc: commit experiment <hash>`
    line), dvc lists exptui's, both leave `dvc status` clean and the out in the cache; a taken name fails in both
    until `-f`."""
    ours, theirs = copy(small, tmp_path / "ours"), copy(small, tmp_path / "theirs")
    for repo in (ours, theirs):
        (repo / "params.yaml").write_text((repo / "params.yaml").read_text().replace("lr: 0.2", "lr: 0.5"))
        (repo / "model" / "weights.bin").write_text("edited by hand\n")
    dvc(theirs, "exp", "save", "-n", "X")
    out = exptui(ours, "exp", "save", "-n", "X")
    assert out.stdout.strip() == "Experiment has been saved as: X"
    a, b = _exp_ref(ours, "X"), _exp_ref(theirs, "X")
    assert a == b
    assert _tree(ours, a) == _tree(theirs, b)
    assert git(ours, "log", "-1", "--format=%s", a) == git(theirs, "log", "-1", "--format=%s", b)
    assert "Data and pipelines are up to date." in dvc(ours, "status").stdout
    listed = json.loads(dvc(ours, "exp", "show", "--json").stdout)
    names = {e["name"] for x in listed for group in (x.get("experiments") or []) for e in group["revs"]}
    assert {"X", "saved1"} <= names
    # the edited out went to the cache: a clean copy gets it back from `dvc exp apply`
    (ours / "model" / "weights.bin").unlink()
    dvc(ours, "exp", "apply", "X")
    assert (ours / "model" / "weights.bin").read_text() == "edited by hand\n"

    again = exptui(ours, "exp", "save", "-n", "X", check=False)
    assert again.returncode != 0 and dvc(theirs, "exp", "save", "-n", "X", check=False).returncode != 0
    assert again.stderr.strip() == \
        "error: experiment 'X' already exists for baseline main; use -f to replace it or choose another name"
    assert exptui(ours, "exp", "save", "-n", "X", "-f").returncode == 0


def test_exp_save_refuses_missing_outputs_in_one_line(small: Path, tmp_path: Path) -> None:
    repo = copy(small, tmp_path / "repo")
    shutil.rmtree(repo / "model")
    proc = exptui(repo, "exp", "save", "-n", "Y", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip() == ("error: stage 'train': output 'model' does not exist; run `exptui repro` (or "
                                   "restore it) first; nothing was saved")
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps/").split()
    assert [r for r in refs if "/exec/" not in r] == [_exp_ref(repo, "saved1")]


# --- repro --dry / --downstream / --keep-going ------------------------------------------------------------------

BRANCHY = """\
stages:
  a:
    cmd: echo a >> runs.log && cat seed > a.txt
    deps: [seed]
    outs: [a.txt]
  b:
    cmd: echo b >> runs.log && cat a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: echo c >> runs.log && test ! -f fail && cat a.txt > c.txt
    deps: [a.txt]
    outs: [c.txt]
  d:
    cmd: echo d >> runs.log && cat c.txt > d.txt
    deps: [c.txt]
    outs: [d.txt]
  e:
    cmd: echo e >> runs.log && cat seed seed > e.txt
    deps: [seed]
    outs: [e.txt]
"""


@pytest.fixture(scope="module")
def branchy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a -> b, a -> c -> d, and e on its own, all run by `dvc repro` and committed; `seed` then changed."""
    repo = tmp_path_factory.mktemp("branchy") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    (repo / "dvc.yaml").write_text(BRANCHY)
    (repo / "seed").write_text("1\n")
    (repo / ".gitignore").write_text("runs.log\nfail\n")
    dvc(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    (repo / "runs.log").unlink()
    (repo / "seed").write_text("2\n")
    return repo


def _ran(repo: Path) -> list[str]:
    log = repo / "runs.log"
    return log.read_text().split() if log.exists() else []


def test_repro_dry_runs_nothing_and_names_what_dvc_would_run(branchy: Path, tmp_path: Path) -> None:
    repo = copy(branchy, tmp_path / "repo")
    (repo / "dvc.yaml").write_text(BRANCHY.replace("cat a.txt > c.txt", "cat a.txt a.txt > c.txt"))
    git(repo, "add", "dvc.yaml")
    (repo / "seed").write_text("1\n")   # only c's command changed
    lock = (repo / "dvc.lock").read_bytes()
    theirs = dvc(repo, "repro", "--dry").stdout
    ours = exptui(repo, "repro", "--dry").stdout
    assert _ran(repo) == [] and (repo / "dvc.lock").read_bytes() == lock
    dvc_runs = {line.split("'")[1] for line in theirs.splitlines() if line.startswith("Running stage")}
    our_runs = {line.split("'")[1] for line in ours.splitlines()
                if line.startswith("Would run stage") and not line.endswith("changes its deps")}
    assert dvc_runs == our_runs == {"c"}
    lines = ours.splitlines()
    assert lines[lines.index("Would run stage 'c'") + 1] == "  because changed command"
    # what dvc's dry run calls unchanged because nothing ran before it: named with the stage it waits for
    assert "Would run stage 'd' if its upstream changes its deps" in lines
    assert "Stage 'e' didn't change, skipping" in lines
    assert exptui(repo, "status").stdout.startswith("c:")   # still changed: nothing was run


def test_repro_dry_names_outputs_restored_from_the_cache_as_dvc_does(branchy: Path, tmp_path: Path) -> None:
    repo = copy(branchy, tmp_path / "repo")
    (repo / "seed").write_text("1\n")
    (repo / "b.txt").unlink()
    assert "Stage 'b' is cached - skipping run, checking out outputs" in dvc(repo, "repro", "--dry").stdout
    lines = exptui(repo, "repro", "--dry").stdout.splitlines()
    assert lines[lines.index("Would restore stage 'b' from the cache") + 1] == "  because out b.txt: deleted"
    # c's out gone too: `dvc repro --dry` then fails on d (its dep is missing); exptui knows a restore brings back
    # what the lock records, so nothing downstream changes
    (repo / "c.txt").unlink()
    lines = exptui(repo, "repro", "--dry").stdout.splitlines()
    assert "Would restore stage 'c' from the cache" in lines and "Stage 'd' didn't change, skipping" in lines
    assert not (repo / "b.txt").exists() and not (repo / "c.txt").exists() and _ran(repo) == []


def test_repro_downstream_runs_the_stages_dvc_runs(branchy: Path, tmp_path: Path) -> None:
    """`--downstream a`: a and everything after it (not e); `--downstream c`: c and d only."""
    for target in ("a", "c"):
        ours, theirs = copy(branchy, tmp_path / f"ours-{target}"), copy(branchy, tmp_path / f"theirs-{target}")
        dvc(theirs, "repro", "--downstream", target)
        exptui(ours, "repro", "--downstream", target)
        assert sorted(_ran(ours)) == sorted(_ran(theirs)), target
        assert (ours / "dvc.lock").read_text() == (theirs / "dvc.lock").read_text(), target
    assert sorted(_ran(tmp_path / "ours-a")) == ["a", "b", "c", "d"]
    assert _ran(tmp_path / "ours-c") == []    # unchanged: c's dep a.txt is as the lock says
    assert exptui(branchy, "repro", "--downstream", check=False).returncode != 0


def test_repro_keep_going_runs_independent_stages_like_dvc(branchy: Path, tmp_path: Path) -> None:
    """c fails: b and e still run, d (after c) does not; both tools exit non-zero, the same lock entries are
    written, and exptui's error line names the failed and the skipped stage."""
    ours, theirs = copy(branchy, tmp_path / "ours"), copy(branchy, tmp_path / "theirs")
    for repo in (ours, theirs):
        (repo / "fail").write_text("")
    dvc_proc = dvc(theirs, "repro", "-k", check=False)
    proc = exptui(ours, "repro", "-k", check=False)
    assert dvc_proc.returncode != 0 and proc.returncode != 0
    assert sorted(_ran(ours)) == sorted(_ran(theirs)) == ["a", "b", "c", "e"]
    assert (ours / "dvc.lock").read_text() == (theirs / "dvc.lock").read_text()
    assert "Stage 'd' skipped: an upstream stage failed" in proc.stdout
    assert proc.stderr.startswith("error: failed to reproduce 'c'; skipped after the failure: 'd' (stage 'c' "
                                  "failed with exit code 1")
    # without -k the first failure stops everything after it in run order
    again = copy(branchy, tmp_path / "plain")
    (again / "fail").write_text("")
    assert exptui(again, "repro", check=False).returncode != 0
    assert "e" not in _ran(again)


# --- push/pull: the DVC remote's side ----------------------------------------------------------------------------

def test_push_pull_carry_cached_outputs_through_a_local_dvc_remote(small: Path, tmp_path: Path) -> None:
    """`exptui push` sends an experiment's cached outs to the DVC remote (DVC's layout: `dvc exp pull` in another
    clone gets them); a second clone's `exptui pull` fetches them and `exptui apply` restores the outputs;
    `--no-data` moves the refs only."""
    repo = copy(small, tmp_path / "repo")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    # in .dvc/config.local of each clone: the experiment commits predate the remote (DVC reads an experiment's
    # remote from its own commit, config.local from the workspace)
    store = str(tmp_path / "store")
    dvc(repo, "remote", "add", "-d", "--local", "store", store)

    pushed = exptui(repo, "push", "origin", "saved1")
    assert pushed.stdout.splitlines()[0] == "pushed 2 data object(s) (0 already there) - DVC remote 'store'"
    assert exptui(repo, "push", "origin", "saved1").stdout.startswith("pushed 0 data object(s) (2 already there)")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    dvc(clone, "remote", "add", "-d", "--local", "store", store)
    pulled = exptui(clone, "pull", "origin", "saved1")
    assert pulled.stdout.splitlines() == ["fetched 1 experiment ref(s) from origin",
                                          "pulled 2 data object(s) (0 already there) - DVC remote 'store'"]
    applied = exptui(clone, "apply", "saved1")
    assert "1 output(s) restored from the cache" in applied.stdout
    assert (clone / "model" / "weights.bin").read_text() == "wwwwb"
    assert "Data and pipelines are up to date." in dvc(clone, "status").stdout

    # DVC reads what exptui pushed
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    dvc(other, "remote", "add", "-d", "--local", "store", store)
    dvc(other, "exp", "pull", "origin", "saved1")
    dvc(other, "exp", "apply", "saved1")
    assert (other / "model" / "weights.bin").read_text() == "wwwwb"

    bare = tmp_path / "bare"
    git(tmp_path, "clone", "-q", str(remote), str(bare))
    dvc(bare, "remote", "add", "-d", "--local", "store", store)
    assert exptui(bare, "pull", "--no-data", "origin", "saved1").stdout.splitlines() == \
        ["fetched 1 experiment ref(s) from origin"]
    assert not (bare / ".dvc" / "cache").exists()
    assert "not in the local DVC cache" in exptui(bare, "apply", "saved1").stderr


def test_push_to_a_remote_exptui_cannot_reach_names_the_dvc_command(small: Path, tmp_path: Path) -> None:
    repo = copy(small, tmp_path / "repo")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    dvc(repo, "remote", "add", "-d", "s3store", "s3://bucket/path")
    proc = exptui(repo, "push", "origin", "saved1")
    assert proc.stderr.strip() == ("warning: DVC remote 's3store' (s3://bucket/path) is not a local path: exptui "
                                   "moves data only to and from local-path remotes; run: dvc exp push -r s3store "
                                   f"{remote} saved1".replace(f"{remote}", "origin"))
    assert proc.stdout.strip() == "pushed 1 experiment ref(s) to origin"
    unknown = exptui(repo, "push", "-r", "nope", "origin", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no DVC remote named 'nope' in .dvc/config (remotes: s3store)"


# --- plots diff ---------------------------------------------------------------------------------------------------

def test_plots_diff_has_dvcs_data_in_the_terminal_json_and_html(small: Path, tmp_path: Path) -> None:
    """The points of each revision are the ones `dvc plots diff --json` puts in its Vega data; the terminal chart
    has the file's title and a legend of the revisions; `-o DIR` writes one self-contained page there."""
    theirs = json.loads(dvc(small, "plots", "diff", "--json", "HEAD", "saved1").stdout)
    ours = json.loads(exptui(small, "plots", "diff", "--json", "HEAD", "saved1").stdout)
    [vega] = theirs["data"]["curve.csv"]
    want = sorted((v["rev"], float(v["step"]), float(v["loss"])) for v in vega["content"]["data"]["values"])
    [mine] = ours["data"]["curve.csv"]
    assert (mine["revisions"], mine["x"], mine["y"]) == (vega["revisions"], "step", "loss")
    assert sorted((v["rev"], v["step"], v["loss"]) for v in mine["values"]) == want

    text = exptui(small, "plots", "diff", "--width", "60").stdout   # no revisions: HEAD and the workspace
    assert "loss (curve.csv)" in text and text.rstrip().endswith("● HEAD  ● workspace")
    assert "\x1b" not in text   # into a pipe: no colour codes

    out = tmp_path / "plots"
    proc = exptui(small, "plots", "diff", "saved1", "-o", str(out))
    assert proc.stdout.strip() == f"file://{out / 'index.html'}"
    page = (out / "index.html").read_text()
    assert page.count("<polyline") == 2 and "saved1" in page and "<script" not in page
    missing = exptui(small, "plots", "diff", "--targets", "nope.csv", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: nothing to plot at HEAD, workspace: nope.csv")


def test_push_sends_dvc_added_data_and_dvc_status_c_agrees(tmp_path: Path) -> None:
    """Data from `dvc add` (a `.dvc` file) travels with an experiment too: after `exptui push`, `dvc status -c`
    (the DVC remote compared with the cache) finds nothing missing."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("x\n1\n")
    (repo / "data" / "b.csv").write_text("x\n2\n")
    dvc(repo, "add", "-q", "data")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "data")
    (repo / "data" / "b.csv").write_text("x\n3\n")   # changed in place: `exp save` commits it again
    saved = exptui(repo, "exp", "save", "-n", "more-data")
    assert saved.stdout.strip() == "Experiment has been saved as: more-data"
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    dvc(repo, "remote", "add", "-d", "--local", "store", str(tmp_path / "store"))
    pushed = exptui(repo, "push", "origin", "more-data")
    assert pushed.stdout.splitlines()[0] == "pushed 3 data object(s) (0 already there) - DVC remote 'store'"
    assert "Cache and remote 'store' are in sync." in dvc(repo, "status", "-c").stdout
