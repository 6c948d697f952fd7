"""The stage graph over every dvc.yaml of a repo.

An edge runs from stage A to stage B when one of A's outs is one of B's deps, or
contains it (B reads a file inside A's output directory), or lies inside it (B reads
a directory A writes into). All paths are compared repo-relative and normalised, so
stages in `sub/dvc.yaml` with `wdir` connect to the root pipeline as DVC connects them.
"""
from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dvc_compat.model import DvcFile, StageSpec
from exptui.errors import PipelineError


def repo_path(stage: StageSpec, path: str) -> str:
    """`path` as written in the stage (relative to its wdir) → normalised repo-relative POSIX path."""
    joined = path if stage.wdir in ("", ".") else posixpath.join(stage.wdir, path)
    return posixpath.normpath(joined)


def is_outside_repo(path: str) -> bool:
    """Is the normalised repo-relative `path` (from `repo_path`) outside the repository (absolute, or `../...`)?"""
    return path.startswith("/") or path == ".." or path.startswith("../")


def _ancestors(path: str) -> Iterable[str]:
    """`a/b/c` → `a/b`, `a` (not the path itself); `/tmp/x` → `/tmp` (not `/`: an absolute out, which DVC allows
    with `cache: false`, must not make everything under the root its child). Ends also where `dirname` stops
    moving (`dirname('/') == '/'`), so no path can make this loop forever."""
    while True:
        parent = posixpath.dirname(path)
        if not parent or parent == path or parent == "/":
            return
        path = parent
        yield path


@dataclass
class Pipeline:
    """All stages in declaration order, with upstream edges by stage address."""

    stages: list[StageSpec]
    upstream: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_address: dict[str, StageSpec] = {s.address: s for s in self.stages}

    @property
    def downstream(self) -> dict[str, list[str]]:
        down: dict[str, list[str]] = {s.address: [] for s in self.stages}
        for addr, ups in self.upstream.items():
            for up in ups:
                down[up].append(addr)
        return down

    def order(self, addresses: Iterable[str] | None = None) -> list[StageSpec]:
        """Topological order (upstream first); among independent stages, declaration order."""
        wanted = None if addresses is None else set(addresses)
        done: set[str] = set()
        out: list[StageSpec] = []
        for stage in self.stages:
            if wanted is None or stage.address in wanted:
                self._visit(stage.address, done, [], out, wanted)
        return out

    def _visit(self, addr: str, done: set[str], stack: list[str], out: list[StageSpec],
               wanted: set[str] | None) -> None:
        # Iterative DFS would be needed only for pipelines thousands of stages deep.
        if addr in done:
            return
        if addr in stack:
            cycle = [self.by_address[a] for a in stack[stack.index(addr):] + [addr]]
            raise PipelineError(
                f"{_files(cycle)}: stages form a cycle: " + " -> ".join(s.address for s in cycle)
                + " (each reads what the next writes; remove one of those deps or outs)"
            )
        stack.append(addr)
        for up in self.upstream.get(addr, ()):
            if wanted is None or up in wanted:
                self._visit(up, done, stack, out, wanted)
        stack.pop()
        done.add(addr)
        out.append(self.by_address[addr])

    def closure(self, addresses: Iterable[str]) -> set[str]:
        """The given stages and everything upstream of them."""
        seen: set[str] = set()
        todo = list(addresses)
        while todo:
            addr = todo.pop()
            if addr in seen:
                continue
            seen.add(addr)
            todo.extend(self.upstream.get(addr, ()))
        return seen

    def resolve_target(self, target: str) -> list[str]:
        """A CLI target → stage addresses.

        Accepts a stage name (`train`), a foreach/matrix group name (`train` for
        `train@a`, `train@b`), `sub/dvc.yaml:stage`, `sub/dvc.yaml` (all its stages)
        or `sub:stage` (folder of a dvc.yaml).
        """
        target = target.strip()
        if ":" in target:
            file_part, name = target.rsplit(":", 1)
            file_part = posixpath.normpath(file_part.rstrip("/") or ".")
            if not file_part.endswith(("dvc.yaml", "dvc.yml")):
                file_part = posixpath.normpath(posixpath.join(file_part, "dvc.yaml"))
            candidates = [s for s in self.stages if s.dvcfile == file_part]
            if not candidates:
                raise PipelineError(f"'{file_part}' does not exist or has no stages (target '{target}')")
        else:
            name = target
            norm = posixpath.normpath(target)
            if norm.endswith(".dvc") and norm in self.by_address:  # a data source (`dvc add`'s .dvc file)
                return [norm]
            if norm.endswith(("dvc.yaml", "dvc.yml")):
                found = [s.address for s in self.stages if s.dvcfile == norm]
                if found:
                    return found
                raise PipelineError(f"'{norm}' does not exist or has no stages")
            # a bare name means the root dvc.yaml first, as in DVC; else any file if unambiguous
            candidates = [s for s in self.stages if s.dvcfile == "dvc.yaml"]
            if not any(_name_matches(s.name, name) for s in candidates):
                candidates = self.stages
        matched = [s for s in candidates if s.name == name] or [
            s for s in candidates if _name_matches(s.name, name)
        ]
        if not matched:
            known = ", ".join(s.address for s in self.stages[:8])
            more = ", ..." if len(self.stages) > 8 else ""
            raise PipelineError(f"stage '{target}' not found (stages: {known}{more})")
        files = {s.dvcfile for s in matched}
        if len(files) > 1:
            raise PipelineError(
                f"target '{target}' is ambiguous: " + ", ".join(sorted(s.address for s in matched))
                + " (use 'path/dvc.yaml:stage')"
            )
        return [s.address for s in matched]

    def select(self, targets: list[str] | None) -> list[StageSpec]:
        """Stages to consider for `targets` (all when empty), upstream included, in run order."""
        if not targets:
            return self.order()
        addresses: list[str] = []
        for target in targets:
            addresses.extend(self.resolve_target(target))
        return self.order(self.closure(addresses))


