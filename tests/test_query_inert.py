"""The one sanitiser for text from data (exptui.query.inert) and the one cell-width helper (exptui.query.cells)."""
from __future__ import annotations

import json
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from exptui.query.cells import cell_width, column_widths, fit, truncate
from exptui.query.inert import (
    UNSAFE,
    InertStream,
    inert,
    inert_keep_sgr,
    is_inert,
    json_for_terminal,
    strip_sgr,
)
from tests.reliability.corpus import HOSTILE, terminal_hazards


def _should_be_unsafe(ch: str) -> bool:
    if ch in "\u200c\u200d":          # joiners: emoji sequences and scripts need them
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def test_unsafe_class_matches_unicodedata_for_every_code_point() -> None:
    """The hand-written character class is exactly the Unicode categories it claims, on this Python's Unicode
    (code points a newer Unicode made format characters may be unassigned here: listing them early is fine)."""
    wrong = []
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        listed, should = UNSAFE.match(ch) is not None, _should_be_unsafe(ch)
        if listed != should and not (listed and unicodedata.category(ch) == "Cn"):
            wrong.append(hex(code))
        if listed and ch.isprintable():          # inert()'s fast path would let it through
            wrong.append(f"printable {hex(code)}")
    assert wrong == []


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_string_comes_out_inert_on_one_line(text: str) -> None:
    out = inert(text)
    assert terminal_hazards(out) == []
    assert "\n" not in out and is_inert(out)


def test_controls_are_shown_not_dropped() -> None:
    assert inert("a\x1b]0;PWNED\x07b") == "a␛]0;PWNED␇b"
    assert inert("\x1b[2J\x1b[?1049l") == "␛[2J␛[?1049l"
    assert inert("x\x9b31my") == "x\\x9b31my"
    assert inert("abc\u202edef") == "abc\\u202edef"
    assert inert("a\rb\x08c\x7f") == "a⏎b␈c␡"
    assert inert("non-utf8-\udcff") == "non-utf8-\\xff"
    assert inert("two\nlines\r\nthree") == "two⏎lines⏎three"
    assert inert("a\tb") == "a b"


def test_multiline_keeps_line_breaks_and_expands_tabs() -> None:
    assert inert("one\r\ntwo\rthree\nfour", multiline=True) == "one\ntwo\nthree\nfour"
    assert inert("a\tb\n\tc", multiline=True) == "a       b\n        c"
    assert inert("x\x1b[2Jy\n", multiline=True) == "x␛[2Jy\n"


def test_printable_text_is_returned_unchanged() -> None:
    for text in ("plain", "学習率-実験", "emoji 🚀 ok", "family 👨\u200d👩\u200d👧", "nbsp\u00a0here", ""):
        assert inert(text) is text


def test_sgr_kept_only_where_asked_and_nothing_else_passes() -> None:
    coloured = "\x1b[1;31mred\x1b[0m \x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\ \x1b[2J"
    kept = inert_keep_sgr(coloured)
    assert kept.startswith("\x1b[1;31mred\x1b[0m ")
    assert "\x1b]" not in kept and "\x1b[2J" not in kept and "␛]8;;file:///etc/passwd" in kept
    assert strip_sgr(coloured).startswith("red ␛"[:4])
    assert "\x1b[1;31m" not in strip_sgr(coloured)


def test_stream_joins_crlf_and_sgr_split_across_chunks() -> None:
    stream = InertStream(keep_sgr=True)
    out = stream.feed("a\r") + stream.feed("\nb\x1b[3") + stream.feed("2mgreen\x1b") + stream.feed("]0;t\x07") \
        + stream.flush()
    assert out == "a\nb\x1b[32mgreen␛]0;t␇"
    plain = InertStream()
    assert plain.feed("x\x1b[3") + plain.feed("1m") + plain.flush() == "x␛[31m"
    tabs = InertStream()
    assert tabs.feed("ab") + tabs.feed("\tc") == "ab      c"       # the tab stop counts the earlier chunk
    unfinished = InertStream(keep_sgr=True)
    assert unfinished.feed("end\x1b[31") + unfinished.flush() == "end␛[31"


@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=40), max_size=8))
@settings(max_examples=300, deadline=None)
def test_stream_output_is_the_whole_text_made_inert(chunks: list[str]) -> None:
    stream = InertStream()
    out = "".join(stream.feed(c) for c in chunks) + stream.flush()
    assert out == inert("".join(chunks), multiline=True)


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_inert_never_leaves_a_hazard(text: str) -> None:
    assert terminal_hazards(inert(text)) == []
    assert terminal_hazards(inert(text, multiline=True), multiline=True) == []


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_json_for_terminal_is_the_same_data(text: str) -> None:
    dumped = json.dumps({"k": text}, ensure_ascii=False)
    safe = json_for_terminal(dumped)
    assert json.loads(safe) == {"k": text}
    assert UNSAFE.search(safe.replace("\n", "")) is None


def test_cell_width_counts_wide_characters_twice() -> None:
    assert cell_width("abc") == 3
    assert cell_width("学習率-実験") == 11
    assert cell_width("🚀") == 2
    assert cell_width("e\u0301") == 1


@pytest.mark.parametrize("text", ["学習率-実験-学習率", "abcdefghij", "a学b習c率", "🚀🚀🚀🚀", "mixed 学習 text"])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7])
def test_fit_is_always_exactly_the_width(text: str, width: int) -> None:
    for right in (False, True):
        out = fit(text, width, right)
        assert cell_len(out) == width, (text, width, out)
    cut = truncate(text, width)
    assert cell_len(cut) <= width
    if cell_width(text) > width:
        assert cut.endswith("…")


def test_column_widths_measure_cells() -> None:
    assert column_widths([["学習率", "x"], ["ab", "yyy"]]) == [6, 3]
