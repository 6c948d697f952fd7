"""Run facts: the package digest is cached on disk and follows changes of the environment."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from exptui.store import facts


def test_packages_digest_is_cached_and_invalidated_by_a_changed_sys_path_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])

    digest = facts.packages_digest.__wrapped__  # past the per-process memo, to the disk cache
    first = digest()
    assert first == facts._compute_packages_digest() and len(first) == 64
    cache = tmp_path / "cache" / "exptui" / "packages-digest.json"
    assert cache.exists()

    # A cached digest is returned as long as the environment key holds ...
    cache.write_text(cache.read_text().replace(first, "f" * 64))
    assert digest() == "f" * 64
    # ... and an install (a new entry in a sys.path directory) invalidates it.
    (site / "newpkg-1.0.dist-info").mkdir()
    os.utime(site, ns=(1, 1))
    assert digest() == first


def test_unwritable_cache_only_costs_recomputation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: the cache dir can't be made
    assert facts.packages_digest.__wrapped__() == facts._compute_packages_digest()


def test_a_half_installed_package_does_not_break_the_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty `*.dist-info` (an interrupted pip install): the stdlib reader returns no metadata, the
    importlib_metadata backport (imported by dask and others, and then in sys.meta_path) raises. Either way the
    digest is computed and the broken entry left out."""
    try:
        import importlib_metadata  # noqa: F401 - registers its finder, the one that raises
    except ImportError:
        pass
    site = tmp_path / "lib" / "site-packages"
    (site / "broken-1.0.dist-info").mkdir(parents=True)
    before = facts._compute_packages_digest()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert facts._compute_packages_digest() == before
