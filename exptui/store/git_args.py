"""What every git process of exptui is run with: its environment, and the listing's `for-each-ref` arguments.

Kept apart (standard library and `dvc_compat.ref_names` only) so that `exptui ui` can start the listing's
`for-each-ref` first thing (`exptui.store.prestart`), before `exptui.store.git` and the index are imported, with
exactly the environment and arguments the index's own `read_refs` uses: the two outputs must be the same bytes.
"""
from __future__ import annotations

import os

# from `ref_names`, not `exp_refs`: that module brings hashlib, random and dataclasses (~5 ms) into `queue status`
# and into the dashboard's very first step
from dvc_compat.ref_names import EXPS_NAMESPACE
NOTES_REF = "refs/notes/exptui"
#: one line per ref, NUL between name and sha (neither can hold a NUL); `*objectname` (peeling) would make git read
#: every object, so tags are read apart (`read_refs`)
REFS_FORMAT = "--format=%(refname)%00%(objectname)"


def git_env() -> dict[str, str]:
    """The environment `Git` runs git with: no index file of a caller's (a hook's) in it, never a password
    prompt, English messages (some are parsed)."""
    env = dict(os.environ)
    env.pop("GIT_INDEX_FILE", None)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def refs_args(exps: tuple[str, ...] = (EXPS_NAMESPACE,)) -> tuple[str, ...]:
    """The listing's `for-each-ref` (after `git --git-dir=... --work-tree=...`): the experiment refs `exps`
    (all by default), the branches and exptui's notes ref."""
    return ("for-each-ref", REFS_FORMAT, *exps, "refs/heads", NOTES_REF)
