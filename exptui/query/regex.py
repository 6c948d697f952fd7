"""Regular expressions typed by users, matched against data in time linear in the data.

Python's `re` backtracks: ``tag ~= '(a+)+b'`` against a value of 28 ``a``s takes minutes, and the dashboard runs
its filter on the UI thread, so one keystroke froze it (issue 9). Even a pattern as plain as ``.*x`` is quadratic
in the length of a value, and a params value can be a megabyte. So every user pattern (the filter's ``~=``, the
column chooser's keep/drop) is run by RE2, which never backtracks: matching costs O(pattern x text) whatever
either holds.

Measured (`benchmarks/bench_regex.py`, 10,000 experiment names, 2-core machine, best of 3): `re` 3–18 ms, RE2
through ``re2.Set`` 17–18 ms, `regex` with ``timeout=`` 27–35 ms, RE2 through ``re2.compile().search`` 35–68 ms
(its Python-level match objects). On one hostile 1 MB value RE2 takes 2 ms where `re` never returns and `regex`
spends its whole time-out (50 ms per value: 10,000 such values would still freeze the table for minutes). A
time-out would also make the same filter succeed or fail with the machine's load; RE2 is deterministic.

RE2's syntax is Python's for everything but lookaround and backreferences, which it cannot run in linear time;
a pattern using them is refused with a message saying so. Matching is done on UTF-8 (text that is not valid
UTF-8, e.g. a ref name decoded with surrogate escapes, has those characters replaced first).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from exptui.errors import ExptuiError

__all__ = ["RegexError", "BoundedRegex", "compile_regex"]


class RegexError(ExptuiError):
    """A pattern RE2 cannot run (invalid, or lookaround/backreferences); the message says why and what to do."""


@dataclass(frozen=True)
class BoundedRegex:
    """A compiled pattern; `search(text)` / `__call__` is True when it matches (anywhere, or the whole text)."""

    pattern: str
    literal: bool = False            # the pattern was not a valid regex and is matched as plain text
    _match: Callable[[bytes], Any] = field(default=lambda b: None, repr=False, compare=False)

    def search(self, text: str) -> bool:
        return self._match(text.encode("utf-8", "replace")) is not None

    __call__ = search


def _options(ignore_case: bool, literal: bool) -> Any:
    import re2

    opts = re2.Options()
    opts.case_sensitive = not ignore_case
    opts.literal = literal
    opts.never_capture = True   # a yes/no answer needs no groups, and RE2 is faster without them
    opts.log_errors = False     # RE2 would log refusals to stderr, i.e. onto the dashboard
    return opts


def _build(pattern: str, whole: bool, opts: Any) -> Callable[[bytes], Any]:
    """RE2::Set of one pattern: a thin wrapper over the DFA (1–2 µs per short text)."""
    import re2

    matcher = re2.Set.FullMatchSet(opts) if whole else re2.Set.SearchSet(opts)
    matcher.Add(pattern.encode("utf-8", "replace"))
    matcher.Compile()
    return matcher.Match


def _reason(pattern: str, opts: Any) -> str:
    """RE2's own words for why it refused `pattern` (the Set API only says that it did)."""
    import re2

    try:
        re2.compile(pattern.encode("utf-8", "replace"), opts)
    except re2.error as exc:
        text = exc.args[0] if exc.args else str(exc)
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return "pattern too large"


def _python_accepts(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except Exception:  # noqa: BLE001 - re.error, OverflowError, RecursionError: all mean "not a regex"
        return False
    return True


def compile_regex(pattern: str, *, ignore_case: bool = False, whole: bool = False,
                  literal_on_error: bool = False) -> BoundedRegex:
    """Compile a user's pattern for linear-time matching.

    `whole`: the pattern must match the whole text (like ``re.fullmatch``), else anywhere (``re.search``).
    `literal_on_error`: a pattern that is not a valid regular expression at all (``lr(`` while it is being typed)
    is matched as plain text instead of raising. A valid Python pattern RE2 cannot run in linear time
    (lookaround, backreferences) always raises `RegexError`.
    """
    import re2

    opts = _options(ignore_case, literal=False)
    try:
        return BoundedRegex(pattern, False, _build(pattern, whole, opts))
    except re2.error:
        pass
    reason = _reason(pattern, opts)
    if _python_accepts(pattern):
        raise RegexError(f"'{pattern}' cannot be matched in linear time ({reason}): lookaround and "
                         "backreferences are not supported; rewrite it without them")
    if not literal_on_error:
        raise RegexError(f"'{pattern}' is not a valid regular expression ({reason})")
    try:
        return BoundedRegex(pattern, True, _build(pattern, whole, _options(ignore_case, literal=True)))
    except re2.error:
        raise RegexError(f"'{pattern}' cannot be matched ({reason})") from None
