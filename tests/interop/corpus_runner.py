"""Compare exptui with the real `dvc` over the vendored corpus (`tests/interop/corpus/`), facet by facet.

Each case is a folder of pipeline-definition files: the dvc.yaml/dvc.lock/params/.dvcignore/.dvc files of a public
DVC repository (`<owner>__<repo>`, see its `SOURCE`), a small dvc.yaml translated from DVC's own
`tests/func/parsing` suite (`dvc-parsing__<name>`), or an edge case of issue 12 with a few bytes of data
(`synth__<name>`). Code, data and models of the public repositories are never vendored, so no case is run; what
can be compared without running is:

* `stages`: every stage as resolved from dvc.yaml (vars/foreach/matrix/wdir interpolated): cmd, wdir, deps, outs
  (with their cache/persist flags), params keys, frozen/always_changed; or the fact that loading fails;
* `dag`: the edges between stages;
* `status`: `dvc status --json` against the vendored dvc.lock (code deps are missing: `deleted`), without network
  access (an import's source is not asked for updates);
* `lock`: the hashes and params values each stage's dvc.lock entry gives its declared deps and outs;
* `params`: the params files and keys `dvc exp show` lists for the commit (tracked vars included), flattened as
  DVC flattens them (`dvc.utils.flatten`), or the fact that the row is an error.

Cases whose `SOURCE` says `runnable: yes` (their commands need nothing but a POSIX shell) get a sixth facet,
`repro`: `dvc repro --all-pipelines` in one copy and `exptui repro` in another, then the dvc.lock and .gitignore files of both
(byte for byte) and each tool's status of the other's result (both up to date).

A `.dvc` file (`dvc add`/`dvc import`) is compared on what it tracks (outs, folder, frozen), not on an import's
source (DVC's `dvc update` business). A tool's refusal is compared as a fact, not by its wording.

DVC is asked in-process (`dvc.repo.Repo`: the same code as its CLI, without ~1 s of start-up per call), exptui
through the functions its CLI calls. Run this file to print the table:
`python tests/interop/corpus_runner.py [CASE...]`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"
FACETS = ("stages", "dag", "status", "lock", "params", "repro")
#: a value standing for "this tool refused to load the project" (messages differ by design; the fact must not)
ERROR = "<error>"
GIT_ENV = {"GIT_AUTHOR_NAME": "Corpus", "GIT_AUTHOR_EMAIL": "corpus@example.invalid",
           "GIT_COMMITTER_NAME": "Corpus", "GIT_COMMITTER_EMAIL": "corpus@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "DVC_NO_ANALYTICS": "1"}


@dataclass
class CaseResult:
    """What both tools said for one case: facet -> (dvc's value, exptui's value)."""

    case: str
    facets: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def matches(self, facet: str) -> bool:
        """Both answers are equal (a facet a case does not have, `repro` of a case that cannot run, matches)."""
        if facet not in self.facets:
            return True
        theirs, ours = self.facets[facet]
        return bool(theirs == ours)

    def mismatched(self) -> list[str]:
        return [f for f in FACETS if f in self.facets and not self.matches(f)]


def cases() -> list[str]:
    """Every case folder of the corpus, sorted."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and (p / "SOURCE").is_file())


# ---------------------------------------------------------------- a repo per case

def _git(root: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def prepare(case: str, dest: Path) -> Path:
    """`git init` + `dvc init` in `dest`, the case's files on top (its own `.dvcignore` wins), all committed."""
    from dvc.repo import Repo

    dest.mkdir(parents=True)
    _git(dest, "init", "-q", "-b", "main")
    with _quiet():
        Repo.init(os.fspath(dest)).close()
    shutil.copytree(CORPUS / case, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("SOURCE"))
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "corpus case")
    return dest


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """DVC logs warnings for what it tolerates; the comparison, not its log, is the result."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    """`contextlib.chdir` (3.11+) for Python 3.10: DVC prints paths relative to the working directory."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _attempt(fn: Callable[[], Any]) -> Any:
    """`fn()`, or ERROR when DVC refuses the project (any exception: DVC has many error types)."""
    try:
        return fn()
    except Exception:  # noqa: BLE001 - the refusal itself is what is compared
        return ERROR


