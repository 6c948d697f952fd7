"""Remote dependencies (``s3://``, ``gs://``, ``azure://``...): which DVC plugin each URL scheme needs.

DVC reads such a dep through a filesystem plugin (``dvc-s3`` and so on); without the plugin every command that
loads the stage fails with "s3 is supported, but requires 'dvc-s3' to be installed". exptui never hashes remote
data itself, so where the plugin is missing it says the same in one line instead of treating the URL as a local
path. The scheme -> plugin table is DVC's (`dvc_objects.fs.known_implementations`).
"""
from __future__ import annotations

import importlib.util
import re

__all__ = ["PLUGINS", "remote_scheme", "missing_plugin_message"]

# scheme -> (pip package, module it installs)
PLUGINS: dict[str, tuple[str, str]] = {
    "azure": ("dvc-azure", "dvc_azure"),
    "gdrive": ("dvc-gdrive", "dvc_gdrive"),
    "gs": ("dvc-gs", "dvc_gs"),
    "hdfs": ("dvc-hdfs", "dvc_hdfs"),
    "http": ("dvc-http", "dvc_http"),
    "https": ("dvc-http", "dvc_http"),
    "oss": ("dvc-oss", "dvc_oss"),
    "s3": ("dvc-s3", "dvc_s3"),
    "ssh": ("dvc-ssh", "dvc_ssh"),
    "webdav": ("dvc-webdav", "dvc_webdav"),
    "webdavs": ("dvc-webdav", "dvc_webdav"),
    "webhdfs": ("dvc-webhdfs", "dvc_webhdfs"),
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def remote_scheme(path: str) -> str | None:
    """The URL scheme of a dep DVC reads through a plugin (``s3`` for ``s3://b/k``), None for anything else."""
    m = _SCHEME.match(path)
    scheme = m.group(1).lower() if m else None
    return scheme if scheme in PLUGINS else None


def missing_plugin_message(path: str) -> str | None:
    """DVC's message for a remote dep whose plugin is not importable here, None if it is (or `path` is local)."""
    scheme = remote_scheme(path)
    if scheme is None:
        return None
    package, module = PLUGINS[scheme]
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{scheme} is supported, but requires '{package}' to be installed"
