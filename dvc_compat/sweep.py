"""``-S`` overrides and parameter sweeps (the Hydra override syntax ``dvc exp run -S`` accepts).

One override: ``[file:]key=value`` (set an existing key), ``+key=value`` (add a new key), ``++key=value``
(add or set), ``~key`` (delete). The file defaults to ``params.yaml``; as in DVC, it is the text before the
first ``:`` of the part before ``=``.

Sweep values (a grid, expanded as the cartesian product of all overrides, in the order given):

* ``a,b,c``: a choice list; brackets, braces and quotes are respected (``[1,2],[3]`` is two lists);
* ``choice(a,b,...)``: the same;
* ``range(start,stop[,step])``: ints or floats, stop exclusive (Hydra's semantics; floats are stepped with
  decimal arithmetic so ``range(0.1,0.4,0.1)`` is ``0.1, 0.2, 0.3``, not ``0.30000000000000004``).

Random search only (`sample_random`): ``uniform(a,b)``, ``loguniform(a,b)`` (a, b > 0), ``randint(a,b)``
(both ends inclusive, like Python's ``random.randint``). Grid values are sampled uniformly in random search.

Values are typed as DVC types them (`params.parse_value`: ``3`` int, ``0.1`` float, ``true``, ``null``,
``[1,2]``...). Bad syntax raises `SweepSyntaxError` naming the override, the token and its column.
"""
from __future__ import annotations

import itertools
import math
import os
import posixpath
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from collections.abc import Callable, Sequence

from dvc_compat.errors import SweepSyntaxError
from dvc_compat.exp_refs import validate_exp_name
from dvc_compat.params import parse_value

__all__ = [
    "DEFAULT_FILE",
    "DELETE",
    "Override",
    "Sweep",
    "FileEdit",
    "parse_override",
    "parse_overrides",
    "check_paths",
    "expand_grid",
    "sample_random",
    "count",
    "is_sweep",
    "group_by_file",
    "format_combination",
]

DEFAULT_FILE = "params.yaml"
Op = Literal["set", "add", "force_add", "delete"]
SweepKind = Literal["value", "choice", "range", "uniform", "loguniform", "randint"]
_FUNCS = ("choice", "range", "uniform", "loguniform", "randint")
_UNSUPPORTED = ("glob", "interval", "shuffle", "sort", "tag", "int", "float", "str", "bool", "json_str")
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-./@$\[\]]+$")


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()
"""Value of a ``~key`` override in an expanded combination."""


@dataclass(frozen=True)
class Sweep:
    """The parsed value side: one value, a grid (choice/range) or a distribution."""

    kind: SweepKind
    values: tuple[Any, ...] = ()        # value: (v,); choice/range: the grid; distributions: (low, high)

    @property
    def is_grid(self) -> bool:
        return self.kind in ("value", "choice", "range")

    def __len__(self) -> int:
        return len(self.values) if self.is_grid else 0


@dataclass(frozen=True)
class Override:
    """One ``-S`` argument. `file` None means the default params file; `raw` is the value text."""

    file: str | None
    key: str
    raw: str | None
    op: Op = "set"
    sweep: Sweep = field(default=Sweep("value", (None,)), compare=False)
    text: str = field(default="", compare=False)

    @property
    def path(self) -> str:
        return self.file or DEFAULT_FILE

    @property
    def target(self) -> tuple[str | None, str]:
        return (self.file, self.key)


@dataclass
class FileEdit:
    """What to do to one params file for one experiment (arguments of `params.apply_overrides`)."""

    values: dict[str, Any] = field(default_factory=dict)
    allow_new: set[str] = field(default_factory=set)
    remove: list[str] = field(default_factory=list)


def _err(text: str, message: str, token: str | None = None, column: int | None = None) -> SweepSyntaxError:
    msg = f"-S '{text}': {message}"
    if token is not None:
        msg += f": '{token}'"
    if column is not None:
        msg += f" (column {column})"
    return SweepSyntaxError(msg.replace("\r", "\\r").replace("\n", "\\n"),  # always one line
                            override=text, token=token, column=column)