def _files(stages: Iterable[StageSpec]) -> str:
    """The file(s) defining `stages`, for the front of an error line: `dvc.yaml`, `dvc.yaml, sub/dvc.yaml`."""
    seen: list[str] = []
    for stage in stages:
        name = stage.dvcfile or "dvc.yaml"
        if name not in seen:
            seen.append(name)
    return ", ".join(seen)


def _name_matches(stage_name: str, target: str) -> bool:
    return stage_name == target or stage_name.startswith(target + "@")


def build_pipeline(dvcfiles: Iterable[DvcFile], extra_stages: Iterable[StageSpec] = ()) -> Pipeline:
    """Connect the stages of all dvc.yaml files (and `extra_stages`: the `.dvc` data sources, after them);
    reject duplicate/overlapping outs and cycles."""
    stages = [stage for f in dvcfiles for stage in f.stages.values()] + list(extra_stages)
    producer: dict[str, StageSpec] = {}
    for stage in stages:
        for out in stage.outs:
            path = repo_path(stage, out.path)
            other = producer.get(path)
            if other is not None:
                who = (f"'{other.address}' and '{stage.address}'" if other is not stage
                       else f"'{stage.address}' (twice)")
                raise PipelineError(f"{_files([other, stage])}: output '{path}' is specified in more than one "
                                    f"stage: {who} (each output must come from exactly one stage)")
            producer[path] = stage
    # Overlapping outs (one inside another) make ownership ambiguous; DVC rejects them too.
    for path, stage in producer.items():
        for anc in _ancestors(path):
            other = producer.get(anc)
            if other is not None:
                raise PipelineError(
                    f"{_files([other, stage])}: output '{path}' of stage '{stage.address}' is inside output '{anc}' "
                    f"of stage '{other.address}'; overlapping outputs are not allowed"
                )
    # producers by every ancestor directory of an out, for deps that contain outs
    inside: dict[str, list[StageSpec]] = {}
    for path, stage in producer.items():
        for anc in _ancestors(path):
            inside.setdefault(anc, []).append(stage)

    upstream: dict[str, list[str]] = {}
    for stage in stages:
        ups: list[str] = []
        for dep in stage.deps:
            if "://" in dep:
                continue
            path = repo_path(stage, dep)
            found = [producer[p] for p in (path, *_ancestors(path)) if p in producer]
            found.extend(inside.get(path, ()))
            for up in found:
                if up.address not in ups:
                    ups.append(up.address)
        upstream[stage.address] = ups
    pipeline = Pipeline(stages, upstream)
    pipeline.order()  # raises on a cycle
    return pipeline


