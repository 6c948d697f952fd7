"""DVC's experiment ref namespace, alone: standard library free, so that a process's very first step (the
dashboard's early `for-each-ref`, `queue status`) can name it without importing `exp_refs` (hashlib, random,
regular expressions). `exp_refs` re-exports it."""
from __future__ import annotations

EXPS_NAMESPACE = "refs/exps"
