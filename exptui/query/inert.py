"""Text from data, made inert on its way to a terminal.

Params, metrics, names, notes, labels, queue entries, stage logs and error messages quoting them come from files
and refs anyone can write (a pulled experiment, a teammate's params.yaml). A terminal interprets some characters as
commands: ESC starts sequences that set the window title (``ESC ] 0 ; … BEL``), clear the screen (``ESC [ 2 J``),
leave the alternate screen or make links; U+009B is an 8-bit CSI; ``\\r`` and backspace overwrite what was shown;
bidi overrides (U+202E) reorder it. None of that may reach the terminal as a command, so every output boundary (CLI
text, Markdown, tables, errors; every TUI widget) passes data through :func:`inert`, which shows such characters
*visibly and harmlessly*:

- C0 controls and DEL as Unicode control pictures: ESC ``␛``, BEL ``␇``, BS ``␈``, NUL ``␀``, DEL ``␡``...
- C1 controls (U+0080-U+009F), as ``\\x9b``; invisible format characters (bidi embeddings, overrides and isolates,
  LRM/RLM, zero-width space, BOM, tag characters...) as ``\\u202e``; lone surrogates (bytes that were not UTF-8,
  decoded with ``surrogateescape``) as the byte, ``\\xff``.
- one line (a table cell, a title): a line break is ``⏎``, a tab one space.
- several lines (a log, a message): line breaks stay (``\\r\\n`` and a lone ``\\r`` are line breaks: a progress bar
  redraw becomes its own line instead of overwriting the previous one), tabs are expanded to spaces (8 columns)
  where widths are measured, kept in CLI messages.

Zero-width joiners (U+200C/U+200D) stay: emoji sequences and several scripts need them, and they cannot move
anything. Everything here is pure ``str`` work (no Rich, no Textual), so the CLI and the TUI share it.

``--json`` output stays faithful data: :func:`json_for_terminal` writes the same characters as JSON ``\\u`` escapes
(JSON itself already escapes C0), which any JSON reader turns back into the original text.
"""
from __future__ import annotations

import re
from functools import cache

NEWLINE_MARK = "⏎"
TAB_SIZE = 8

# C0 controls and DEL: the Control Pictures block (U+2400 + code; U+2421 for DEL)
_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}

# Every character that must not reach a terminal as itself: Cc (C0, DEL, C1), Cf (format: bidi, zero-width, tags;
# ZWNJ/ZWJ U+200C/D excepted), Zl/Zp (U+2028/9) and Cs (lone surrogates). tests/test_query_inert.py checks this class
# against unicodedata over every code point, so a Python with a newer Unicode cannot silently widen the gap.
_FORMAT_CLASS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE_CLASS = "\x00-\x1f\x7f-\x9f" + _FORMAT_CLASS
UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
#: A whole input value without anything unsafe (Textual's ``Input(restrict=...)``: a paste holding an ESC is refused)
INPUT_ALLOWED = f"[^{_UNSAFE_CLASS}]*"
_UNSAFE_RUN = f"[{_UNSAFE_CLASS}]+"
_UNSAFE_RUN_IN_LINES = f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT_CLASS}]+"   # \n and \t stay
_LINE_BREAK = "\r\n|[\r\n\u2028\u2029]"
# SGR (colour/bold) only: CSI, digits and separators, 'm'. Nothing else of ECMA-48 is let through anywhere.
SGR = re.compile(r"\x1b\[[0-9;:]{0,64}m")
_SGR_PREFIX = r"\x1b(?:\[[0-9;:]{0,64})?\Z"


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    """The private expressions (their sources above) are compiled on first use: printable text, nearly all of it,
    never needs them, and compiling them at import was ~2 ms of a `queue status` (classes of ~100 ranges)."""
    return re.compile(pattern)


def _visible(ch: str) -> str:
    """The inert, visible form of one unsafe character (line breaks and tabs are handled by the callers)."""
    code = ord(ch)
    picture = _PICTURES.get(code)
    if picture is not None:
        return picture
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:            # a byte that was not UTF-8 (surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _visible_run(match: re.Match[str]) -> str:
    return "".join(_visible(ch) for ch in match.group())


def _one_line(text: str) -> str:
    text = _rx(_LINE_BREAK).sub(NEWLINE_MARK, text).replace("\t", " ")
    return _rx(_UNSAFE_RUN).sub(_visible_run, text)


def _make_visible(text: str) -> str:
    """Several lines: every line break becomes ``\n``; ``\n`` and ``\t`` stay, the rest is made visible."""
    return _rx(_UNSAFE_RUN_IN_LINES).sub(_visible_run, _rx(_LINE_BREAK).sub("\n", text))


