"""Names and paths from the command line (issue 9, item 7), on a real repo through real `exptui` processes.

Before the fix: three concurrent `run --queue -n same` all queued `same`; a 300-byte name failed only after the
whole pipeline ran; `-n HEAD`, `-n main`, `-n -rf` were accepted (then shadowed revisions or read as options);
`-S '+../outside.yaml:a=1'` wrote outside the repository; `--queue -S '+.git/hooks/x.yaml:a=1'` put a `.git`
entry into the queued snapshot. Now every name goes through one validator before any work, a queued name is
reserved with a create-only ref, and `-S` files are confined to the project (symlinks resolved), never `.git` or
`.dvc`. Whatever DVC itself can create, exptui still lists.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hostile_repo import EXPTUI, copy_repo, env, error_lines, exptui, git, make_template, refs

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_template(tmp_path_factory.mktemp("hostile-names") / "template")
    git(repo, "tag", "v1")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return copy_repo(template, tmp_path / "repo")


WATCHED = ("params.yaml", "dvc.lock", "metrics.json", "a.txt")


def _state(repo: Path) -> dict[str, object]:
    files = {name: (repo / name).read_bytes() if (repo / name).exists() else None for name in WATCHED}
    return {"files": files, "refs": refs(repo), "untracked": git(repo, "status", "--porcelain", "--ignored")}


def _refused(repo: Path, *args: str, mention: str) -> str:
    """One `error:` line naming `mention`, a non-zero exit, and nothing changed (no stage ran: metrics.json and
    a.txt, which the pipeline rewrites for x.lr=0.3, are untouched; no ref, no file)."""
    before = _state(repo)
    proc = exptui(repo, *args)
    lines = error_lines(proc.stderr)
    assert proc.returncode != 0, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and mention in lines[0], (args, proc.stderr)
    assert _state(repo) == before, args
    return lines[0]


RUN_MODES = [("run", "-q"), ("run", "-q", "--temp"), ("run", "--queue")]


@pytest.mark.parametrize("mode", RUN_MODES, ids=["workspace", "temp", "queue"])
@pytest.mark.parametrize(("name", "why"), [
    ("HEAD", "git revision"),
    ("ORIG_HEAD", "git revision"),
    ("main", "branch named 'main'"),
    ("v1", "tag named 'v1'"),
    ("-rf", "starts with '-'"),
    ("--force", "starts with '-'"),
    ("deadbeef", "commit sha"),
    ("workspace", "workspace row"),
    ("x" * 251, "251 bytes"),
    ("é" * 126, "252 bytes"),
    ("a..b", "'..'"),
    ("exp.lock", ".lock"),
])
def test_names_that_would_shadow_or_break_are_refused_before_any_work(repo: Path, mode: tuple[str, ...],
                                                                      name: str, why: str) -> None:
    _refused(repo, *mode, "-S", "x.lr=0.3", "-n", name, mention=why)


def test_a_sha_prefix_of_a_real_commit_is_refused(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    _refused(repo, "run", "--queue", "-S", "x.lr=0.3", "-n", head[:7], mention="commit sha")


def test_a_sweep_checks_every_generated_name(repo: Path) -> None:
    _refused(repo, "run", "--queue", "-S", "x.lr=0.3,0.4", "-n", "x" * 249, mention="251 bytes")


def test_the_longest_name_is_accepted(repo: Path) -> None:
    proc = exptui(repo, "run", "--queue", "-S", "x.lr=0.3", "-n", "é" * 125)
    assert proc.returncode == 0, proc.stderr


def test_the_dashboards_sweep_dialog_uses_the_same_validator(repo: Path) -> None:
    """The dialog queues through `project.queue.enqueue`, which validates like the CLI."""
    from exptui.errors import ExptuiError
    from exptui.project import Project

    with Project.open(repo) as project:
        for name in ("HEAD", "main", "-rf", "cafe1234", "x" * 300):
            with pytest.raises(ExptuiError, match="invalid experiment name"):
                project.queue.enqueue(["x.lr=0.3"], name=name)
        assert project.queue.entries() == []


@pytest.mark.parametrize(("branch", "why"), [
    ("-rf", "starts with '-'"), ("HEAD", "git revision"), ("deadbeef", "commit sha"), ("x" * 251, "250 bytes"),
])
def test_branch_names_are_checked_too(repo: Path, branch: str, why: str) -> None:
    _refused(repo, "branch", "e1", "--", branch, mention=why)


def test_concurrent_queue_with_one_name_queues_it_once(repo: Path) -> None:
    """Three `run --queue -n NAME` at once, five rounds: exactly one queues each name, the others get one line.

    Before the fix each process checked the name, then queued: all three passed the check."""
    for round_ in range(5):
        name = f"same-{round_}"
        procs = [subprocess.Popen([EXPTUI, "run", "--queue", "-S", f"x.lr=0.{i + 3}", "-n", name], cwd=repo,
                                  env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for i in range(3)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        winners = [r for r in results if r[0] == 0]
        assert len(winners) == 1, results
        for rc, err in results:
            if rc != 0:
                lines = error_lines(err)
                assert len(lines) == 1 and f"'{name}'" in lines[0] and "Traceback" not in err, err
        from exptui.execution.queue_manager import QueueManager

        assert [e.name for e in QueueManager(repo).entries()].count(name) == 1


def test_a_queued_name_is_released_when_its_entry_is_removed(repo: Path) -> None:
    assert exptui(repo, "run", "--queue", "-S", "x.lr=0.3", "-n", "again").returncode == 0
    _refused(repo, "run", "--queue", "-S", "x.lr=0.4", "-n", "again", mention="'again'")
    assert exptui(repo, "queue", "remove", "again").returncode == 0
    assert "refs/exptui/reserved/" not in refs(repo)
    proc = exptui(repo, "run", "--queue", "-S", "x.lr=0.4", "-n", "again")
    assert proc.returncode == 0, proc.stderr


def test_reservation_is_create_only_even_without_the_name_check(repo: Path) -> None:
    """The store refuses a second live holder on its own (what the losing process of a race meets when both
    passed the name check before either queued)."""
    from exptui.errors import ExptuiError
    from exptui.execution.queue_manager import QueueManager
    from exptui.store.queue import EntrySpec

    q = QueueManager(repo)
    baseline = q.git.head()
    tree = q.git.run("rev-parse", "HEAD^{tree}").strip()
    q.store.create([EntrySpec("dup", {})], baseline, tree, lambda i, f, o: o or b"", reserve_names=True)
    with pytest.raises(ExptuiError, match="'dup' is already queued"):
        q.store.create([EntrySpec("dup", {})], baseline, tree, lambda i, f, o: o or b"", reserve_names=True)
    assert [e.name for e in q.entries()] == ["dup"]


# --- -S paths -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", RUN_MODES, ids=["workspace", "temp", "queue"])
@pytest.mark.parametrize(("override", "why"), [
    ("+../outside.yaml:a=1", "outside the repository"),
    ("+sub/../../outside.yaml:a=1", "outside the repository"),
    ("+{tmp}/abs.yaml:a=1", "absolute path"),
    ("+.git/hooks/x.yaml:a=1", "inside .git or .dvc"),
    ("+.git/config:a=1", "inside .git or .dvc"),
    ("+.dvc/config.yaml:a=1", "inside .git or .dvc"),
    ("+sub/.GIT/x.yaml:a=1", "inside .git or .dvc"),
])
def test_override_paths_outside_the_project_are_refused(repo: Path, mode: tuple[str, ...], override: str,
                                                        why: str) -> None:
    outside = repo.parent / "outside.yaml"
    override = override.format(tmp=repo.parent)
    line = _refused(repo, *mode, "-S", override, mention=why)
    assert override in line
    assert not outside.exists() and not (repo.parent / "abs.yaml").exists()
    assert not (repo / ".git" / "hooks" / "x.yaml").exists()


@pytest.mark.parametrize("mode", RUN_MODES, ids=["workspace", "temp", "queue"])
@pytest.mark.parametrize(("link", "target", "override"), [
    ("link.yaml", "../outside.yaml", "+link.yaml:a=1"),
    ("conf", "..", "+conf/outside.yaml:a=1"),
    ("hooks", ".git/hooks", "+hooks/x.yaml:a=1"),
])
def test_symlinks_out_of_the_project_are_resolved_and_refused(repo: Path, mode: tuple[str, ...], link: str,
                                                             target: str, override: str) -> None:
    outside = repo.parent / "outside.yaml"
    outside.write_text("a: 0\n")
    (repo / link).symlink_to(target)
    (repo / ".gitignore").write_text((repo / ".gitignore").read_text() + f"/{link}\n")
    git(repo, "commit", "-qam", "ignore the link")
    line = _refused(repo, *mode, "-S", override, mention="resolves to")
    assert override in line
    assert outside.read_text() == "a: 0\n"
    assert not (repo / ".git" / "hooks" / "x.yaml").exists()


def test_override_files_inside_the_project_still_work(repo: Path) -> None:
    proc = exptui(repo, "run", "--queue", "-S", "+conf/extra.yaml:a=1", "-S", "+./more.yaml:b=2")
    assert proc.returncode == 0, proc.stderr
    from exptui.execution.queue_manager import QueueManager

    (entry,) = QueueManager(repo).entries()
    files = git(repo, "ls-tree", "-r", "--name-only", entry.rev).split()
    assert "conf/extra.yaml" in files and "more.yaml" in files
    assert not any(f.startswith((".git/", "./", "../")) for f in files)


# --- compatibility: what DVC can create, exptui lists -------------------------------------------------------------


@pytest.mark.dvc
def test_every_name_dvc_accepts_is_listed(repo: Path) -> None:
    """DVC's own rule (`check_ref_format`: git's ref format, no '/') accepts names exptui refuses to create
    (HEAD, main, -rf, hex); refs DVC made under such names must still be listed and addressable by full ref."""
    from dvc.repo.experiments.refs import ExpRefInfo
    from dvc.repo.experiments.utils import check_ref_format
    from scmrepo.git import Git as ScmGit

    scm = ScmGit(str(repo))
    head = git(repo, "rev-parse", "HEAD").strip()
    e1 = git(repo, "rev-parse", f"refs/exps/{head[:2]}/{head[2:]}/e1").strip()
    names = ["HEAD", "main", "-rf", "deadbeef", "workspace", "v1", "é" * 100, "x" * 250, "a]b", "@x", "a@b"]
    accepted = []
    for name in names:
        ref = ExpRefInfo(head, name)
        try:
            check_ref_format(scm, ref)
        except Exception:  # noqa: BLE001 - DVC refuses it: not something DVC can create
            continue
        git(repo, "update-ref", str(ref), e1)
        accepted.append(name)
    assert {"HEAD", "main", "-rf", "deadbeef", "workspace"} <= set(accepted)
    rows = json.loads(exptui(repo, "show", "--json").stdout)
    listed = {r["name"] for r in rows if r["kind"] == "experiment"}
    assert set(accepted) <= listed
    for name in ("HEAD", "-rf", "deadbeef"):
        proc = exptui(repo, "diff", f"refs/exps/{head[:2]}/{head[2:]}/{name}", "--json")
        assert proc.returncode == 0, proc.stderr
