"""What the CLI writes, and how text from data is kept inert on the way (see ``exptui.query.inert``).

Every command prints through these functions, never ``click.echo``/``sys.stdout`` directly:

- ``echo``: messages, warnings and errors (they quote names, notes, paths): always made inert.
- ``write_text``: tables and Markdown: always made inert (cells are made inert and measured before this).
- ``write_json``: JSON is faithful data; the characters JSON writes raw (DEL, C1, bidi, lone surrogates) become
  ``\\uXXXX`` escapes, which every JSON reader turns back into the same text.
- ``write_data``: CSV: the data byte for byte into a pipe or a file; made inert when a person is reading it on a
  terminal (as ``ls`` shows ``?`` for control characters only on a terminal).
- ``TerminalSink``: a stage's output and queue logs, as bytes: passed through untouched into a pipe or a file; on a
  terminal decoded, colour (SGR) kept and everything else made inert, chunk boundaries handled.
"""
from __future__ import annotations

import codecs
import sys
from typing import BinaryIO, TextIO
from collections.abc import Iterable

import click

from exptui.query.inert import InertStream, inert, json_for_terminal


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text that may quote data: control characters shown inert, line breaks kept."""
    click.echo(inert(str(message), multiline=True, expand_tabs=False), err=err, nl=nl)


def _stream(err: bool) -> TextIO:
    return sys.stderr if err else sys.stdout


def write_text(text: str, *, err: bool = False) -> None:
    """A table or Markdown for people: inert, written in one call and flushed."""
    out = _stream(err)
    out.write(inert(text, multiline=True))
    out.flush()


def write_json(text: str) -> None:
    """JSON text, with every character a terminal could act on as a JSON escape (the same data)."""
    sys.stdout.write(json_for_terminal(text))
    sys.stdout.flush()


def write_json_chunks(chunks: Iterable[str]) -> None:
    """`write_json` for a document written piece by piece (``show --json`` streams its rows); each piece is
    escaped like `write_json` escapes a whole document (the escapes are per character)."""
    out = sys.stdout
    for chunk in chunks:
        out.write(json_for_terminal(chunk))
    out.flush()


def write_data(text: str) -> None:
    """CSV and other plain data: faithful into a pipe or file, inert on a terminal."""
    sys.stdout.write(inert(text, multiline=True) if sys.stdout.isatty() else text)
    sys.stdout.flush()


class TerminalSink:
    """Writes a byte stream (stage output, a log) to ``out``: as it is when ``out`` is not a terminal, else decoded
    (bytes that are not UTF-8 shown as ``\\xNN``), SGR colour kept and every other control made inert.

    ``closed`` turns true when the reader went away (``exptui repro | head``): the caller's work goes on, its log
    keeps everything.
    """

    def __init__(self, out: BinaryIO | None = None, *, tty: bool | None = None) -> None:
        self.out = out if out is not None else sys.stdout.buffer
        self.tty = sys.stdout.isatty() if tty is None else tty
        self.closed = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._inert = InertStream(keep_sgr=True)

    def __call__(self, data: bytes) -> None:
        self.write(data)

    def write(self, data: bytes) -> None:
        if not data or self.closed:
            return
        if self.tty:
            text = self._inert.feed(self._decoder.decode(data))
            data = text.encode("utf-8")
        self._put(data)

    def flush(self) -> None:
        """The end of the stream: whatever was held back (a lone ``\\r``, half a sequence) is written, inert."""
        if self.tty and not self.closed:
            self._put((self._inert.feed(self._decoder.decode(b"", final=True)) + self._inert.flush()).encode())

    def put_text(self, text: str) -> None:
        """A message of our own between chunks of the stream (it may quote data: made inert)."""
        self._put(inert(text, multiline=True, expand_tabs=False).encode("utf-8", "surrogateescape"))

    def _put(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            self.closed = True
