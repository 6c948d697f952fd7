"""Run facts (when, where, how an experiment ran) kept as git trailers in the experiment commit message.

Why trailers and not git notes: the index already reads every experiment commit object to find its tree and
time, so trailers cost nothing more to read; they are immutable like the experiment itself, travel with
`git push`/`dvc exp push` without a second refspec, and cannot drift from the commit they describe. DVC only ever
looks at the first line of the message (`dvc: commit experiment <exp_hash>`) and ignores the body, so the commit
stays a valid DVC experiment. Mutable, user-made data (stars, labels, notes) lives in git notes instead
(see annotations.py).

Format, after one blank line under the DVC first line::

    Exptui-Status: success
    Exptui-Started: 2026-11-23T10:02:03.123456+00:00
    ...

Values are single-line (newlines are escaped as ``\\n``).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import socket
import sys
from dataclasses import fields, replace
from pathlib import Path
from datetime import datetime, timezone
from typing import Any

from exptui.records import RunFacts

PREFIX = "Exptui-"
_KEYS: dict[str, str] = {
    "created": "Created",
    "started": "Started",
    "finished": "Finished",
    "duration": "Duration",
    "command": "Command",
    "host": "Host",
    "python": "Python",
    "packages_digest": "Packages-Digest",
    "exptui_version": "Version",
    "error": "Error",
    "sweep": "Sweep",
    "sweep_label": "Sweep-Label",
    "search": "Search",
    "search_name": "Search-Name",
}
_FIELDS = {v.lower(): k for k, v in _KEYS.items()}
_DATES = ("created", "started", "finished")


def now() -> datetime:
    return datetime.now(timezone.utc)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "")


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def to_trailers(facts: RunFacts, status: str | None = None) -> str:
    """The trailer block (no leading blank line, no trailing newline); '' when there is nothing to say."""
    lines = []
    if status:
        lines.append(f"{PREFIX}Status: {status}")
    for f in fields(RunFacts):
        value = getattr(facts, f.name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, float):
            value = f"{value:.3f}"
        lines.append(f"{PREFIX}{_KEYS[f.name]}: {_escape(str(value))}")
    return "\n".join(lines)


def parse_trailers(message: str) -> tuple[RunFacts | None, str | None]:
    """(facts, status) from a commit message; (None, None) when it carries no exptui trailers."""
    if PREFIX not in message:
        return None, None
    values: dict[str, Any] = {}
    status = None
    for line in message.splitlines():
        if not line.startswith(PREFIX):
            continue
        key, sep, value = line[len(PREFIX):].partition(": ")
        if not sep:
            continue
        key = key.lower()
        if key == "status":
            status = value.strip()
            continue
        name = _FIELDS.get(key)
        if name is None:
            continue
        value = _unescape(value)
        if name in _DATES:
            try:
                values[name] = datetime.fromisoformat(value)
            except ValueError:
                continue
        elif name == "duration":
            try:
                values[name] = float(value)
            except ValueError:
                continue
        else:
            values[name] = value
    if not values and status is None:
        return None, None
    return RunFacts(**values), status


@functools.lru_cache(maxsize=1)
def packages_digest() -> str:
    """sha256 over the sorted ``name==version`` lines of the installed distributions (same env -> same digest).

    Walking every distribution's metadata costs ~0.5 s of CPU, paid by every run and every queue
    worker. Installing or removing a package adds or removes a ``*.dist-info`` directory, which
    changes the mtime of its ``sys.path`` directory; so the digest is cached on disk keyed by the
    interpreter and those mtimes, and recomputed only when the environment really changed.
    """
    key = _environment_key()
    cache = _digest_cache_path()
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key and isinstance(cached.get("digest"), str):
            return cached["digest"]
    except (OSError, ValueError, AttributeError):
        pass
    digest = _compute_packages_digest()
    try:
        from dvc_compat.fsutil import atomic_write

        atomic_write(cache, json.dumps({"key": key, "digest": digest}).encode("utf-8"), durable=False)
    except OSError:
        pass  # a read-only home only costs the recomputation
    return digest


def _environment_key() -> str:
    parts = [sys.executable, sys.prefix]
    # Only package directories: the current directory and source folders on sys.path change
    # all the time without any package being installed.
    for entry in sys.path:
        if os.path.basename(entry.rstrip(os.sep)) not in ("site-packages", "dist-packages"):
            continue
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _digest_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "exptui" / "packages-digest.json"


def _compute_packages_digest() -> str:
    from importlib import metadata

    seen = set()
    for dist in metadata.distributions():
        try:  # a half-installed package (an empty *.dist-info) must not stop an experiment from being recorded
            name = (dist.metadata.get("Name") or "")  # type: ignore[attr-defined]  # an email.message.Message at runtime
            name = name.strip().lower().replace("_", "-")
            version = dist.version
        except Exception:  # noqa: BLE001 - stdlib returns None there; the importlib_metadata backport raises
            continue
        if name:
            seen.add(f"{name}=={version}")
    return hashlib.sha256("\n".join(sorted(seen)).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def environment_facts() -> RunFacts:
    """Host, Python, package digest and exptui version of this process."""
    from exptui import __version__

    return RunFacts(
        host=socket.gethostname(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        packages_digest=packages_digest(),
        exptui_version=__version__,
    )


def start_facts(command: str | None = None, created: datetime | None = None) -> RunFacts:
    """Facts at the start of a run: environment + start time + command line."""
    started = now()
    return replace(
        environment_facts(),
        created=created or started,
        started=started,
        command=command if command is not None else " ".join(sys.argv),
    )


def finish_facts(facts: RunFacts, error: str | None = None) -> RunFacts:
    """`facts` with finish time and duration filled in."""
    finished = now()
    duration = (finished - facts.started).total_seconds() if facts.started else None
    return replace(facts, finished=finished, duration=duration, error=error)
