"""Read the params and metrics a commit carries, in bulk, the way `dvc exp show` does (DVC §2.3).

For each commit: find its dvc.yaml files, parse them (cached per blob: most experiments share their
baseline's dvc.yaml), work out the params files (stage params deps, top-level `params:`, root `params.yaml`)
and metrics files (stage `metrics` outs, top-level `metrics:`), then read all of those blobs for all commits in
one `cat-file` round trip and parse each distinct blob once. A file that cannot be read becomes
``errors[file] = reason``; the rest of the commit's data is still returned.

The result for a commit depends only on immutable objects, so callers may cache it forever by commit sha.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

from exptui.errors import ExptuiError
from exptui.store.git import Git, parse_commit

# Bump when what is extracted per commit changes: the on-disk index is then rebuilt.
EXTRACT_VERSION = 7  # 7: a commit's .dvcignore hides its dvc.yaml files (6: tracked vars from undeclared params files)

#: params/metrics files bigger than this are shown as an error cell, not parsed (EXPTUI_MAX_FILE_SIZE overrides)
DEFAULT_MAX_FILE_SIZE = 2**20
MAX_FILE_SIZE_ENV = "EXPTUI_MAX_FILE_SIZE"
SIZE_HINT = f"raise the limit with {MAX_FILE_SIZE_ENV} (e.g. {MAX_FILE_SIZE_ENV}=64M) to show it"


def display_file_limit() -> int | None:
    """Largest params/metrics file read for display, in bytes (None: no limit).

    A file's cost is mostly its number of keys (each a column): a 1 MB metrics file of flat keys takes `show`
    about 4 s, the 45 MB one of issue 9 took 294 s and 4.5 GB. DVC's own files are a few KB, so the default is
    1 MiB; ``EXPTUI_MAX_FILE_SIZE`` takes bytes or a number with K, M or G (``64M``), ``0`` for no limit.
    """
    raw = os.environ.get(MAX_FILE_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_SIZE
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)i?b?", raw, re.IGNORECASE)
    if not m:
        raise ExptuiError(f"{MAX_FILE_SIZE_ENV}={raw!r} is not a size: use bytes or a number with K, M or G "
                          f"(e.g. {MAX_FILE_SIZE_ENV}=64M), or 0 for no limit")
    value = int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2).lower()])
    return value or None


@dataclass
class Declared:
    """What one commit's dvc.yaml files say to read."""

    params: dict[str, tuple[str, ...] | None] = field(default_factory=dict)   # file -> keys (None = whole file)
    metrics: dict[str, bool] = field(default_factory=dict)                    # file -> cached by DVC (not in git)
    error: tuple[str, str] | None = None                                      # (dvcfile, reason)


def _join(base: str, rel: str) -> str:
    if base in ("", "."):
        return posixpath.normpath(rel)
    return posixpath.normpath(posixpath.join(base, rel))


def declared_files(dvcfiles: Sequence[Any]) -> Declared:
    """Params and metrics files declared by parsed `DvcFile`s (dvc_compat.model)."""
    out = Declared()
    for dvcfile in dvcfiles:
        dvc_dir = posixpath.dirname(dvcfile.path) or "."
        for stage in dvcfile.stages.values():
            wdir = stage.wdir or "."
            for spec in stage.params:
                path = _join(wdir, spec.file)
                if spec.keys is None:
                    out.params[path] = None
                elif path not in out.params or out.params[path] is not None:
                    prev = out.params.get(path) or ()
                    out.params[path] = tuple(dict.fromkeys((*prev, *spec.keys)))
            for o in stage.outs:
                if o.kind == "metrics":
                    out.metrics[_join(wdir, o.path)] = bool(o.cache)
        for p in dvcfile.params:
            out.params[_join(dvc_dir, p)] = None
        for m in dvcfile.metrics:
            out.metrics.setdefault(_join(dvc_dir, m), False)
    # values `${}` takes from a params/vars file no stage declares: DVC's exp show/params show list those keys
    # ("tracked vars"); a declared file (params.yaml: always in full) is shown as declared, never widened
    declared = set(out.params) | {"params.yaml"}
    for dvcfile in dvcfiles:
        for path, keys in getattr(dvcfile, "vars_params", {}).items():
            if path not in declared:
                out.params[path] = tuple(dict.fromkeys((*(out.params.get(path) or ()), *keys)))
    return out


_INTERP = re.compile(r"(?<!\\)\$\{\s*([^}]*?)\s*\}")
_LOOP_NAMES = frozenset({"item", "key"})