def _refused(fn: Callable[[], Any]) -> Any:
    """`fn()`, or ERROR when exptui refuses the project with one of its own errors (the one-line kind). Any other
    exception is a crash, never a match for DVC's refusal: it is returned as its own value."""
    from dvc_compat.errors import FormatError
    from exptui.errors import ExptuiError

    try:
        return fn()
    except (ExptuiError, FormatError, OSError):
        return ERROR
    except Exception as exc:  # noqa: BLE001 - a crash is a mismatch to show, not a reason to stop the corpus
        return f"<crash: {type(exc).__name__}: {exc}>"


# ---------------------------------------------------------------- DVC's answers

def _rel(root: Path, fs_path: str) -> str:
    rel = os.path.relpath(fs_path, root)
    return fs_path if rel.startswith("..") and os.path.isabs(fs_path) else rel.replace(os.sep, "/")


def _dvc_dep_path(root: Path, dep: Any) -> str:
    return dep.def_path if "://" in str(dep.def_path) else _rel(root, dep.fs_path)


def dvc_answers(root: Path) -> dict[str, Any]:
    """The five facets as DVC gives them (its Python API, run from the repo root as its CLI would be)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo
    from dvc.stage import PipelineStage

    answers: dict[str, Any] = {}
    with _quiet(), _chdir(root):
        repo = Repo(os.fspath(root))
        try:
            stages = _attempt(lambda: list(repo.index.stages))
            if stages == ERROR:
                answers.update(dict.fromkeys(("stages", "dag", "status", "lock"), ERROR))
            else:
                answers["stages"] = {s.addressing: _dvc_stage(root, s) for s in stages}
                answers["dag"] = _attempt(lambda: sorted(
                    (up.addressing, down.addressing) for down, up in repo.index.graph.edges()))
                # without network access: an import's source repository is not asked for updates
                answers["status"] = _attempt(lambda: repo.status(check_updates=False))
                answers["lock"] = {
                    s.addressing: {
                        "deps": {_dvc_dep_path(root, d): (d.hash_info.value if d.hash_info else None)
                                 for d in s.deps if not isinstance(d, ParamsDependency)},
                        "params": {_rel(root, d.fs_path): dict(d.hash_info.value or {}) if d.hash_info else {}
                                   for d in s.deps if isinstance(d, ParamsDependency)},
                        "outs": {_dvc_dep_path(root, o): (o.hash_info.value if o.hash_info else None)
                                 for o in s.outs},
                    }
                    for s in stages if isinstance(s, PipelineStage)
                }
            answers["params"] = _attempt(lambda: _dvc_params(repo))
        finally:
            repo.close()
    return answers


def _dvc_stage(root: Path, stage: Any) -> dict[str, Any]:
    from dvc.dependency.param import ParamsDependency
    from dvc.stage import PipelineStage

    if not isinstance(stage, PipelineStage):
        return _data_source(_rel(root, stage.wdir), [(_dvc_dep_path(root, o), bool(o.use_cache), bool(o.persist))
                                                     for o in stage.outs], bool(stage.frozen))

    params: dict[str, list[str]] = {}
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            params.setdefault(_rel(root, dep.fs_path), []).extend(dep.params or ["*"])
    return {
        "cmd": stage.cmd,
        "wdir": _rel(root, stage.wdir),
        "deps": [_dvc_dep_path(root, d) for d in stage.deps if not isinstance(d, ParamsDependency)],
        "params": {f: sorted(set(keys)) for f, keys in params.items()},
        "outs": [(_dvc_dep_path(root, o), bool(o.use_cache), bool(o.persist)) for o in stage.outs],
        "frozen": bool(stage.frozen),
        "always_changed": bool(stage.always_changed),
    }


def _dvc_params(repo: Any) -> dict[str, Any]:
    """`dvc params show` of the workspace: {file: {dotted key: value}} or {file: ERROR}."""
    shown = repo.params.show()
    rev = shown.get("", shown.get("workspace", {}))
    if "error" in rev:  # the project cannot be loaded: `dvc exp show` has an error for the whole row
        return ERROR
    data = rev.get("data", {})
    out: dict[str, Any] = {}
    from dvc.utils.flatten import flatten  # how DVC's exp show turns this nested data into columns

    for path, entry in data.items():
        out[path.replace(os.sep, "/")] = ERROR if "error" in entry else flatten(entry.get("data", {}))
    return out


# ---------------------------------------------------------------- exptui's answers

def exptui_answers(root: Path) -> dict[str, Any]:
    """The five facets as exptui gives them (the functions behind `exptui dag/status/show`)."""
    from exptui.pipeline.dag import load_pipeline, repo_path
    from exptui.pipeline.datasources import is_data_source
    from exptui.pipeline.status import Workspace, stage_status

    answers: dict[str, Any] = {}
    pipeline = _refused(lambda: load_pipeline(root))
    if pipeline == ERROR:
        answers.update(dict.fromkeys(("stages", "dag", "status", "lock"), ERROR))
    else:
        answers["stages"] = {s.address: _exptui_stage(s) for s in pipeline.stages}
        answers["dag"] = sorted((up, down) for down, ups in pipeline.upstream.items() for up in ups)
        ws = Workspace(root)
        try:
            def status() -> dict[str, Any]:
                found = {s.address: stage_status(ws, s).to_dvc() for s in pipeline.order()}
                return {k: v for k, v in found.items() if v}

            answers["status"] = _refused(status)

            def lock() -> dict[str, Any]:
                out: dict[str, Any] = {}
                for s in pipeline.stages:
                    if is_data_source(s):
                        continue
                    entry = ws.lock_entry(s)
                    deps = {repo_path(s, h.path): h.md5 for h in entry.deps} if entry else {}
                    outs = {repo_path(s, h.path): h.md5 for h in entry.outs} if entry else {}
                    params = {repo_path(s, f): v for f, v in entry.params.items()} if entry else {}
                    declared_params = {repo_path(s, p.file) for p in s.params}
                    out[s.address] = {
                        "deps": {_shown(s, d): deps.get(_shown(s, d)) for d in s.deps},
                        "params": {f: params.get(f, {}) for f in declared_params},
                        "outs": {_shown(s, o.path): outs.get(_shown(s, o.path)) for o in s.outs},
                    }
                return out

            answers["lock"] = _refused(lock)
        finally:
            ws.close()
    answers["params"] = _refused(lambda: _exptui_params(root))
    return answers


def _shown(stage: Any, path: str) -> str:
    from exptui.pipeline.dag import repo_path

    return path if "://" in path else repo_path(stage, path)


def _exptui_stage(stage: Any) -> dict[str, Any]:
    from exptui.pipeline.datasources import is_data_source

    if is_data_source(stage):
        return _data_source(posixpath.dirname(stage.address) or ".",
                            [(_shown(stage, o.path), bool(o.cache), bool(o.persist)) for o in stage.outs],
                            bool(stage.frozen))
    params: dict[str, list[str]] = {}
    for p in stage.params:
        params.setdefault(_shown(stage, p.file), []).extend(p.keys or ["*"])
    return {
        "cmd": stage.cmd,
        "wdir": stage.wdir or ".",
        "deps": [_shown(stage, d) for d in stage.deps],
        "params": {f: sorted(set(keys)) for f, keys in params.items()},
        "outs": [(_shown(stage, o.path), bool(o.cache), bool(o.persist)) for o in stage.outs],
        "frozen": bool(stage.frozen),
        "always_changed": bool(stage.always_changed),
    }


def _data_source(wdir: str, outs: list[tuple[str, bool, bool]], frozen: bool) -> dict[str, Any]:
    """A `.dvc` file (`dvc add`, `dvc import`) compared on what it tracks: its outs, folder and frozen flag. The
    source of an import (its `deps`) is DVC's business (`dvc update`): exptui treats the data as a data source."""
    return {"dvcfile": True, "wdir": wdir, "outs": outs, "frozen": frozen}


