"""The errors ``tracer verify`` raises when it cannot reach a verdict.

All are :class:`tracer.errors.VerifyError` subclasses (exit status 3), so the CLI catches them with the rest
of tracer's errors::

    VerifyError                      (tracer.errors)
    ├── PatchDoesNotApply            (tracer.errors) no method applies the final patch; names files, hunks
    ├── NoTestCommand                (tracer.errors) no test command given, configured or found in the session
    ├── NoStartCommit                the session was not recorded at a git commit
    ├── RepoNotFound                 the repository directory does not exist
    ├── NotAGitRepository            the directory is not inside a git work tree
    ├── CommitNotFound               the start commit is not in the repository
    ├── BaselineDoesNotApply         the uncommitted changes of the session's start do not apply
    ├── CopyNotFound                 a path given to copy into the worktree does not exist
    ├── BadTestConfig                ``[tool.tracer]`` of pyproject.toml cannot be read
    ├── WorktreeError                git cannot create the temporary worktree
    ├── NeedsConsent                 an untrusted session's command was not confirmed (no terminal, no --yes)
    ├── SandboxUnavailable           bubblewrap is missing or cannot make namespaces here
    └── ContainerUnavailable         no container engine runs, or the image is not in the local store

A failing test run is not an error: it is a :class:`tracer.model.VerifyResult` with verdict ``failed``.
"""

from __future__ import annotations

from tracer.errors import NoTestCommand, PatchDoesNotApply, VerifyError

__all__ = [
    "BadTestConfig",
    "BaselineDoesNotApply",
    "CommitNotFound",
    "ContainerUnavailable",
    "CopyNotFound",
    "NeedsConsent",
    "NoStartCommit",
    "NoTestCommand",
    "NotAGitRepository",
    "PatchDoesNotApply",
    "RepoNotFound",
    "SandboxUnavailable",
    "VerifyError",
    "WorktreeError",
]


class NoStartCommit(VerifyError):
    """The session has no start commit (recorded outside git, or before the repository's first commit)."""


class RepoNotFound(VerifyError):
    """The repository directory the session was recorded in does not exist (any more)."""


class NotAGitRepository(VerifyError):
    """The directory exists but is not inside a git work tree."""


class CommitNotFound(VerifyError):
    """The session's start commit is not in the repository (another clone, or history was rewritten)."""


class BaselineDoesNotApply(VerifyError):
    """The uncommitted changes present when the session started do not apply to its start commit."""


class CopyNotFound(VerifyError):
    """A path asked to be copied into the worktree does not exist in the repository directory."""


class BadTestConfig(VerifyError):
    """``pyproject.toml``'s ``[tool.tracer] test-command`` cannot be read (bad TOML, or not a string)."""


class WorktreeError(VerifyError):
    """git could not create the temporary worktree the tests run in."""


class NeedsConsent(VerifyError):
    """An untrusted session's test command was not confirmed: declined, or no terminal to ask on and no ``--yes``."""


class SandboxUnavailable(VerifyError):
    """The sandbox was asked for (or is the default for an untrusted session) but bubblewrap cannot run here."""


class ContainerUnavailable(VerifyError):
    """``--image`` was given but no container engine can run it (none installed or answering, image not local)."""