def find_dotdvc_files(root: Path) -> list[str]:
    """Repo-relative paths of every `*.dvc` file (data added with `dvc add`) under `root`, sorted; the same walk
    rules as dvc.yaml discovery: hidden directories are walked as DVC walks them (`.data/raw.csv.dvc` is a data
    source), never `.git`/`.hg`/`.dvc` nor a Python virtualenv. Here, not in `datasources`, so a repo without them
    never imports that."""
    from dvc_compat.dvcyaml import is_virtualenv
    from dvc_compat.ignore import NEVER_WALKED, DvcIgnore

    ignored = DvcIgnore(root)
    found: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            child = f"{rel}/{e.name}" if rel else e.name
            if e.name.endswith(".dvc"):
                if e.name != ".dvc" and e.is_file() and not ignored.is_ignored(child):
                    found.append(child)
            elif (e.is_dir(follow_symlinks=False) and e.name not in NEVER_WALKED
                  and not ignored.is_ignored(child, True) and not is_virtualenv(e.path)):
                stack.append(child)
    found.sort()
    return found


def load_pipeline(root: Path) -> Pipeline:
    """Parse every dvc.yaml and every `.dvc` file (data added with `dvc add`) under `root` and build the graph.

    As in DVC, a `.dvc` file is a stage without a command (exptui.pipeline.datasources): stages reading its
    data hang below it, so status and repro see data edited in place.
    """
    from dvc_compat.dvcyaml import load_project

    root = Path(root)
    dvcfiles = load_project(root)
    _refuse_dvc2_checkpoint_locks(root, dvcfiles)
    found = find_dotdvc_files(root)
    if not found:
        return build_pipeline(dvcfiles)
    from exptui.pipeline.datasources import load_data_sources

    return build_pipeline(dvcfiles, load_data_sources(root, found))


def _refuse_dvc2_checkpoint_locks(root: Path, dvcfiles: Iterable[DvcFile]) -> None:
    """DVC 3 refuses a project whose dvc.lock holds a DVC 2 `checkpoint` key wherever it loads it (`dvc dag` too),
    so `exptui dag` does as well, in the one line `status`/`repro` give. Only a lock naming the key is parsed here:
    the others are read (once) by the commands that use them."""
    from dvc_compat.lockfile import lockfile_path, parse_lock

    for dvcfile in dvcfiles:
        rel = lockfile_path(dvcfile.path)
        try:
            text = (root / rel).read_bytes()
        except OSError:
            continue
        if b"checkpoint" in text:
            parse_lock(text, rel)


# ---------------------------------------------------------------- drawing