def _split_top(s: str, text: str, offset: int) -> list[tuple[str, int]]:
    """Split on commas outside brackets/braces/parens/quotes; returns (piece, start offset in `text`)."""
    pieces: list[tuple[str, int]] = []
    quote: str | None = None
    start = 0
    closing = {"]": "[", "}": "{", ")": "("}
    stack: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":  # an escaped character (e.g. `\,`) never splits or opens anything
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            stack.append(ch)
        elif ch in "]})":
            if not stack or stack[-1] != closing[ch]:
                raise _err(text, f"unbalanced '{ch}'", s, offset + i + 1)
            stack.pop()
        elif ch == "," and not stack:
            pieces.append((s[start:i], offset + start))
            start = i + 1
        i += 1
    if quote:
        raise _err(text, "unterminated quote", s, offset + 1)
    if stack:
        raise _err(text, f"unclosed '{stack[-1]}'", s, offset + 1)
    pieces.append((s[start:], offset + start))
    return pieces


def _number(text: str, token: str, col: int, fn: str) -> int | float:
    value = parse_value(token.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(text, f"{fn}() needs numbers, got '{token.strip()}'", None, col)
    return value


def _decimals(x: int | float) -> Decimal:
    try:
        return Decimal(repr(x))
    except InvalidOperation:  # pragma: no cover - inf/nan are rejected before
        return Decimal(x)


def _range_values(start: int | float, stop: int | float, step: int | float) -> tuple[Any, ...]:
    if all(isinstance(v, int) for v in (start, stop, step)):
        return tuple(range(int(start), int(stop), int(step)))
    ds, dstop, dstep = _decimals(start), _decimals(stop), _decimals(step)
    n = max(0, math.ceil((dstop - ds) / dstep))
    return tuple(float(ds + i * dstep) for i in range(n))


def _parse_value_side(text: str, value: str, offset: int) -> Sweep:
    stripped = value.strip()
    m = re.match(r"^([A-Za-z_][A-Za-z_0-9]*)\s*\((.*)\)\s*$", stripped, re.S)
    if m and m.group(1) in _FUNCS + _UNSUPPORTED:
        fn = m.group(1)
        col = offset + value.index(fn) + 1
        if fn in _UNSUPPORTED:
            raise _err(text, f"{fn}() is not supported in sweeps", stripped, col)
        inner = m.group(2)
        inner_off = offset + value.index("(") + 1
        args = [(a, o) for a, o in _split_top(inner, text, inner_off)]
        if len(args) == 1 and not args[0][0].strip():
            args = []
        if any(not a.strip() for a, _ in args):
            bad = "range() needs 2 or 3 numbers" if fn == "range" else f"{fn}() has an empty argument"
            raise _err(text, bad, stripped, col)
        if fn == "choice":
            if not args:
                raise _err(text, "choice() needs at least one value", stripped, col)
            return Sweep("choice", tuple(parse_value(a.strip()) for a, _ in args))
        if fn == "range":
            if len(args) not in (2, 3):
                raise _err(text, "range() needs 2 or 3 numbers", stripped, col)
            nums = [_number(text, a, o + 1, fn) for a, o in args]
            step = nums[2] if len(nums) == 3 else 1
            if step == 0:
                raise _err(text, "range() step must not be 0", stripped, col)
            if any(isinstance(v, float) and not math.isfinite(v) for v in nums):
                raise _err(text, "range() needs finite numbers", stripped, col)
            return Sweep("range", _range_values(nums[0], nums[1], step))
        # distributions
        if len(args) != 2:
            raise _err(text, f"{fn}() needs 2 numbers", stripped, col)
        low, high = (_number(text, a, o + 1, fn) for a, o in args)
        if fn == "randint" and not (isinstance(low, int) and isinstance(high, int)):
            raise _err(text, "randint() needs integers", stripped, col)
        if low > high:
            raise _err(text, f"{fn}() needs low <= high", stripped, col)
        if fn == "loguniform" and low <= 0:
            raise _err(text, "loguniform() needs positive bounds", stripped, col)
        return Sweep(fn, (low, high))  # type: ignore[arg-type]
    pieces = _split_top(value, text, offset)
    if len(pieces) == 1:
        return Sweep("value", (parse_value(value),))
    for piece, off in pieces:
        if not piece.strip():
            raise _err(text, "empty value in comma list", value.strip(), off + 1)
    return Sweep("choice", tuple(parse_value(p.strip()) for p, _ in pieces))


def parse_override(text: str) -> Override:
    """Parse one ``-S`` argument; raises SweepSyntaxError (with the column of the bad token)."""
    s = text
    op: Op = "set"
    pos = 0
    if s.startswith("++"):
        op, pos = "force_add", 2
    elif s.startswith("+"):
        op, pos = "add", 1
    elif s.startswith("~"):
        op, pos = "delete", 1
    eq = s.find("=", pos)
    if eq < 0 and op != "delete":
        raise _err(text, "expected [file:]key=value", text, 1)
    lhs = s[pos:] if eq < 0 else s[pos:eq]
    file: str | None = None
    key_off = pos
    if ":" in lhs:
        file, _, key = lhs.partition(":")
        key_off = pos + len(file) + 1
        file = file.strip()
        if not file:
            raise _err(text, "empty file name before ':'", lhs, pos + 1)
        file = _inside_path(text, file, pos + 1)
    else:
        key = lhs
    key = key.strip()
    if not key:
        raise _err(text, "missing key", lhs or text, key_off + 1)
    if not _KEY_RE.match(key) or key.startswith(".") or key.endswith(".") or ".." in key:
        raise _err(text, "invalid key", key, key_off + 1)
    if op == "delete":
        raw = None if eq < 0 else s[eq + 1 :]
        return Override(file=file, key=key, raw=raw, op=op, sweep=Sweep("value", (DELETE,)), text=text)
    raw = s[eq + 1 :]
    sweep = _parse_value_side(text, raw, eq + 1)
    return Override(file=file, key=key, raw=raw, op=op, sweep=sweep, text=text)


_PROTECTED_DIRS = (".git", ".dvc")


def _inside_path(text: str, file: str, column: int) -> str:
    """The params file of an override as a normalised repo-relative POSIX path; SweepSyntaxError when it is
    absolute, climbs out of the repository or points into ``.git`` / ``.dvc`` (a params edit must never write
    there, nor a queued snapshot carry such an entry). Symlinks are checked by `check_paths` against a root."""
    if file.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", file):
        raise _err(text, f"'{file}' is an absolute path; give the params file's path inside the repository, "
                   "relative to its top", None, column)
    norm = posixpath.normpath(file.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise _err(text, f"'{file}' is outside the repository; params files must be inside it", None, column)
    if norm == ".":
        raise _err(text, f"'{file}' is the repository itself; name a params file", None, column)
    if any(part.casefold() in _PROTECTED_DIRS for part in norm.split("/")):
        raise _err(text, f"'{file}' is inside .git or .dvc, where params files cannot be; use a file of the "
                   "project", None, column)
    return norm


def check_paths(overrides: Sequence[Override], root: str | os.PathLike[str],
                protected: Sequence[str | os.PathLike[str]] = ()) -> None:
    """SweepSyntaxError naming the override whose params file, symlinks resolved, lies outside `root` or inside
    its ``.git`` / ``.dvc`` (or one of the `protected` directories, e.g. a git dir kept elsewhere)."""
    top = Path(root).resolve()
    guarded = [Path(p).resolve() for p in protected]
    for o in overrides:
        real = (top / o.path).resolve()
        try:
            rel = real.relative_to(top)
        except ValueError:
            raise _err(o.text, f"'{o.path}' resolves to {real}, outside the repository (a symlink?); params files "
                       "must be inside it") from None
        if any(part.casefold() in _PROTECTED_DIRS for part in rel.parts) or any(
                real == g or g in real.parents for g in guarded):
            raise _err(o.text, f"'{o.path}' resolves to {real}, inside .git or .dvc, where params files cannot be; "
                       "use a file of the project")


def parse_overrides(texts: Sequence[str]) -> list[Override]:
    """Parse several ``-S`` arguments; the same (file, key) twice is an error (ambiguous)."""
    out = [parse_override(t) for t in texts]
    seen: dict[tuple[str, str], str] = {}
    for o in out:
        target = (o.path, o.key)
        if target in seen:
            raise _err(o.text, f"'{o.key}' of {o.path} is already set by -S '{seen[target]}'")
        seen[target] = o.text
    return out


def is_sweep(overrides: Sequence[Override]) -> bool:
    """True if the overrides describe more than one experiment (or need random sampling)."""
    return any(o.sweep.kind != "value" for o in overrides)


def count(overrides: Sequence[Override]) -> int:
    """Number of grid combinations, without expanding them; SweepSyntaxError for distributions."""
    n = 1
    for o in overrides:
        if not o.sweep.is_grid:
            raise _err(o.text, f"{o.sweep.kind}() can only be sampled: use random search with a count")
        n *= len(o.sweep.values)
    return n


def expand_grid(overrides: Sequence[Override]) -> list[dict[tuple[str | None, str], Any]]:
    """Cartesian product of all overrides, first override varying slowest (``itertools.product`` order).

    Each combination maps (file or None, key) to the typed value (`DELETE` for ``~key``). An empty range
    or choice gives an empty list.
    """
    count(overrides)  # validates: no distributions in a grid
    targets = [o.target for o in overrides]
    return [dict(zip(targets, combo)) for combo in itertools.product(*(o.sweep.values for o in overrides))]


def sample_random(
    overrides: Sequence[Override], n: int, seed: int | None = None
) -> list[dict[tuple[str | None, str], Any]]:
    """`n` random combinations: grid values drawn uniformly, distributions sampled; same seed, same list.

    Each param draws from its own stream, seeded by (seed, file, key): the values drawn for `train.lr` with
    `--seed 1` do not depend on the order of the overrides, nor on other params being swept or pinned to a
    constant alongside it. So the sweep dialog (which lists every param) and `run --queue --random` (which lists
    only those given) draw the same trials for the same seed.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    base = seed if seed is not None else random.SystemRandom().randrange(1 << 62)
    streams = {o.target: random.Random(f"exptui-sweep:{base}:{o.target[0] or ''}:{o.target[1]}")
               for o in overrides}
    out: list[dict[tuple[str | None, str], Any]] = []
    for o in overrides:
        if o.sweep.is_grid and not o.sweep.values:
            raise _err(o.text, "empty sweep: nothing to sample from")
    for _ in range(n):
        combo: dict[tuple[str | None, str], Any] = {}
        for o in overrides:
            sw = o.sweep
            rng = streams[o.target]
            if sw.is_grid:
                combo[o.target] = sw.values[0] if len(sw.values) == 1 else sw.values[rng.randrange(len(sw.values))]
            elif sw.kind == "uniform":
                combo[o.target] = rng.uniform(float(sw.values[0]), float(sw.values[1]))
            elif sw.kind == "loguniform":
                lo, hi = math.log(sw.values[0]), math.log(sw.values[1])
                combo[o.target] = math.exp(rng.uniform(lo, hi))
            else:  # randint
                combo[o.target] = rng.randint(int(sw.values[0]), int(sw.values[1]))
        out.append(combo)
    return out


def type_mismatch(current: Any, value: Any) -> str | None:
    """Why `value` cannot replace a param whose value is `current` (None if it can): a sweep of
    `train.max_depth=abc` would queue trials that all fail later. Numbers take numbers (int or float), booleans take
    booleans, lists and mappings take their own kind; a string param takes anything, and null replaces anything or
    is replaced by anything (DVC writes what it is given: to change a param's type, edit the params file)."""
    if value is DELETE or current is None or value is None or isinstance(current, str):
        return None
    if isinstance(current, bool):
        return None if isinstance(value, bool) else "a boolean (true/false)"
    if isinstance(current, (int, float)):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if isinstance(current, list):
        return None if isinstance(value, list) else "a list"
    if isinstance(current, dict):
        return None if isinstance(value, dict) else "a mapping"
    return None


def group_by_file(
    combination: dict[tuple[str | None, str], Any], overrides: Sequence[Override], default_file: str = DEFAULT_FILE
) -> dict[str, FileEdit]:
    """Turn one combination into per-file edits (set values, keys allowed to be new, keys to remove)."""
    ops = {o.target: o.op for o in overrides}
    edits: dict[str, FileEdit] = {}
    for (file, key), value in combination.items():
        edit = edits.setdefault(file or default_file, FileEdit())
        op = ops.get((file, key), "set")
        if op == "delete" or value is DELETE:
            edit.remove.append(key)
            continue
        edit.values[key] = value
        if op in ("add", "force_add"):
            edit.allow_new.add(key)
    return edits


#: descriptive trial names longer than this fall back to generated ones
MAX_TRIAL_NAME = 60


def _abbrev(key: str) -> str:
    """`train.max_depth` -> `md`, `train.learning_rate` -> `lr`, `train.seed` -> `seed` (last segment: initials of
    its words, or the word itself, cut to 6 characters)."""
    last = re.split(r"[.\[\]]", key.rstrip("]"))[-1] or key
    words = [w for w in re.split(r"[_\-\s]+", last) if w]
    if len(words) > 1:
        return "".join(w[0] for w in words).lower()
    return (words[0] if words else last)[:6].lower()


def _short_value(value: Any) -> str:
    if isinstance(value, bool):
        return "" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return str(value)
    text = re.sub(r"[^A-Za-z0-9_.+]+", "_", str(value)).strip("._")
    return text[:20]


def trial_names(combos: Sequence[dict[tuple[str | None, str], Any]], taken: Callable[[str], bool]) -> list[str | None]:
    """A name per trial that says what it is, from the params that vary across the sweep: ``md4-lr0.05``, a string
    value as itself (``random_forest-md4``), a boolean as ``name``/``noname``; ``-2``, ``-3``... when two trials
    (or an existing experiment, `taken`) would share a name. None for a trial with nothing varying (a sweep of one)
    or whose name would be too long or invalid: the caller generates one then."""
    if len(combos) < 2:
        return [None] * len(combos)
    keys = list(dict.fromkeys(k for combo in combos for k in combo))
    varying = [k for k in keys if len({repr(c.get(k)) for c in combos}) > 1]
    out: list[str | None] = []
    used: set[str] = set()
    for combo in combos:
        parts = []
        for file, key in varying:
            value = combo.get((file, key), DELETE)
            abbr = _abbrev(key)
            if value is DELETE:
                parts.append(f"no{abbr}")
            elif isinstance(value, bool):
                parts.append(f"{_short_value(value)}{abbr}")
            elif isinstance(value, str):
                parts.append(_short_value(value) or abbr)
            else:
                parts.append(f"{abbr}{_short_value(value)}")
        base = "-".join(p for p in parts if p)
        name: str | None = base or None
        if name is not None:
            n = 1
            while name in used or taken(name):
                n += 1
                name = f"{base}-{n}"
            try:
                validate_exp_name(name)
            except ValueError:
                name = None
            if name is not None and (len(name.encode()) > MAX_TRIAL_NAME or _looks_like_revision(name)):
                name = None
        if name is not None:
            used.add(name)
        out.append(name)
    return out


#: sweep labels longer than this are cut (they are shown in a header line and a column)
MAX_SWEEP_LABEL = 24


def sweep_label(combos: Sequence[dict[tuple[str | None, str], Any]], taken: Callable[[str], bool]) -> str:
    """A short label for a sweep from the params it varies: ``md-lr`` for a grid over ``train.max_depth`` and
    ``train.learning_rate`` (the abbreviations trial names use), ``sweep`` when nothing varies; ``-2``, ``-3``...
    when `taken` says the label is already used (another sweep of the same params on the same baseline)."""
    keys = list(dict.fromkeys(k for combo in combos for k in combo))
    varying = [k for k in keys if len({repr(c.get(k, DELETE)) for c in combos}) > 1]
    parts = list(dict.fromkeys(_abbrev(key) for _file, key in varying))
    base = re.sub(r"[^A-Za-z0-9_.+-]+", "_", "-".join(parts))[:MAX_SWEEP_LABEL].strip("-_.") or "sweep"
    label, n = base, 1
    while taken(label):
        n += 1
        label = f"{base}-{n}"
    return label


def _looks_like_revision(name: str) -> bool:
    """Hex digits only (a sha), a leading '-' (an option), or git's HEAD names: never a generated name."""
    return bool(re.fullmatch(r"[0-9a-fA-F]{4,}", name)) or name.startswith("-") or name.upper().endswith("HEAD") \
        or name.casefold() == "workspace"


def format_combination(combination: dict[tuple[str | None, str], Any]) -> str:
    """``train.lr=0.1 other.yaml:seed=2`` (values as YAML flow text) for names, logs and the TUI."""
    from dvc_compat.params import format_value

    parts = []
    for (file, key), value in combination.items():
        prefix = f"{file}:" if file else ""
        parts.append(f"~{prefix}{key}" if value is DELETE else f"{prefix}{key}={format_value(value)}")
    return " ".join(parts)
