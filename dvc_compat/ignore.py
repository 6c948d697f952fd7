"""``.dvcignore`` files, matched as DVC matches them (its `dvc.ignore`, built on the same `pathspec` package).

* every directory may hold a ``.dvcignore`` (gitignore syntax: ``#`` comments, ``!`` re-includes, ``/`` anchors,
  ``dir/`` for directories only, ``*``/``?``/``[]``/``**``); its patterns apply to paths relative to that directory,
  and a deeper file's patterns come after its parents' (the last pattern that matches decides);
* a path is ignored when its own last matching pattern ignores it, or when one of its parent directories is
  ignored — as in git, nothing inside an ignored directory can be re-included (and its ``.dvcignore`` is not read);
* lines are stripped of surrounding white space first, as DVC does.

One `DvcIgnore` serves a whole repository: discovery of dvc.yaml and ``.dvc`` files, and directory hashing.
"""
from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from pathlib import Path

__all__ = ["DVCIGNORE", "NEVER_WALKED", "DvcIgnore"]

DVCIGNORE = ".dvcignore"
#: directory names DVC never looks into, at any depth (its default ignore patterns ``.git``, ``.hg/``, ``.dvc/``);
#: other hidden directories are walked like any other (``.pipelines/extra/dvc.yaml`` is collected)
NEVER_WALKED = frozenset({".git", ".hg", ".dvc"})


class DvcIgnore:
    """The ``.dvcignore`` files of the repository at `root` (read lazily, each once).

    `reader`, when given, returns the text of a repo-relative ``.dvcignore`` path (None: no such file) instead of
    reading the work tree: a commit's tree is matched by its own ``.dvcignore`` files, not the workspace's.
    """

    def __init__(self, root: str | os.PathLike[str], reader: Callable[[str], str | None] | None = None) -> None:
        self.root = Path(root)
        self._reader = reader
        self._specs: dict[str, object | None] = {}
        self._dirs: dict[str, bool] = {}

    def _spec(self, directory: str) -> object | None:
        """The compiled patterns of `directory`/.dvcignore (repo-relative, "" for the root); None without any."""
        if directory not in self._specs:
            spec = None
            if self._reader is not None:
                text = self._reader(posixpath.join(directory, DVCIGNORE) if directory else DVCIGNORE) or ""
            else:
                try:
                    text = (self.root / directory / DVCIGNORE).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    text = ""
            lines = [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]
            if lines:
                import pathspec

                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self._specs[directory] = spec
        return self._specs[directory]

    def applies_under(self, directory: str) -> bool:
        """Can anything at or below `directory` be ignored? (Lets a walker skip the matching when no
        ``.dvcignore`` of the directory's ancestors has a pattern; files inside it are found during the walk.)"""
        parts = [p for p in posixpath.normpath(directory).split("/") if p not in ("", ".")]
        return any(self._spec("/".join(parts[:i])) is not None for i in range(len(parts) + 1))

    def _decide(self, path: str, is_dir: bool) -> bool | None:
        """The last matching pattern's verdict on `path` alone (its parents not considered); None: no match."""
        parts = path.split("/")
        verdict: bool | None = None
        for depth in range(len(parts)):            # .dvcignore files of the root, then of each parent directory
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            rel = "/".join(parts[depth:])
            best = None
            for candidate in ((rel, rel + "/") if is_dir else (rel,)):
                result = spec.check_file(candidate)  # type: ignore[attr-defined]
                if result.include is not None and (best is None or result.index > best.index):
                    best = result
            if best is not None:
                verdict = best.include
        return verdict

    def is_ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """Is the repo-relative POSIX path `relpath` ignored (it, or a directory above it)?"""
        path = posixpath.normpath(relpath)
        if path in ("", "."):
            return False
        parent = posixpath.dirname(path)
        if parent and self._dir_ignored(parent):
            return True
        return bool(self._decide(path, is_dir))

    def _dir_ignored(self, path: str) -> bool:
        known = self._dirs.get(path)
        if known is None:
            parent = posixpath.dirname(path)
            known = (bool(parent) and self._dir_ignored(parent)) or bool(self._decide(path, True))
            self._dirs[path] = known
        return known
