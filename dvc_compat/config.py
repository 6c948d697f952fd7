"""The repo's DVC config (``.dvc/config`` + ``.dvc/config.local``) and ``dvc init``'s files.

DVC writes its config with configobj: INI sections, 4-space indented ``key = value`` lines, values with commas
double-quoted (``type = "reflink,copy"``) and remote sections spelled ``['remote "name"']``. Only the repo and
local levels are read (DVC also has global/system levels; exptui runs inside one repo and uses what the repo
says). Relative ``cache.dir`` paths are resolved against the ``.dvc`` directory of the file that set them, as
DVC does.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dvc_compat.errors import FormatError
from dvc_compat.fsutil import atomic_write

__all__ = [
    "DvcConfig",
    "parse_config_text",
    "load_config",
    "cache_dir",
    "init_dvc_dir",
    "DVC_GITIGNORE",
    "DVCIGNORE_TEXT",
    "DEFAULT_LINK_TYPES",
    "DEFAULT_CACHE_DIR",
    "hydra_composition_refusal",
]

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
DVCIGNORE_TEXT = (
    "# Add patterns of files dvc should ignore, which could improve\n"
    "# the performance. Learn more at\n"
    "# https://dvc.org/doc/user-guide/dvcignore\n"
)
DEFAULT_LINK_TYPES = ("reflink", "copy")
DEFAULT_CACHE_DIR = ".dvc/cache"
"""The cache directory, relative to the repository, when ``.dvc/config`` does not move it (``cache.dir``)."""

_SECTION = re.compile(r"""^\s*\[\s*(?P<q>['"]?)(?P<name>.*?)(?P=q)\s*\]\s*(?:#.*)?$""")
_REMOTE = re.compile(r"""^remote\s+(["'])(?P<name>.*)\1$""")


@dataclass
class DvcConfig:
    """Merged repo + local config; `sections` maps section -> key -> string value (remotes not included)."""

    root: Path
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    remotes: dict[str, dict[str, str]] = field(default_factory=dict)
    cache_dir: Path = Path(".dvc/cache")

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        return self.sections.get(section, {}).get(key, default)

    def get_bool(self, section: str, key: str, default: bool = False) -> bool:
        value = self.get(section, key)
        if value is None:
            return default
        return value.strip().lower() in ("true", "1", "yes", "on")

    @property
    def link_types(self) -> tuple[str, ...]:
        """``cache.type`` as a tuple (default reflink, copy): the order in which to try placing outs."""
        raw = self.get("cache", "type")
        if not raw:
            return DEFAULT_LINK_TYPES
        return tuple(t.strip() for t in raw.split(",") if t.strip())

    @property
    def core_remote(self) -> str | None:
        return self.get("core", "remote")

    @property
    def parsing(self) -> dict[str, str]:
        return dict(self.sections.get("parsing", {}))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    # strip an inline comment outside quotes
    if " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return value


def parse_config_text(text: str, display: str = ".dvc/config") -> dict[str, dict[str, str]]:
    """Parse configobj-style INI into ``{section: {key: value}}``; remotes stay as ``'remote "name"'``."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = _SECTION.match(line)
        if m:
            current = sections.setdefault(m["name"].strip(), {})
            continue
        if "=" not in line or current is None:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise FormatError(display, f"cannot parse config line: {shown!r}", line=lineno)
        key, _, value = line.partition("=")
        current[key.strip()] = _unquote(value)
    return sections


MAX_CONFIG_BYTES = 2**20
"""DVC's config files hold a few hundred bytes; a bigger one is refused rather than parsed line by line."""


def read_config_file(path: str | os.PathLike[str], display: str) -> str | None:
    """The text of one config file, None if it does not exist; FormatError (one line) if it is not a plain UTF-8
    file under MAX_CONFIG_BYTES (a FIFO or a 50 MB file must not stall every command)."""
    from dvc_compat.limits import read_limited

    try:
        data = read_limited(path, display, MAX_CONFIG_BYTES, "a DVC config holds a few settings: remove what "
                            "does not belong there")
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(display, "not UTF-8 text") from None


def load_config(repo_root: str | os.PathLike[str]) -> DvcConfig:
    """Read ``.dvc/config`` then ``.dvc/config.local`` (local wins) of the repo at `repo_root`."""
    root = Path(repo_root)
    dvc_dir = root / ".dvc"
    cfg = DvcConfig(root=root, cache_dir=dvc_dir / "cache")
    for name in ("config", "config.local"):
        text = read_config_file(dvc_dir / name, f".dvc/{name}")
        if text is None:
            continue
        for section, values in parse_config_text(text, f".dvc/{name}").items():
            m = _REMOTE.match(section)
            if m:
                cfg.remotes.setdefault(m["name"], {}).update(values)
                continue
            cfg.sections.setdefault(section, {}).update(values)
            if section == "cache" and "dir" in values:
                cache = Path(os.path.expanduser(values["dir"]))
                cfg.cache_dir = cache if cache.is_absolute() else (dvc_dir / cache)
    cfg.cache_dir = Path(os.path.normpath(cfg.cache_dir))
    return cfg


def cache_dir(repo_root: str | os.PathLike[str]) -> Path:
    """The repo's DVC cache directory (``.dvc/cache`` unless ``cache.dir`` moves it), absolute if root is."""
    return load_config(repo_root).cache_dir


def init_dvc_dir(repo_root: str | os.PathLike[str]) -> list[str]:
    """Create what ``dvc init`` creates if missing: ``.dvc/config`` (empty), ``.dvc/.gitignore``,
    ``.dvc/tmp/`` and ``.dvcignore``, byte-identical to DVC 3. Existing files are left alone.

    Returns the repo-relative paths of the files created (for the caller to ``git add``).
    """
    root = Path(repo_root)
    created: list[str] = []
    files = {".dvc/config": "", ".dvc/.gitignore": DVC_GITIGNORE, ".dvcignore": DVCIGNORE_TEXT}
    (root / ".dvc" / "tmp").mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        if path.exists():
            continue
        atomic_write(path, content.encode("utf-8"))
        created.append(rel)
    return created


def hydra_composition_refusal(repo_root: str | os.PathLike[str]) -> str | None:
    """Why an experiment cannot be made here when ``hydra.enabled`` is true in .dvc/config (or config.local);
    None otherwise.

    With it, every `dvc exp run` rebuilds params.yaml by Hydra composition (``conf/`` + the ``-S`` overrides), a
    step exptui does not implement: running without it would record params DVC would not have used."""
    cfg = load_config(repo_root)
    if not cfg.get_bool("hydra", "enabled"):
        return None
    return ("'hydra.enabled' is true in .dvc/config: DVC composes params.yaml with Hydra for every experiment, "
            "which exptui does not support; use `dvc exp run`, or turn it off with `dvc config hydra.enabled false`")
