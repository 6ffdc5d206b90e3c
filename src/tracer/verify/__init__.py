"""``tracer verify``: did the session's final patch fix the problem without breaking anything?

The final patch is applied to a clean ``git worktree`` of the session's start commit (plus the uncommitted
changes present at the start), the test command runs there with a timeout in its own process group, its
output is read into per-test results where the runner allows, and a :class:`tracer.model.VerifyResult` says
the verdict. The user's working tree, index and stash are never touched.

Public API: :func:`assess` (whether this user recorded the session on this machine), :func:`find_test_command`
(which command decides), :func:`find_sandbox` and :func:`find_container` (where the tests may run),
:func:`verify` (the verdict), and the errors of :mod:`tracer.verify.errors`.
"""

from __future__ import annotations

from tracer.verify._command import TestCommand, find_test_command
from tracer.verify._isolation import Container, Sandbox, find_container, find_sandbox
from tracer.verify._reports import harness_name
from tracer.verify._trust import Trust, assess
from tracer.verify._verify import verify
from tracer.verify._worktree import refuse_unsafe_paths
from tracer.verify.errors import (
    BadTestConfig,
    BaselineDoesNotApply,
    CommitNotFound,
    ContainerUnavailable,
    CopyNotFound,
    NeedsConsent,
    NoStartCommit,
    NotAGitRepository,
    NoTestCommand,
    PatchDoesNotApply,
    RepoNotFound,
    SandboxUnavailable,
    VerifyError,
    WorktreeError,
)

__all__ = [
    "BadTestConfig",
    "BaselineDoesNotApply",
    "CommitNotFound",
    "Container",
    "ContainerUnavailable",
    "CopyNotFound",
    "NeedsConsent",
    "NoStartCommit",
    "NoTestCommand",
    "NotAGitRepository",
    "PatchDoesNotApply",
    "RepoNotFound",
    "Sandbox",
    "SandboxUnavailable",
    "TestCommand",
    "Trust",
    "VerifyError",
    "WorktreeError",
    "assess",
    "find_container",
    "find_sandbox",
    "find_test_command",
    "harness_name",
    "refuse_unsafe_paths",
    "verify",
]
