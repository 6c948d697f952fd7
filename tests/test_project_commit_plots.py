"""What a commit holds for the plots screen, read once and cheaply: DVCLive series found by walking tree objects
(not a `git ls-tree` per commit) and the plots of a dvc.yaml without `${…}` parsed once per text. Real repos."""
from __future__ import annotations

from pathlib import Path

from exptui.project import Project
from tests.conftest import git


def commit_series(repo: Path) -> str:
    """A commit with DVCLive series at several depths, a name with a space, a non-TSV file and one outside."""
    metrics = repo / "dvclive" / "plots" / "metrics"
    (metrics / "train").mkdir(parents=True)
    (metrics / "eval" / "deep").mkdir(parents=True)
    (metrics / "train" / "loss.tsv").write_text("step\tloss\n0\t1.5\n1\t1.0\n")
    (metrics / "eval" / "deep" / "acc.tsv").write_text("step\tacc\n0\t0.5\n")
    (metrics / "f1 score.tsv").write_text("step\tf1\n0\t0.25\n")
    (metrics / "notes.txt").write_text("not a series\n")
    (repo / "dvclive" / "other.tsv").write_text("step\tx\n0\t1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "series")
    return git(repo, "rev-parse", "HEAD").strip()


def test_series_are_found_at_every_depth_as_ls_tree_lists_them(git_repo: Path) -> None:
    rev = commit_series(git_repo)
    project = Project.open(git_repo)
    try:
        listed = git(git_repo, "ls-tree", "-r", "-z", "--name-only", rev, "--", "dvclive/plots/metrics").split("\0")
        assert sorted(project._tree_files(rev, "dvclive/plots/metrics")) == sorted(p for p in listed if p)
        assert project.live_series_at(rev) == {"eval.deep.acc": [(0, 0.5)], "f1 score": [(0, 0.25)],
                                               "train.loss": [(0, 1.5), (1, 1.0)]}
        assert project.live_series_at(rev, "elsewhere") == {}
        assert project.live_series_at("0" * 40) == {}          # an unknown commit: nothing recorded
        assert project.live_series_at("main") == project.live_series_at(rev)
    finally:
        project.close()


def test_a_literal_dvc_yaml_is_parsed_once_per_text(git_repo: Path) -> None:
    (git_repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    plots:\n      - curve.csv:\n"
                                      "          x: step\n")
    (git_repo / "params.yaml").write_text("lr: 1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "a")
    first = git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "params.yaml").write_text("lr: 2\n")       # another experiment: same dvc.yaml, other params
    git(git_repo, "commit", "-q", "-am", "b")
    second = git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "dvc.yaml").write_text("vars: [params.yaml]\nstages:\n  train:\n    cmd: python train.py\n"
                                      "    plots:\n      - curve-${lr}.csv\n")
    git(git_repo, "commit", "-q", "-am", "c")
    third = git(git_repo, "rev-parse", "HEAD").strip()
    project = Project.open(git_repo)
    try:
        plots = project.plot_files(first)
        assert [p.path for p in plots] == ["curve.csv"]
        assert project.plot_files(second) == plots
        assert list(project._plots_by_text.values()) == [plots]   # one parse for both commits
        assert [p.path for p in project.plot_files(third)] == ["curve-2.csv"]   # interpolated: parsed per commit
        assert len(project._plots_by_text) == 1
    finally:
        project.close()
