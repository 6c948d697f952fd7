"""Errors raised for bad input files: always one line naming the file (and line or key)."""
from __future__ import annotations


class FormatError(Exception):
    """A file DVC would reject: malformed YAML, a bad key, an unknown interpolated name...

    `str()` gives one line, e.g. ``dvc.yaml:12: stage 'train': unknown key 'outz'``.
    """

    def __init__(self, path: str, message: str, line: int | None = None, key: str | None = None):
        self.path = str(path)
        self.message = message
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        # names quoted in messages come from user files and may hold line breaks: keep the promised one line
        return f"{where}: {self.message}".replace("\r", "\\r").replace("\n", "\\n")


class SweepSyntaxError(ValueError):
    """A bad `-S` override or sweep expression; names the offending token.

    `override` (the whole `-S` text), `token` and `column` (1-based, in `override`) are set when the parser knows
    them, so a form can point at the bad character of its own field.
    """

    def __init__(self, message: str, *, override: str | None = None, token: str | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.override = override
        self.token = token
        self.column = column


class WriteError(OSError):
    """A file could not be written (disk full, quota, read-only): one line naming the file, the reason and what to
    do; the old file is unchanged. An OSError, so code that handles I/O failures keeps handling it."""

    def __init__(self, errno_: int, strerror: str, filename: str, message: str):
        super().__init__(errno_, strerror, filename)
        self.message = message

    def __str__(self) -> str:
        return self.message
