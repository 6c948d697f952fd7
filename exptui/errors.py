"""User-facing errors. The CLI prints `error: <message>` (one line) and exits non-zero."""
from __future__ import annotations


class ExptuiError(Exception):
    """Any failure caused by input or state the user can fix; the message says what to do."""

    exit_code = 1


class NotAGitRepo(ExptuiError):
    pass


class PipelineError(ExptuiError):
    pass


class StageFailed(PipelineError):
    exit_code = 2


class ExperimentNotFound(ExptuiError):
    pass


class DirtyWorkspace(ExptuiError):
    pass