def _exptui_params(root: Path) -> dict[str, Any]:
    """What `exptui show` lists as params for the committed workspace: {file: {dotted key: value}}, or ERROR when
    the row has an error for a dvc.yaml (exptui shows it in the row's errors, DVC instead of the row)."""
    from exptui.store.commit_data import CommitReader
    from exptui.store.git import Git

    git = Git(root)
    head = git.run("rev-parse", "HEAD").strip()
    data = CommitReader(git).read([head])[head]
    if any(path.endswith("dvc.yaml") for path in data["errors"]):
        return ERROR  # the row's error cell; exptui still lists what it could read, DVC's row has none
    out: dict[str, Any] = {path: dict(values) for path, values in data["params"].items()}
    metric_files = set(data.get("metric_files", ()))
    for path in data["errors"]:
        if path not in metric_files:
            out[path] = ERROR
    return out


# ---------------------------------------------------------------- one case, all cases

def runnable(case: str) -> bool:
    return "runnable: yes" in (CORPUS / case / "SOURCE").read_text()


def _written(root: Path) -> dict[str, bytes]:
    """The files repro writes that git keeps: every dvc.lock and .gitignore (not DVC's own `.dvc/.gitignore`)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.name in ("dvc.lock", ".gitignore") and ".git" not in p.relative_to(root).parts[:-1]
            and not p.relative_to(root).as_posix().startswith(".dvc/")}


def repro_answers(case: str, workdir: Path) -> tuple[Any, Any]:
    """(DVC's, exptui's) result of reproducing the case in two fresh copies: the files written, and whether the
    other tool then calls the project up to date."""
    from dvc.repo import Repo

    from exptui.pipeline.repro import reproduce

    theirs_root = prepare(case, workdir / f"{case}-dvc-repro")
    ours_root = prepare(case, workdir / f"{case}-exptui-repro")
    with _quiet(), _chdir(theirs_root):
        repo = Repo(os.fspath(theirs_root))
        try:
            # `exptui repro` without targets brings every dvc.yaml up to date: `dvc repro --all-pipelines`
            # (plain `dvc repro` takes only the root dvc.yaml's stages: docs/compatibility.md)
            ran = _attempt(lambda: repo.reproduce(all_pipelines=True))
        finally:
            repo.close()
    theirs: dict[str, Any] = {"ran": ran != ERROR, "files": _written(theirs_root)}
    ran = _refused(lambda: reproduce(ours_root, sink=lambda _chunk: None))
    crashed = isinstance(ran, str) and ran.startswith("<crash")
    ours: dict[str, Any] = {"ran": ran if crashed else ran != ERROR, "files": _written(ours_root)}
    # each tool's status of the other's result: what a teammate using the other tool would see
    theirs["status of the other's"] = exptui_answers(theirs_root)["status"]
    ours["status of the other's"] = dvc_answers(ours_root)["status"]
    return theirs, ours


def run_case(case: str, workdir: Path) -> CaseResult:
    started = time.perf_counter()
    root = prepare(case, workdir / case)
    theirs = dvc_answers(root)
    ours = exptui_answers(root)
    result = CaseResult(case, {f: (theirs.get(f), ours.get(f)) for f in FACETS if f != "repro"})
    if runnable(case):
        result.facets["repro"] = repro_answers(case, workdir)
    result.seconds = time.perf_counter() - started
    return result


def _table(results: list[CaseResult]) -> str:
    width = max(len(r.case) for r in results)
    lines = [f"{'case':<{width}}  " + "  ".join(f"{f:<6}" for f in FACETS) + "   s"]
    for r in results:
        marks = "  ".join(f"{'-' if f not in r.facets else 'ok' if r.matches(f) else 'DIFF':<6}" for f in FACETS)
        lines.append(f"{r.case:<{width}}  {marks}  {r.seconds:4.1f}")
    full = sum(1 for r in results if not r.mismatched())
    per_facet = ", ".join(f"{f} {sum(r.matches(f) for r in results if f in r.facets)}/"
                          f"{sum(f in r.facets for r in results)}" for f in FACETS)
    lines.append(f"\n{full} of {len(results)} cases match on every facet ({per_facet})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    os.environ.update(GIT_ENV)
    names = argv or cases()
    results = []
    with tempfile.TemporaryDirectory(prefix="exptui-corpus-") as tmp:
        for name in names:
            results.append(run_case(name, Path(tmp)))
            if argv:  # named cases: show the differences
                for facet in results[-1].mismatched():
                    theirs, ours = results[-1].facets[facet]
                    print(f"--- {name} {facet}\n  dvc:    {theirs!r}\n  exptui: {ours!r}")
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1:]))