def _interpolated_names(data: Any, key: str | None = None, out: set[str] | None = None) -> set[str]:
    """Root names of the `${...}` expressions outside `cmd`/`desc`/`meta` (those decide paths and stages)."""
    out = set() if out is None else out
    if key in ("cmd", "desc", "meta"):
        return out
    if isinstance(data, str):
        for expr in _INTERP.findall(data):
            out.add(re.split(r"[.\[]", expr, maxsplit=1)[0].strip())
    elif isinstance(data, dict):
        for k, v in data.items():
            _interpolated_names(k, None, out)
            _interpolated_names(v, str(k), out)
    elif isinstance(data, list):
        for v in data:
            _interpolated_names(v, None, out)
    return out


def _inline_vars(data: Any) -> set[str]:
    """Names defined by inline `vars` mappings (top level and per stage); a params file cannot redefine them."""
    names: set[str] = set()
    entries: list[Any] = []
    if isinstance(data, dict):
        entries += data.get("vars") or []
        for stage in (data.get("stages") or {}).values():
            if isinstance(stage, dict):
                entries += stage.get("vars") or []
                do = stage.get("do")
                if isinstance(do, dict):
                    entries += do.get("vars") or []
    for entry in entries:
        if isinstance(entry, dict):
            names.update(str(k) for k in entry)
    return names


def _has_value_interpolation(data: Any) -> bool:
    """True if what the dvc.yaml declares (paths, stages) can change with params values: some `${...}` outside
    `cmd` names something other than an inline var or a foreach/matrix loop variable."""
    names = _interpolated_names(data)
    return bool(names - _LOOP_NAMES - _inline_vars(data))


class _GitFileLoader:
    """A dvc_compat vars/params loader that reads files from one commit's tree instead of the disk."""

    def __new__(cls, git: Git, commit: str, root: Path, max_bytes: int | None = None) -> Any:
        from dvc_compat.dvcyaml import _FileLoader
        from dvc_compat.params import parse_params, params_format

        class Loader(_FileLoader):
            def load(self, abs_path, display, optional=False):  # noqa: ANN001 - dvc_compat's signature
                if abs_path in self.cache:
                    return self.cache[abs_path]
                rel = Path(abs_path).relative_to(root).as_posix()
                blob = git.read_blob(f"{commit}:{rel}")
                if blob is None:
                    if optional:
                        return None
                    from dvc_compat.dvcyaml import _Err

                    raise _Err(f"'{display}' does not exist")
                if max_bytes is not None and len(blob) > max_bytes:
                    if optional:  # the root params.yaml, merged in case `${}` uses it: its own cell says why
                        self.cache[abs_path] = None
                        return None
                    from dvc_compat.limits import size_error

                    raise size_error(display, len(blob), max_bytes, SIZE_HINT)
                data = parse_params(blob, display, params_format(rel))
                self.cache[abs_path] = data
                return data

        return Loader()


_FAKE_ROOT = Path("/__exptui_git_tree__")