def _make_visible_keep_sgr(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in SGR.finditer(text):
        out.append(_make_visible(text[pos:match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(_make_visible(text[pos:]))
    return "".join(out)


_TAB_PIECES = r"(\n|\t)"
_TAB_PIECES_SGR = r"(\n|\t|\x1b\[[0-9;:]{0,64}m)"


def _expand_tabs(text: str, column: int = 0, sgr: bool = False) -> tuple[str, int]:
    """Tabs to spaces (stops every TAB_SIZE columns, counted from ``column``); returns the text and the column
    where it ends. SGR sequences take no column."""
    if "\t" not in text:
        last = text.rfind("\n")
        tail = text[last + 1:]
        width = len(SGR.sub("", tail)) if sgr and "\x1b" in tail else len(tail)
        return text, (width if last >= 0 else column + width)
    out: list[str] = []
    for piece in _rx(_TAB_PIECES_SGR if sgr else _TAB_PIECES).split(text):
        if piece == "\n":
            column = 0
        elif piece == "\t":
            piece = " " * (TAB_SIZE - column % TAB_SIZE)
            column += len(piece)
        elif not (sgr and piece.startswith("\x1b")):
            column += len(piece)
        out.append(piece)
    return "".join(out), column


def inert(text: str, *, multiline: bool = False, expand_tabs: bool = True) -> str:
    """``text`` with every character a terminal could interpret shown visibly instead (see the module docstring).

    ``multiline=False`` (cells, titles, names): the result is one line. ``multiline=True`` (logs, messages): line
    breaks stay as ``\n``; tabs become spaces unless ``expand_tabs=False`` (CLI messages in `dvc status`'s
    tab-indented shape: a tab only moves the cursor forward). Printable text comes back as the same object, so
    calling it per cell is cheap.
    """
    if text.isprintable():          # C speed; False also for harmless spaces/private use, then the regex decides
        return text
    if multiline:
        if text.replace("\n", "").isprintable():  # printable lines (a 10,000-row table): nothing to do, C speed
            return text
        visible = _make_visible(text)
        return _expand_tabs(visible)[0] if expand_tabs else visible
    return _one_line(text)


def is_inert(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` holds nothing a terminal would interpret (``\n`` allowed with ``multiline``)."""
    if multiline:
        text = text.replace("\n", "")
    return UNSAFE.search(text) is None


def strip_sgr(text: str) -> str:
    """``text`` without SGR colour sequences (a log shown where colours cannot be kept); nothing else changes."""
    return SGR.sub("", text) if "\x1b" in text else text


def inert_keep_sgr(text: str) -> str:
    """Like ``inert(text, multiline=True)`` but SGR colour sequences stay as they are (a terminal renders them as
    colour; they cannot move the cursor, retitle the window or make links). Everything else is made inert."""
    return _expand_tabs(_make_visible_keep_sgr(text), sgr=True)[0]


class InertStream:
    """:func:`inert` (multi-line) for text that arrives in chunks: a live log, a stage's output.

    A ``\r`` at the end of a chunk waits for the next one (``\r\n`` is one line break, not two); tabs expand
    from the column the previous chunk ended in; with ``keep_sgr`` (a real terminal shows colour) or
    ``strip_colour`` (a plain-text view drops it), an SGR sequence cut in two by the chunking is held back until
    it is whole, and shown inert if it never completes.
    """

    def __init__(self, *, keep_sgr: bool = False, strip_colour: bool = False) -> None:
        self.keep_sgr = keep_sgr
        self.strip_colour = strip_colour
        self._pending = ""
        self._column = 0

    def feed(self, text: str) -> str:
        text = self._pending + text
        self._pending = ""
        if text.endswith("\r"):
            self._pending, text = "\r", text[:-1]
        elif (self.keep_sgr or self.strip_colour) and "\x1b" in text[-66:]:
            partial = _rx(_SGR_PREFIX).search(text)
            if partial is not None:
                self._pending, text = text[partial.start():], text[:partial.start()]
        return self._convert(text, self.keep_sgr, self.strip_colour)

    def flush(self) -> str:
        """What is still held back, made inert (call at the end of the stream)."""
        text, self._pending = self._pending, ""
        return self._convert(text, False, False)     # an unfinished sequence is shown, not kept

    def _convert(self, text: str, keep_sgr: bool, strip_colour: bool) -> str:
        if not text:
            return ""
        if strip_colour:
            text = strip_sgr(text)
        visible = _make_visible_keep_sgr(text) if keep_sgr else _make_visible(text)
        out, self._column = _expand_tabs(visible, self._column, sgr=keep_sgr)
        return out


_JSON_UNSAFE = f"[\x7f-\x9f{_FORMAT_CLASS}]"   # C0 is escaped by json.dumps already


def json_for_terminal(text: str) -> str:
    """JSON text with every remaining unsafe character as a ``\\uXXXX`` escape: the same data for any JSON reader,
    nothing for a terminal to interpret. (``json.dumps(ensure_ascii=False)`` escapes C0 but writes DEL, C1, bidi
    controls and lone surrogates as they are.)"""
    if text.isascii() and "\x7f" not in text:
        return text
    return _rx(_JSON_UNSAFE).sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000                                   # astral plane: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
