"""exptui.cli.output: the one way the CLI writes (inert text for people, faithful bytes into pipes)."""
from __future__ import annotations

import io
import os

from exptui.cli.output import TerminalSink

HOSTILE = "log \x1b]0;PWNED\x07 \x1b[31mred\x1b[0m \xe2\x80\xae".encode("latin-1") + b" \xff end\r\n"


def test_sink_passes_bytes_untouched_into_a_pipe() -> None:
    out = io.BytesIO()
    sink = TerminalSink(out, tty=False)
    sink.write(HOSTILE[:7])
    sink.write(HOSTILE[7:])
    sink.flush()
    assert out.getvalue() == HOSTILE


def test_sink_on_a_terminal_keeps_colour_and_shows_the_rest_inert() -> None:
    out = io.BytesIO()
    sink = TerminalSink(out, tty=True)
    for i in range(len(HOSTILE)):               # byte by byte: sequences and UTF-8 split everywhere
        sink.write(HOSTILE[i:i + 1])
    sink.flush()
    text = out.getvalue().decode("utf-8")
    assert text == "log ␛]0;PWNED␇ \x1b[31mred\x1b[0m \\u202e \\xff end\n"


def test_sink_stops_quietly_when_the_reader_left() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)                               # `exptui repro | head` after head exited
    with os.fdopen(write_end, "wb", buffering=0) as pipe:
        sink = TerminalSink(pipe, tty=False)
        sink.write(b"first")
        assert sink.closed
        sink.write(b"more")                          # no exception: the caller's work goes on
