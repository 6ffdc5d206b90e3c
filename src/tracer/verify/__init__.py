"""``tracer verify``: did the session's final patch fix the problem without breaking anything?

The final patch is applied to a clean ``git worktree`` of the session's start commit (plus the uncommitted
changes present at the start), the test command runs there with a timeout in its own process group, its
output is read into per-test results where the runner allows, and a :class:`tracer.model.VerifyResult` says
the verdict. The user's working tree, index and stash are never touched.

Public API: :func:`find_test_command` (which command decides) and :func:`verify` (the verdict), and the
errors of :mod:`tracer.verify.errors`.
"""

from __future__ import annotations

from tracer.verify._command import find_test_command
from tracer.verify._verify import verify
from tracer.verify.errors import (
    BadTestConfig,
    BaselineDoesNotApply,
    CommitNotFound,
    CopyNotFound,
    NoStartCommit,
    NotAGitRepository,
    NoTestCommand,
    PatchDoesNotApply,
    RepoNotFound,
    VerifyError,
    WorktreeError,
)

__all__ = [
    "BadTestConfig",
    "BaselineDoesNotApply",
    "CommitNotFound",
    "CopyNotFound",
    "NoStartCommit",
    "NoTestCommand",
    "NotAGitRepository",
    "PatchDoesNotApply",
    "RepoNotFound",
    "VerifyError",
    "WorktreeError",
    "find_test_command",
    "verify",
]
