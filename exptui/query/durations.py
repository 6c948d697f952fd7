"""Durations and elapsed times as every view shows them. No imports: `exptui queue status` stays light."""
from __future__ import annotations

from typing import Any


def format_duration(seconds: Any, tenths: bool = True, missing: str = "-") -> str:
    """``0.4s``, ``45s``, ``1m02s``, ``2h05m``, ``3d04h``: short, fixed shapes, for every duration and elapsed
    time shown (Duration column, State column, queue view, `queue status`). `tenths=False` for a ticking clock
    (``7s``, never ``7.3s``); `missing` is shown for no number, NaN or a negative one (clock skew)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return missing
    if seconds != seconds or seconds < 0:  # NaN or negative: clock skew, show nothing misleading
        return missing
    if seconds < 10 and tenths:
        return f"{seconds:.1f}s"
    total = int(round(seconds)) if tenths else int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    if total < 86400:
        return f"{total // 3600}h{total % 3600 // 60:02d}m"
    return f"{total // 86400}d{total % 86400 // 3600:02d}h"
