"""One-line header: repo and branch on the left, counts and active view rules on the right."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from exptui.query.inert import inert


class StatusHeader(Static):
    """Rendered from plain state so snapshots are deterministic (no clock)."""

    def update_state(self, *, repo: str, branch: str, total: int, shown: int, running: int, queued: int,
                     failed: int, marked: int, filter: str, sort: list[tuple[str, bool]], leaderboard: bool,
                     only_changed: bool, loading: bool = False, loading_of: tuple[int, int] | None = None) -> None:
        """`loading_of`: (rows shown, rows of the whole listing) while the first load streams in."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" exptui ", style="bold reverse")
        text.append(f" {inert(repo)}", style="bold")
        if branch:
            text.append(f" @ {inert(branch)}", style="dim")
        text.append("   ")
        if loading_of is not None:
            text.append(f"loading {loading_of[0]:,} of {loading_of[1]:,}…", style="italic")
        elif loading:
            text.append("loading…", style="italic")
        else:
            count = f"{shown}/{total}" if shown != total else f"{total}"
            text.append(f"{count} experiment{'' if total == 1 else 's'}", style="bold")
            if running:
                text.append(f"  ▶ {running} running", style="yellow")
            if queued:
                text.append(f"  ◷ {queued} queued", style="cyan")
            if failed:
                text.append(f"  ✗ {failed} failed", style="red")
            if marked:
                text.append(f"  ● {marked} marked", style="magenta")
        tags = []
        if leaderboard:
            tags.append("leaderboard")
        if only_changed:
            tags.append("only changed")
        if sort:
            tags.append("sort " + ", ".join(f"{_short(c)}{' ↓' if d else ' ↑'}" for c, d in sort))
        if filter:
            tags.append(f"/{inert(filter)}")
        if tags:
            text.append("   ")
            text.append("  ·  ".join(tags), style="dim italic")
        self.update(text)


def _short(column_id: str) -> str:
    return inert(column_id.rsplit(":", 1)[-1])
