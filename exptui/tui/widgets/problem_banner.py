"""A banner at the top of the dashboard for workspace files that cannot be read (params.yaml, dvc.yaml, ...).

A broken file used to show only as a bare `!` cell (or, for `dvc.yaml`, as an empty repo). The banner quotes the
reader's one-line reason, which already names the file and line (``params.yaml:3: ...``), where the user is looking.
It is rebuilt from each reload's workspace row, so fixing the file makes it go away on the next poll.
"""
from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static

from exptui.tui.text import plain

#: a declared metrics file that does not exist yet is normal before the first `repro`: no banner for it
_NOT_A_PROBLEM = "file not found"
_SHOWN = 3   # problems listed; more are counted


def workspace_problems(errors: Mapping[str, str]) -> list[str]:
    """The reasons worth a banner, dvc.yaml first (nothing runs while it is broken), then by file name."""
    problems = [(path, reason) for path, reason in errors.items() if reason != _NOT_A_PROBLEM]
    problems.sort(key=lambda item: (not item[0].endswith("dvc.yaml"), item[0]))
    return [reason if reason.startswith(path) else f"{path}: {reason}" for path, reason in problems]


class ProblemBanner(Static):
    """Hidden while the workspace reads cleanly; otherwise one line per problem and what to do."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.problems: list[str] = []
        self.display = False

    def show_problems(self, problems: list[str]) -> None:
        if problems == self.problems:
            return
        self.problems = list(problems)
        self.display = bool(problems)
        if not problems:
            self.update("")
            return
        text = Text(end="")
        for reason in problems[:_SHOWN]:
            text.append("✗ ", style="bold")
            text.append_text(plain(reason))   # from the file: shown inert, never markup
            text.append("\n")
        if len(problems) > _SHOWN:
            text.append(f"  … and {len(problems) - _SHOWN} more\n")
        text.append("Fix the file and save it: this banner goes away on its own.", style="italic")
        self.update(text)