class CommitReader:
    """Extracts `{params, metrics, errors}` for many commits with few git round trips."""

    def __init__(self, git: Git, dvc_cache_dir: Path | None = None):
        self.git = git
        self._dvcfile_cache: dict[str, tuple[bool, Any]] = {}   # blob sha -> (value-dependent, DvcFile|error)
        self._parsed_blobs: dict[tuple[str, str], tuple[bool, Any]] = {}  # (blob, fmt) -> (ok, data|reason)
        self._dvcfile_paths: dict[str, tuple[str, ...]] = {}     # commit sha -> dvc.yaml paths in its tree
        self._declared_cache: dict[tuple[tuple[str, str], ...], Declared] = {}
        self.dvc_cache_dir = dvc_cache_dir
        self.max_bytes = display_file_limit()

    #: parsed blobs kept between the chunks of a cold listing (each distinct blob is parsed once while it is here);
    #: more than this after a chunk means the blobs are mostly distinct (a sweep's params): keeping them saves nothing
    PARSED_KEEP = 5000

    def forget_parsed(self) -> None:
        """Between the chunks of a cold listing: drop the parsed params/metrics blobs once there are more than
        `PARSED_KEEP`, so a blob shared across chunks is still parsed once in most repos while 100,000 distinct
        blobs (a sweep's params) do not keep every chunk's values alive."""
        if len(self._parsed_blobs) > self.PARSED_KEEP:
            self._parsed_blobs.clear()

    # --- dvc.yaml discovery -------------------------------------------------------------------------------------

    def dvcfile_paths(self, commit: str) -> tuple[str, ...]:
        """Every dvc.yaml in `commit`'s tree (root first). One ls-tree per commit asked; callers ask baselines."""
        from dvc_compat.ignore import NEVER_WALKED

        cached = self._dvcfile_paths.get(commit)
        if cached is None:
            # check=False: a ref may name a baseline that is no object here (read() then leaves that commit out)
            names = self.git.run_bytes("ls-tree", "-r", "-z", "--name-only", "--full-tree", commit,
                                       check=False).split(b"\0")
            paths = [n.decode("utf-8", "surrogateescape") for n in names if n == b"dvc.yaml" or n.endswith(b"/dvc.yaml")]
            paths.sort(key=lambda p: (p.count("/"), p))
            paths = [p for p in paths if not any(part in NEVER_WALKED for part in p.split("/")[:-1])]
            ignores = [n.decode("utf-8", "surrogateescape") for n in names
                       if n == b".dvcignore" or n.endswith(b"/.dvcignore")]
            if paths and ignores:
                paths = self._not_dvcignored(commit, paths, ignores)
            cached = tuple(paths)
            self._dvcfile_paths[commit] = cached
        return cached

    def _not_dvcignored(self, commit: str, paths: list[str], ignores: list[str]) -> list[str]:
        """`paths` less those the commit's own ``.dvcignore`` files ignore, as `find_dvcfiles` filters the
        workspace (a repo that ignores `examples/*/dvc.yaml` shows no errors for their metrics in any commit)."""
        from dvc_compat.ignore import DvcIgnore

        answers = self.git.read_objects([f"{commit}:{p}" for p in ignores])
        texts = {p: (a[2].decode("utf-8", "replace") if a and a[1] == "blob" else None)
                 for p, a in zip(ignores, answers)}
        ignored = DvcIgnore(_FAKE_ROOT, reader=texts.get)
        return [p for p in paths if not ignored.is_ignored(p)]

    # --- main entry ---------------------------------------------------------------------------------------------

    def read(self, commits: Sequence[str], dvcfile_hint: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict]:
        """Map commit sha -> plain dict (`tree`, `parents`, `time`, `message`, `params`, `metrics`, `errors`).

        `dvcfile_hint` maps a commit to the dvc.yaml paths to look for (its baseline's); default: its own tree's.
        Missing commits are left out of the result.
        """
        if not commits:
            return {}
        hint = dvcfile_hint or {}
        git = self.git
        # 1. commit objects and where their dvc.yaml files are, in one round trip
        cmds: list[tuple[str, str]] = []
        for sha in dict.fromkeys(commits):
            paths = hint.get(sha)
            if paths is None:
                paths = self.dvcfile_paths(sha)
            cmds.append(("contents", sha))
            cmds.extend(("info", f"{sha}:{p}") for p in dict.fromkeys(("dvc.yaml", *paths)))
        infos = {}
        per_commit_dvcfiles: dict[str, list[tuple[str, str]]] = {}
        current: str | None = None
        for (cmd, name), answer in zip(cmds, git.batch(cmds)):
            if cmd == "contents":
                current = None
                if answer is not None and answer[1] == "commit" and answer[2] is not None:
                    current = name
                    infos[name] = parse_commit(answer[0], answer[2])
                    per_commit_dvcfiles[name] = []
            elif current is not None and answer is not None and answer[1] == "blob":
                per_commit_dvcfiles[current].append((name.split(":", 1)[1], answer[0]))
        # parse each distinct dvc.yaml blob once (read contents only for unseen blobs)
        unseen = sorted({b for files in per_commit_dvcfiles.values() for _p, b in files if b not in self._dvcfile_cache})
        if unseen:
            first_commit: dict[str, str] = {}
            first_path: dict[str, str] = {}
            for sha, files in per_commit_dvcfiles.items():
                for p, b in files:
                    first_commit.setdefault(b, sha)
                    first_path.setdefault(b, p)
            for blob, answer in zip(unseen, git.read_objects(unseen)):
                self._dvcfile_cache[blob] = self._parse_dvcfile(
                    answer[2] if answer else b"", first_path[blob], first_commit[blob]
                )
        # 2. declared files per commit (computed once per distinct set of dvc.yaml blobs unless `${}` decides paths)
        declared: dict[str, Declared] = {}
        for sha, files in per_commit_dvcfiles.items():
            key = tuple(files)
            d = self._declared_cache.get(key)
            if d is None:
                parsed = []
                err = None
                dependent_any = False
                for path, blob in files:
                    dependent, result = self._dvcfile_cache[blob]
                    if dependent:
                        dependent_any = True
                        dependent, result = self._parse_dvcfile_for(blob, path, sha)
                    if isinstance(result, str):
                        err = (path, result)
                    else:
                        parsed.append(result)
                d = declared_files(parsed)
                d.error = err
                if not dependent_any:
                    self._declared_cache[key] = d
            declared[sha] = d
        # 3. every params/metrics file of every commit, one round trip; each distinct blob parsed once
        reqs: list[tuple[str, str, str]] = []   # (commit, family, path)
        for sha, d in declared.items():
            reqs.extend((sha, "params", p) for p in d.params)
            if "params.yaml" not in d.params:
                reqs.append((sha, "params", "params.yaml"))
            reqs.extend((sha, "metrics", m) for m in d.metrics)
        answers_full = git.batch([("contents", f"{sha}:{path}") for sha, _f, path in reqs])
        contents: dict[str, bytes] = {}
        answers: list[tuple[str, str] | None] = []
        for a in answers_full:
            if a is None:
                answers.append(None)
                continue
            answers.append((a[0], a[1]))
            if a[1] == "blob" and a[2] is not None:
                contents[a[0]] = a[2]
        trees = sorted({a[0] for a in answers if a is not None and a[1] == "tree"})
        tree_files = self._expand_trees(trees) if trees else {}
        # 5. assemble
        results: dict[str, dict] = {}
        for sha, info in infos.items():
            d = declared[sha]
            results[sha] = {
                "tree": info.tree,
                "parents": info.parents,
                "time": info.commit_time,
                "message": info.message,
                "params": {},
                "metrics": {},
                "errors": {},
                "metric_files": tuple(d.metrics),
            }
            if d.error is not None:
                results[sha]["errors"][d.error[0]] = d.error[1]
        for (sha, family, path), hit in zip(reqs, answers):
            res = results[sha]
            d = declared[sha]
            if hit is None:
                if family == "params":
                    if path == "params.yaml" and "params.yaml" not in d.params:
                        continue  # root params.yaml is optional
                    res["errors"][path] = "file not found in this commit"
                else:
                    if d.metrics.get(path):
                        found = self._metrics_from_dvc_cache(sha, path)
                        if found is not None:
                            ok, data = found
                            if ok:
                                res["metrics"][path] = data
                            else:
                                res["errors"][path] = data
                            continue
                        res["errors"][path] = "tracked by DVC (cache: true), not in git; its contents are not in the local cache"
                    else:
                        res["errors"][path] = "file not found in this commit"
                continue
            blob, typ = hit
            if typ == "tree":
                for sub, sub_blob in tree_files.get(blob, []):
                    full = f"{path}/{sub}"
                    ok, data = self._parse_blob(sub_blob, full, contents)
                    if ok:
                        res[family][full] = _filter_metrics(data) if family == "metrics" else _flatten(data)
                    else:
                        res["errors"][full] = data
                continue
            ok, data = self._parse_blob(blob, path, contents)
            if not ok:
                res["errors"][path] = data
                continue
            if family == "params":
                keys = None if path == "params.yaml" else d.params.get(path)  # root params.yaml: in full
                res["params"][path] = _select_keys(data, keys) if keys else _flatten(data)
            else:
                res["metrics"][path] = _filter_metrics(data)
        return results

    # --- helpers ------------------------------------------------------------------------------------------------

    def _parse_dvcfile(self, text: bytes, path: str, commit: str) -> tuple[bool, Any]:
        """(value-dependent, DvcFile or error text) for one dvc.yaml blob."""
        from dvc_compat.errors import FormatError
        from dvc_compat.yamlio import load_yaml

        try:
            raw = load_yaml(text, path)
        except FormatError as exc:
            return False, str(exc)
        dependent = _has_value_interpolation(raw)
        return dependent, self._parse_dvcfile_text(text, path, commit)

    def _parse_dvcfile_for(self, blob: str, path: str, commit: str) -> tuple[bool, Any]:
        """Parse a value-dependent dvc.yaml with this commit's params (`${}` outside cmd)."""
        text = self.git.read_blob(blob) or b""
        return True, self._parse_dvcfile_text(text, path, commit)

    def _parse_dvcfile_text(self, text: bytes, path: str, commit: str) -> Any:
        from dvc_compat.dvcyaml import parse_dvcfile
        from dvc_compat.errors import FormatError

        try:
            return parse_dvcfile(text, _FAKE_ROOT, path, {},
                                 _GitFileLoader(self.git, commit, _FAKE_ROOT, self.max_bytes))
        except FormatError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken commit must not break the listing
            return f"cannot parse: {exc}"

    def _parse_blob(self, blob: str, path: str, contents: dict[str, bytes]) -> tuple[bool, Any]:
        fmt = _fmt(path)
        key = (blob, fmt)
        cached = self._parsed_blobs.get(key)
        if cached is not None:
            return cached
        data = contents.get(blob)
        if data is None:
            data = self.git.read_blob(blob) or b""
        result = parse_file_bytes(data, path, fmt, self.max_bytes)
        self._parsed_blobs[key] = result
        return result

    def _expand_trees(self, trees: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """Files (relative path, blob sha) under each tree, recursively (metrics directories)."""
        out: dict[str, list[tuple[str, str]]] = {}
        for tree in trees:
            out[tree] = [
                (e.path, e.sha) for e in self.git.ls_tree(tree, recursive=True) if e.type == "blob"
            ]
        return out

    def _metrics_from_dvc_cache(self, commit: str, path: str) -> tuple[bool, Any] | None:
        """A DVC-cached metrics file: its md5 from that commit's dvc.lock, its bytes from the local DVC cache."""
        if self.dvc_cache_dir is None:
            return None
        from dvc_compat.errors import FormatError
        from exptui.store.outputs import read_cached_output

        try:
            raw = read_cached_output(self.git, commit, path, self.dvc_cache_dir, self.max_bytes, SIZE_HINT)
        except FormatError as exc:
            return False, str(exc)
        if raw is None:
            return None
        ok, parsed = parse_file_bytes(raw, path, _fmt(path), self.max_bytes)
        return (True, _filter_metrics(parsed)) if ok else (False, parsed)


_FORMATS: dict[str, str] = {}


def _fmt(path: str) -> str:
    """dvc_compat's parser choice for a file name, memoised (it is asked once per file per commit)."""
    fmt = _FORMATS.get(path)
    if fmt is None:
        from dvc_compat.params import params_format

        fmt = _FORMATS[path] = params_format(path)
    return fmt


def parse_file_bytes(data: bytes, path: str, fmt: str, max_bytes: int | None = None) -> tuple[bool, Any]:
    """(True, parsed mapping) or (False, one-line reason) for params/metrics file bytes.

    A file over `max_bytes` is not parsed: its reason says how to raise the limit. Everything else is bounded by
    dvc_compat's readers (alias expansion, nesting)."""
    from dvc_compat.errors import FormatError
    from dvc_compat.params import parse_params

    if max_bytes is not None and len(data) > max_bytes:
        from dvc_compat.limits import size_error

        return False, str(size_error(path, len(data), max_bytes, SIZE_HINT))
    try:
        if fmt == "json":  # the common metrics case: skip the generic dispatcher
            from dvc_compat.limits import check_depth

            value = json.loads(data.removeprefix(b"\xef\xbb\xbf")) if data.strip() else {}
            if not isinstance(value, dict):
                return False, f"{path}: expected a mapping at the top level"
            check_depth(value, path)
            return True, value
        if fmt == "yaml":  # the common params case: plain `key: value` lines, read without PyYAML's constructor
            from dvc_compat.yaml_plain import load_plain

            plain = load_plain(data)
            if plain is not None:
                return True, plain
        return True, parse_params(data, path, fmt)
    except FormatError as exc:
        return False, str(exc)
    except json.JSONDecodeError as exc:
        return False, f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        from dvc_compat.limits import depth_error

        return False, str(depth_error(path))
    except (ValueError, UnicodeDecodeError) as exc:
        if fmt == "json":  # the fast path's error: let the reader word it
            try:
                parse_params(data, path, fmt)
            except FormatError as exc2:
                return False, str(exc2)
        return False, f"{path}: {exc}"
    except Exception as exc:  # noqa: BLE001
        return False, f"{path}: cannot parse ({type(exc).__name__}: {exc})"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """dvc_compat's (DVC's) flatten of a params mapping; anything else (a list at the top) has no keys."""
    from dvc_compat.params import flatten

    return flatten(d, prefix) if isinstance(d, dict) else {}


def _select_keys(data: dict, keys: Sequence[str]) -> dict[str, Any]:
    from dvc_compat.params import get_dotted

    out: dict[str, Any] = {}
    for key in keys:
        try:
            value = get_dotted(data, key)
        except KeyError:
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out


def _filter_metrics(d: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten a metrics mapping keeping numbers, strings and bools (as DVC does: lists and nulls are dropped)."""
    return {k: v for k, v in _flatten(d, prefix).items() if isinstance(v, (int, float, str, bool))}
