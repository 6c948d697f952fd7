"""Data tracked by `dvc add` (`<path>.dvc` files) as stages of the pipeline, the way DVC sees them.

DVC loads every `.dvc` file of the repo as a stage without a command whose outs are the tracked data. So
`dvc status` lists `data/raw.csv.dvc` when `data/raw.csv` was edited in place (or its object left the
cache), `dvc dag` draws it above the stages that read the data, and `dvc repro` "verifies" it before them:
changed data is committed again (hashed, saved to the cache, md5/size/nfiles rewritten in the `.dvc` file
with its comments and other keys kept); missing data fails the repro. Without this an experiment recorded
after an in-place edit would carry a `.dvc` file that points at the old data.

Discovery walks the repo like `dvc_compat.dvcyaml.find_dvcfiles` (hidden directories and `.dvcignore`d
ones are skipped), so untracked `.dvc` files count too, as in DVC.
"""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dvc_compat.model import HashInfo, OutSpec, StageSpec
from exptui.pipeline.dag import find_dotdvc_files

if TYPE_CHECKING:  # parsed only when the repo has .dvc files: a no-op status stays light
    from dvc_compat.dotdvc import DotDvcFile
    from exptui.pipeline.status import Workspace
    from exptui.store.git import Git

__all__ = ["DataSourceStage", "find_dotdvc_files", "load_data_sources", "is_data_source", "recommit",
           "snapshot_data_sources"]


@dataclass
class DataSourceStage(StageSpec):
    """A `.dvc` file as a stage: no command, its outs are the tracked data.

    `dvcfile` and `name` are both the repo-relative path of the `.dvc` file, which is also its `address`
    (`dvc status` prints `data/raw.csv.dvc:`); `wdir` is the directory the out paths are relative to.
    """

    dotdvc: DotDvcFile | None = None

    @property
    def address(self) -> str:
        return self.dvcfile

    @property
    def is_import(self) -> bool:
        """`dvc import`/`import-url` files have deps; their data comes from elsewhere (`dvc update`)."""
        return bool(self.dotdvc and self.dotdvc.extra.get("deps"))

    @property
    def has_command(self) -> bool:
        """An old (DVC 1) single-stage `.dvc` file with a `cmd`: a real stage exptui does not run."""
        return bool(self.dotdvc and self.dotdvc.extra.get("cmd"))

    def recorded(self) -> list[HashInfo]:
        """The out hashes the `.dvc` file holds."""
        return list(self.dotdvc.outs) if self.dotdvc else []


def is_data_source(stage: StageSpec) -> bool:
    return isinstance(stage, DataSourceStage)


def load_data_source(root: Path, rel: str) -> DataSourceStage:
    """Parse one `.dvc` file into a stage (FormatError naming the file when it is malformed)."""
    from dvc_compat.dotdvc import read_dotdvc

    spec = read_dotdvc(root / rel, rel)
    wdir = posixpath.normpath(posixpath.join(posixpath.dirname(rel) or ".", str(spec.extra.get("wdir") or ".")))
    outs = [OutSpec(h.path, cache=flags.get("cache", True) is not False, persist=bool(flags.get("persist")))
            for h, flags in zip(spec.outs, spec.out_flags)]
    return DataSourceStage(name=rel, dvcfile=rel, wdir=wdir, cmd="", outs=outs,
                           frozen=bool(spec.extra.get("frozen")), desc=spec.extra.get("desc"), dotdvc=spec)


def load_data_sources(root: Path, found: list[str] | None = None) -> list[DataSourceStage]:
    """Every `.dvc` file under `root` (or the `found` ones) as a stage."""
    root = Path(root)
    return [load_data_source(root, rel) for rel in (find_dotdvc_files(root) if found is None else found)]


def recommit(ws: Workspace, stage: DataSourceStage) -> DotDvcFile:
    """Hash the data of `stage` as it is now, save it to the cache (linked when `cache.type` says so, as DVC
    does) and return the `.dvc` content that records it. The `.dvc` file itself is not written here.

    Raises PipelineError when the data is missing (DVC: "missing data 'source'").
    """
    from dvc_compat.dotdvc import DotDvcFile
    from exptui.errors import PipelineError
    from exptui.pipeline.dag import repo_path

    assert stage.dotdvc is not None
    outs: list[HashInfo] = []
    for out, old in zip(stage.outs, stage.dotdvc.outs):
        path = ws.abspath(stage, out.path)
        ws.state.forget(path)
        current = ws.state.hash(path)
        if current is None:
            raise PipelineError(f"failed to reproduce '{stage.address}': missing data source "
                                f"'{repo_path(stage, out.path)}'")
        if out.cache:
            ws.cache.save(path, current)
            ws.cache.link_saved(path, current, ws.state)
        outs.append(HashInfo(path=old.path, md5=current.md5, size=current.size, nfiles=current.nfiles,
                             isexec=current.isexec and not current.is_dir))
    return DotDvcFile(outs, stage.dotdvc.out_flags, stage.dotdvc.extra)


def snapshot_data_sources(root: Path, git: Git, tree: str, cache_dir: Path | None = None) -> str:
    """`tree` (a snapshot of the workspace) with every data source edited in place committed, for queued and
    `--temp` runs: the data goes into the (shared) cache and the snapshot gets the updated `.dvc` files, so the
    run dir checks out the data the user has now. This is DVC's `_stash_commit_deps`: like DVC, the
    workspace's `.dvc` files are left as they are (`exptui repro` or `exptui run` commits them there), and
    missing data, imports and frozen files are left to the run. Returns `tree` itself when nothing changed.
    """
    from dvc_compat.dotdvc import render_dotdvc
    from exptui.pipeline.status import Workspace, data_source_status

    root = Path(root)
    stages = load_data_sources(root)
    if not stages:
        return tree
    updates: dict[str, bytes] = {}
    ws = Workspace(root, cache_dir=cache_dir)
    try:
        for stage in stages:
            status = data_source_status(ws, stage)
            if (not status.changed or stage.frozen or stage.is_import or stage.has_command
                    or any(c.what == "deleted" for c in status.changes)):
                continue
            committed = recommit(ws, stage)
            old = (root / stage.dvcfile).read_text(encoding="utf-8")
            updates[stage.dvcfile] = render_dotdvc(committed, old, stage.dvcfile).encode("utf-8")
    finally:
        ws.close()
    if not updates:
        return tree
    return _replace_blobs(git, tree, updates)


def _replace_blobs(git: Git, tree: str, files: dict[str, bytes]) -> str:
    """`tree` with `files` (repo-relative path -> bytes) written in, through a temporary index."""
    import uuid

    index = git.git_dir / "exptui" / "tmp" / f"index-dotdvc-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    index.parent.mkdir(parents=True, exist_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", tree, env=env)
        info = b"".join(f"100644 {git.hash_object(data)}\t{path}".encode("utf-8", "surrogateescape") + b"\0"
                        for path, data in sorted(files.items()))
        git.run("update-index", "-z", "--add", "--index-info", input=info, env=env)
        return git.run("write-tree", env=env).strip()
    finally:
        for p in (index, Path(str(index) + ".lock")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