def _layers(pipeline: Pipeline, stages: list[StageSpec]) -> list[list[StageSpec]]:
    wanted = {s.address for s in stages}
    depth: dict[str, int] = {}
    for stage in stages:  # topological order: upstream depths are known
        ups = [u for u in pipeline.upstream.get(stage.address, ()) if u in wanted]
        depth[stage.address] = 1 + max((depth[u] for u in ups), default=-1)
    layers: list[list[StageSpec]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for stage in stages:
        layers[depth[stage.address]].append(stage)
    return layers


def draw_ascii(pipeline: Pipeline, stages: list[StageSpec], width: int = 100) -> str:
    """A layered drawing: one row of boxes per depth, each box naming the stages it reads from.

    Boxes in a row are independent of each other; every box depends only on boxes in rows
    above it, so reading top to bottom is a valid run order. A `|`/`v` leaves every box that
    feeds a later row.
    """
    if not stages:
        return ""
    from exptui.query.cells import cell_width, fit       # here: `repro`/`status` never pay for rich's tables
    from exptui.query.inert import inert

    wanted = {s.address for s in stages}
    feeds = {u for s in stages for u in pipeline.upstream.get(s.address, ()) if u in wanted}
    lines: list[str] = []
    pending_arrows: list[int] = []  # centre columns of boxes in the previous row that feed later rows
    for layer in _layers(pipeline, stages):
        boxes: list[tuple[StageSpec, list[str]]] = []
        for stage in layer:
            ups = [u for u in pipeline.upstream.get(stage.address, ()) if u in wanted]
            body = [stage.address] + _wrap_upstream(ups, width - 4)
            if stage.frozen:
                body.append("(frozen)")
            # stage names come from dvc.yaml: shown inert, measured in terminal cells (a wide name keeps its box)
            body = [inert(b) for b in body]
            inner = max(cell_width(b) for b in body)
            box = ["+" + "-" * (inner + 2) + "+"]
            box += [f"| {fit(b, inner)} |" for b in body]
            box.append("+" + "-" * (inner + 2) + "+")
            boxes.append((stage, box))
        # wrap boxes into rows that fit the width
        rows: list[list[tuple[StageSpec, list[str]]]] = [[]]
        used = 0
        for item in boxes:
            w = len(item[1][0]) + 2
            if rows[-1] and used + w > width:
                rows.append([])
                used = 0
            rows[-1].append(item)
            used += w
        for i, row in enumerate(rows):
            if i or (lines and not pending_arrows):
                lines.append("")  # rows without arrows between them (a wrapped layer) stay apart
            elif pending_arrows:
                for glyph in "|v":
                    line = [" "] * (max(pending_arrows) + 1)
                    for col in pending_arrows:
                        line[col] = glyph
                    lines.append("".join(line))
            pending_arrows = []
            if len(rows) == 1:  # arrows only leave a layer drawn on one row (else the "<-" lines say it)
                col = 0
                for stage, box in row:
                    if stage.address in feeds:
                        pending_arrows.append(col + len(box[0]) // 2)
                    col += len(box[0]) + 2
            height = max(len(b) for _, b in row)
            for k in range(height):
                lines.append("  ".join(
                    (b[k] if k < len(b) else " " * len(b[0])) for _, b in row).rstrip())
    return "\n".join(lines)


def _wrap_upstream(ups: list[str], width: int) -> list[str]:
    """`<- a, b, c` split over lines no wider than `width` (a name longer than that gets a line of its own)."""
    if not ups:
        return []
    lines: list[str] = []
    current = "<- "
    for k, name in enumerate(ups):
        piece = name + ("," if k < len(ups) - 1 else "")
        if len(current) + len(piece) > width and current.strip() not in ("<-", ""):
            lines.append(current.rstrip())
            current = "   "
        current += piece + " "
    lines.append(current.rstrip())
    return lines


def _edges(pipeline: Pipeline, stages: list[StageSpec]) -> list[tuple[str, str]]:
    wanted = {s.address for s in stages}
    return [(u, s.address) for s in stages for u in pipeline.upstream.get(s.address, ()) if u in wanted]


def draw_dot(pipeline: Pipeline, stages: list[StageSpec]) -> str:
    """Graphviz source; `exptui dag --dot | dot -Tsvg`."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["strict digraph {"]
    lines += [f"\t{q(s.address)};" for s in stages]
    lines += [f"\t{q(a)} -> {q(b)};" for a, b in _edges(pipeline, stages)]
    lines.append("}")
    return "\n".join(lines)


def draw_mermaid(pipeline: Pipeline, stages: list[StageSpec]) -> str:
    """Mermaid flowchart (renders in GitHub markdown)."""
    ids = {s.address: f"node{i + 1}" for i, s in enumerate(stages)}
    lines = ["flowchart TD"]
    for s in stages:
        label = s.address.replace('"', "#quot;")
        lines.append(f'\t{ids[s.address]}["{label}"]')
    for a, b in _edges(pipeline, stages):
        lines.append(f"\t{ids[a]}-->{ids[b]}")
    return "\n".join(lines)
