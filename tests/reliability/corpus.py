"""Hostile text: terminal escapes, controls, bidi overrides, Textual/Rich markup, very long and wide strings.

Shared by the inert-text tests (CLI and TUI): every string here is pushed through the real store as param keys and
values, metric keys, experiment names, notes, labels, queue entry names and stage log lines, and nothing of it may
reach the terminal as anything but visible, inert text.
"""
from __future__ import annotations

import re

ESCAPES: tuple[str, ...] = (
    "\x1b]0;PWNED\x07",                         # set the window title
    "\x1b[2J",                                  # clear the screen
    "\x1b[?1049l",                              # leave the alternate screen (the TUI's)
    "\x9b31m",                                  # 8-bit CSI
    "\x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",   # a hyperlink
    "\x1bP+q544e\x1b\\",                        # DCS (terminal queries)
    "over\rwrite",                              # carriage return overwrites what was shown
    "back\x08\x08space",
    "bell\x07",
    "nul\x00byte",
    "del\x7fete",
    "c1\x85next-line\x8dreverse-index",
    "\u202eevil.exe",                           # right-to-left override
    "\u2066isolate\u2069 \u200fRLM \u200bzero-width \ufeffBOM",
    "line\u2028separator",
    "two\nlines",
    "tab\there",
)
MARKUP: tuple[str, ...] = (
    "[@click=app.quit]CLICK[/]",
    "[b]bold[/b]",
    "[/]",
    "p[/]",
    "[link=file:///etc/passwd]x[/link]",
    "[red",
    "unbalanced]",
    "$variable",
    "$accent",
    "[on red]bg",
    ":emoji_name: :smile:",
)
LONG: tuple[str, ...] = ("x" * 5000, "学習率-実験" * 300)

HOSTILE: tuple[str, ...] = ESCAPES + MARKUP + LONG

# A compact set for places that take a handful of values (names, labels, notes): every kind of hazard once.
NAMES: tuple[str, ...] = (
    "t\x1b]0;PWNED\x07", "c\x1b[2J", "a\x1b[?1049l", "csi\x9b2J", "rtl\u202egnp.exe", "cr\rx",
    "[@click=app.quit]CLICK[/]", "p[/]", "[link=file:///etc/passwd]x[/link]",
)

# What may reach a terminal: nothing of C0 (but \n where lines are allowed), DEL, C1, format characters.
_HAZARD = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
                     "\u2060-\u2064\u2066-\u206f\ufeff\ud800-\udfff]")


def terminal_hazards(text: str, multiline: bool = False) -> list[str]:
    """Characters in ``text`` a terminal would act on (\\n and \\t only count for single-line text)."""
    found = [m.group() for m in _HAZARD.finditer(text)]
    if multiline:                           # a tab only moves the cursor forward: allowed where lines are
        found = [ch for ch in found if ch != "\t"]
    elif "\n" in text:
        found.append("\n")
    return found


# What Textual itself writes: SGR, cursor positioning, synchronized output, cursor show/hide. Anything else is a
# sequence that came from data.
TEXTUAL_SEQUENCE = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H|\x1b\[\d*[ABCD]|\x1b\[\?(?:2026|25)[hl]")


def foreign_sequences(terminal_output: str) -> list[str]:
    """What is left of a terminal stream once Textual's own sequences are removed: escape bytes, other controls
    and format characters (line feeds between rows excepted). Empty when nothing from data got through."""
    rest = TEXTUAL_SEQUENCE.sub("", terminal_output)
    return [repr(rest[max(0, m.start() - 20):m.end() + 20]) for m in _HAZARD.finditer(rest)]
