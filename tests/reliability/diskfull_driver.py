"""Run exptui commands in a copy of a repo on a small tmpfs with a given amount of free space; report as JSON.

Run inside a private mount namespace (`unshare --mount --propagation private`, as root) so the tmpfs is visible
to this process and its children only and disappears with them:

    python diskfull_driver.py SPEC_JSON

SPEC: {"repo": source repo, "mount": empty dir to mount on, "size": tmpfs bytes, "free": bytes to leave free,
       "steps": [[argv after `exptui`], ...] run while the disk is full, "again": [[argv], ...] run after room is
       made again}. Files named in "watch" are read before and after the full-disk steps.

Prints one JSON object: each step's exit code/stdout/stderr, the watched files' bytes before and after, leftover
temp files, `git fsck`'s exit code, the refs, and the queue status (after recovery) at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXPTUI = str(Path(sys.executable).parent / "exptui")


def fill(mount: Path, free: int) -> None:
    """Leave about `free` bytes available on the file system of `mount` (a filler file takes the rest)."""
    filler = mount / "filler"
    st = os.statvfs(mount)
    avail = st.f_bavail * st.f_frsize
    todo = max(0, avail - free)
    with open(filler, "wb") as fh:
        chunk = b"\0" * (1 << 20)
        while todo > 0:
            n = min(len(chunk), todo)
            try:
                fh.write(chunk[:n])
                fh.flush()
            except OSError:
                break
            todo -= n
    # tmpfs rounds to pages: top up byte by byte is pointless; report what is really left
    return None


def leftovers(repo: Path) -> list[str]:
    """Temp files exptui (or its atomic writes) left behind; git's own object store is git's business."""
    out = []
    for dirpath, _dirs, files in os.walk(repo):
        rel_dir = os.path.relpath(dirpath, repo)
        if rel_dir.startswith((os.path.join(".git", "objects"), os.path.join(".git", "refs"),
                               os.path.join(".git", "logs"))):
            continue  # git's own store (and ref names, which may start with "tmp")
        for f in files:
            if f.endswith(".tmp") or f.startswith("tmp") or ".exptui-" in f:
                out.append(os.path.join(rel_dir, f))
    return sorted(out)


def _file_size_limit(limit: int):
    def setup() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return setup


def run(repo: Path, argv: list[str], limit: int | None = None) -> dict:
    proc = subprocess.run([EXPTUI, *argv], cwd=repo, capture_output=True, text=True, timeout=300,
                          preexec_fn=None if limit is None else _file_size_limit(limit))
    return {"argv": argv, "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def main() -> int:
    spec = json.loads(sys.argv[1])
    mount = Path(spec["mount"])
    rlimit = spec.get("mode") == "rlimit"   # no tmpfs possible: a file-size limit stands in for a full disk
    if not rlimit:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={spec['size']}", "tmpfs", str(mount)], check=True)
    repo = mount / "repo"
    shutil.copytree(spec["repo"], repo, symlinks=True)
    watch = spec.get("watch", [])
    before = {f: (repo / f).read_bytes().decode("utf-8", "replace") if (repo / f).exists() else None for f in watch}
    if not rlimit:
        fill(mount, spec["free"])
    st = os.statvfs(mount)
    result: dict = {"free": spec["free"] if rlimit else st.f_bavail * st.f_frsize, "steps": [], "again": []}
    for argv in spec["steps"]:
        result["steps"].append(run(repo, argv, spec["free"] if rlimit else None))
    result["before"] = before
    result["refs_full"] = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=repo,
                                         capture_output=True, text=True).stdout.splitlines()
    result["after"] = {f: (repo / f).read_bytes().decode("utf-8", "replace") if (repo / f).exists() else None
                       for f in watch}
    if not rlimit:
        (mount / "filler").unlink()
    result["leftovers"] = leftovers(repo)
    status = run(repo, ["queue", "status", "--json"])   # recovery runs here, with room again
    result["queue"] = json.loads(status["stdout"]) if status["rc"] == 0 else status
    for argv in spec.get("again", []):
        result["again"].append(run(repo, argv))
    result["fsck"] = subprocess.run(["git", "fsck", "--no-progress"], cwd=repo, capture_output=True,
                                    text=True).returncode
    result["refs"] = subprocess.run(["git", "for-each-ref", "--format=%(refname) %(objecttype)"], cwd=repo,
                                    capture_output=True, text=True).stdout.splitlines()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
