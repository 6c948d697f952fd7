"""Vendor the pipeline-definition files of public DVC repositories into `tests/interop/corpus/`.

Not a test: the corpus is committed, so CI (no network) never runs this. It documents how each case was made and
re-makes it from a local git mirror of the repository (`python tests/interop/vendor_corpus.py MIRRORS_DIR`, where
`MIRRORS_DIR/<owner>+<repo>/repo` is a clone). Only small text files that define a pipeline are taken:
dvc.yaml, dvc.lock, .dvcignore, `*.dvc` pointers, params files and the files `vars:`/`params:` name; never data,
models or code, so stages' code deps are "deleted" in every case and both tools must agree on that.
"""
from __future__ import annotations

import posixpath
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent / "corpus"
#: a pipeline file larger than this is not a configuration file
MAX_BYTES = 64 * 1024
PIPELINE_NAMES = {"dvc.yaml", "dvc.lock", ".dvcignore", "params.yaml", "params.json", "params.toml"}


@dataclass(frozen=True)
class Source:
    """One corpus case: a repository at a ref, optionally one project folder inside it."""

    repo: str
    ref: str = "HEAD"
    subdir: str = ""

    @property
    def case(self) -> str:
        name = self.repo.replace("/", "__")
        return f"{name}__{self.subdir.replace('/', '_')}" if self.subdir else name


SOURCES = [
    Source("iterative/example-get-started"),
    Source("iterative/example-get-started-experiments"),
    Source("iterative/demo-bank-customer-churn"),
    Source("iterative/workshop-uncool-mlops"),
    Source("iterative/magnetic-tiles-defect"),
    Source("iterative/yolov5-dvc"),
    Source("iterative/example-pokemon-classifier"),
    Source("iterative/VSCode-DVC-Workshop"),
    Source("iterative/llm-demo"),
    Source("iterative/sagemaker-pipeline"),
    Source("iterative/google-kaggle-competition"),
    Source("iterative/course-ds-base", "refs/heads/step-8-metrics-and-plots_SOLUTION"),
    Source("iterative/monorepo-dvc-repro", "refs/heads/examples"),
    Source("iterative/pipeline-conifguration", subdir="single-params-file"),
    Source("iterative/pipeline-conifguration", subdir="multi-params-files"),
    Source("iterative/pipeline-conifguration", subdir="multi-validation-datasets"),
    Source("dberenbaum/datacomp"),
    Source("sicara/pycon-2022-dvc-streamlit"),
    Source("PacktPublishing/Open-Source-MLOps-with-DVC-and-CML"),
    Source("yannick-yf/foreshadwownba-dvc-data-pipeline"),
    Source("ssime-git/mlops-dvc-docker-reference"),
]


def _git(gitdir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={gitdir}", *args], check=True, capture_output=True,
                          text=True).stdout


def _blob(gitdir: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={gitdir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def _referenced(dvc_yaml: bytes, base: str) -> set[str]:
    """Files a dvc.yaml names as `vars:` files or `params:` files (repo-relative, best effort: no `${}`)."""
    try:
        data = yaml.safe_load(dvc_yaml)
    except yaml.YAMLError:
        return set()
    names: set[str] = set()

    def add_vars(entries: object, wdir: str) -> None:
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str) and "${" not in entry:
                names.add(posixpath.normpath(posixpath.join(base, wdir, entry.split(":", 1)[0])))

    if not isinstance(data, dict):
        return names
    add_vars(data.get("vars"), "")
    for stage in (data.get("stages") or {}).values():
        if not isinstance(stage, dict):
            continue
        body = stage.get("do", stage)
        if not isinstance(body, dict):
            continue
        wdir = body.get("wdir", "") if isinstance(body.get("wdir", ""), str) else ""
        add_vars(body.get("vars"), wdir)
        for entry in body.get("params") or []:
            if isinstance(entry, dict):
                for name in entry:
                    if isinstance(name, str) and "${" not in name:
                        names.add(posixpath.normpath(posixpath.join(base, wdir, name)))
    return names


def _license(gitdir: Path, commit: str) -> str:
    top = _git(gitdir, "ls-tree", "--name-only", commit).split()
    for name in top:
        if name.upper().startswith(("LICENSE", "LICENCE", "COPYING")):
            text = _blob(gitdir, commit, name).decode("utf-8", "replace")
            for kind in ("MIT", "Apache License", "BSD", "GNU AFFERO", "GNU GENERAL", "Mozilla"):
                if kind.lower() in text.lower():
                    return f"{kind} ({name} at that commit)"
            return f"see {name} at that commit"
    return ("no license file at that commit; only short pipeline-configuration files (no code, data or models) are "
            "kept here, to test that exptui reads them as DVC does")


def vendor(source: Source, mirrors: Path) -> list[str]:
    """Write one case; returns the files taken."""
    gitdir = mirrors / source.repo.replace("/", "+") / "repo"
    if (gitdir / ".git").is_dir():
        gitdir = gitdir / ".git"
    commit = _git(gitdir, "rev-parse", f"{source.ref}^{{commit}}").strip()
    listing = _git(gitdir, "ls-tree", "-r", "-l", commit).splitlines()
    sizes: dict[str, int] = {}
    for line in listing:
        meta, path = line.split("\t", 1)
        size = meta.split()[3]
        if size.isdigit():  # not "-" (a submodule) nor "BAD" (a blob the mirror lacks)
            sizes[path] = int(size)
    prefix = f"{source.subdir}/" if source.subdir else ""
    wanted: set[str] = set()
    for path, size in sizes.items():
        if not path.startswith(prefix) or path.startswith(f"{prefix}.dvc/") or size > MAX_BYTES:
            continue
        name = posixpath.basename(path)
        if name in PIPELINE_NAMES or (name.endswith(".dvc") and size <= 4096):
            wanted.add(path)
    for path in sorted(wanted):
        if posixpath.basename(path) == "dvc.yaml":
            base = posixpath.dirname(path)
            wanted |= {p for p in _referenced(_blob(gitdir, commit, path), base)
                       if p in sizes and sizes[p] <= MAX_BYTES and p.startswith(prefix)}
    dest = CORPUS / source.case
    for path in sorted(wanted):
        target = dest / path[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_blob(gitdir, commit, path))
    taken = sorted(p[len(prefix):] for p in wanted)
    (dest / "SOURCE").write_text(
        f"repository: https://github.com/{source.repo}\n"
        f"commit: {commit}\n"
        + (f"folder: {source.subdir}\n" if source.subdir else "")
        + (f"ref: {source.ref}\n" if source.ref != "HEAD" else "")
        + f"license: {_license(gitdir, commit)}\n"
        f"files: {', '.join(taken)}\n")
    return taken


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: vendor_corpus.py MIRRORS_DIR", file=sys.stderr)
        return 2
    for source in SOURCES:
        print(source.case, vendor(source, Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
