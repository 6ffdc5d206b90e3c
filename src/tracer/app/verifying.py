"""Verifying a session (``tracer verify``): read it, decide whether it may run, pick the test command, run the
verdict, append it.

A session this user recorded on this machine (``tracer.verify.assess``: signed, owned, same uid and host) runs
as asked. Any other session is untrusted: what would run is described (:class:`VerifyPlan`), and it runs only
after ``confirm`` says yes, or with ``yes``, or when the user gave the test command (``--test-command`` is
consent for the command; the code under test is still the session's). Its tests run in a bubblewrap sandbox
unless ``sandbox`` is false or an ``image`` is given; where bubblewrap cannot run, verify refuses rather than
run them unconfined without being told to (``--no-sandbox``).

The verdict is appended to the session file as a ``verify_result`` event (append-only), so ``tracer show``,
``tracer ls``, the replay and the JSON export all show it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.app.live import refuse_while_recording
from tracer.errors import SessionError, VerifyError
from tracer.model import FinalPatch, Session, VerifyResult, visible
from tracer.store import append_events
from tracer.verify import (
    Container,
    NeedsConsent,
    Sandbox,
    SandboxUnavailable,
    TestCommand,
    Trust,
    assess,
    find_container,
    find_sandbox,
    find_test_command,
    refuse_unsafe_paths,
    verify,
)


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What verify is about to run for a session: what a person confirms before an untrusted session runs.

    Attributes:
        path: the session file.
        trust: whether the session is this user's, and why (not).
        test: the test command and where it came from.
        repo: the repository the worktree is made from; commit: the start commit ("": the repository had none yet).
        final_files, baseline_files: paths the final patch and the baseline patch (uncommitted changes at the
            start) change: code that runs with the tests.
        final_patches: how many final patches the file holds (the last one is applied).
        isolation: where the tests run, for a person ("a bubblewrap sandbox: …", "nothing: …").
        left_out: how many entries the session's start state leaves out (:attr:`tracer.model.Header.baseline_omitted`):
            the worktree will not have them.
    """

    path: Path
    trust: Trust
    test: TestCommand
    repo: Path
    commit: str
    final_files: tuple[str, ...]
    baseline_files: tuple[str, ...]
    final_patches: int
    isolation: str
    left_out: int = 0

    def lines(self) -> list[str]:
        """The plan for a terminal, one item a line; text from the session has its control characters escaped."""
        out = [
            f"session {visible(str(self.path))} is not trusted: {visible(self.trust.reason)}",
            f"test command: {visible(self.test.command)}",
            f"  from {visible(self.test.origin)}",
            f"code under test: {visible(str(self.repo))} at {self.commit[:12]}"
            if self.commit
            else "code under test: an empty repository (the session's had no commit yet)",
        ]
        if self.baseline_files:
            out.append(f"  + the session's starting changes to {_files(self.baseline_files)}")
        last = f" (the last of {self.final_patches} in the file)" if self.final_patches > 1 else ""
        out.append(f"  + the session's final patch{last} to {_files(self.final_files) or 'no file'}")
        if self.left_out:
            out.append(
                f"  - {self.left_out} entr{'ies' if self.left_out != 1 else 'y'} the start state leaves out "
                f"(`tracer show` lists {'them' if self.left_out != 1 else 'it'}; --copy brings untracked ones in)"
            )
        out.append(f"runs in: {self.isolation}")
        return out


def verify_plan(
    path: Path, *, test_command: str | None = None, sandbox: bool | None = None, image: str | None = None
) -> tuple[VerifyPlan, Session, Sandbox | Container | None]:
    """What :func:`verify_session` would run for the session at ``path``, without running anything.

    Returns:
        the plan (whether the session is trusted, the test command and where it came from, the code under test,
        where it would run), the session as read for it (trusted: its signed part only), and the isolation.

    Raises:
        SessionError: the session cannot be read (SessionBusy: it has no final patch yet, being recorded now).
        SandboxUnavailable, ContainerUnavailable: the isolation asked for (or needed) cannot run here.
        VerifyError: no start commit, no final patch, no test command.
    """
    trust = assess(path)
    session = trust.session
    h = session.header
    if h.repo_root is None or (h.head_commit is None and not h.baseline_patch.strip()):
        raise VerifyError(
            f"session {visible(str(path))} has no start commit nor start state (it was not recorded in a git "
            "repository), so there is no clean checkout to verify it on"
        )
    final = session.final_patch
    if final is None:
        refuse_while_recording(path, "verify it once its shell exits")
        raise VerifyError(
            f"session {visible(str(path))} has no final patch (the recording was interrupted before the end): "
            "nothing to verify"
        )
    test = find_test_command(
        explicit=test_command,
        header=h.test_command,
        repo=Path(h.repo_root),
        commands=[c.command for c in session.commands()],
    )
    isolation = _isolation(trust, sandbox, image)
    plan = VerifyPlan(
        path=path,
        trust=trust,
        test=test,
        repo=Path(h.repo_root),
        commit=h.head_commit or "",
        final_files=final.files,
        baseline_files=_patched_files(h.baseline_patch),
        final_patches=len(session.of_type(FinalPatch)),
        isolation=_describe(isolation),
        left_out=len(h.baseline_omitted),
    )
    return plan, session, isolation


def verify_session(
    path: Path,
    *,
    test_command: str | None = None,
    timeout: float = 1800.0,
    copy: Sequence[str] = (),
    compare_base: bool = False,
    on_output: Callable[[bytes], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
    confirm: Callable[[VerifyPlan], bool] | None = None,
    yes: bool = False,
    sandbox: bool | None = None,
    image: str | None = None,
) -> VerifyResult:
    """Verify the final patch of the session at ``path`` and append the result to it.

    Args:
        test_command: ``--test-command``: run this instead of the session's (consent for the command).
        confirm: asks the user whether an untrusted session's plan may run (``None``: there is no one to ask,
            e.g. no terminal).
        yes: ``--yes``: run an untrusted session without asking.
        sandbox: ``True`` (``--sandbox``) runs the tests in bubblewrap; ``False`` (``--no-sandbox``) never;
            ``None``: sandboxed when the session is untrusted.
        image: ``--image``: run the tests in a container of this local image instead.
        (the others: see :func:`tracer.verify.verify`)

    The result is appended to the session file; where that fails (a file of someone else's), ``on_progress``
    says so and the result is still returned. When the tests did not pass and the session's start state left files
    out (:attr:`tracer.model.Header.baseline_omitted`), ``on_progress`` says which ``--copy`` would bring them in
    (:func:`left_out_hint`).

    Raises:
        SessionError: the session cannot be read.
        NeedsConsent: the session is untrusted, and nobody said yes.
        SandboxUnavailable: a sandbox is needed (asked for, or the session is untrusted) and bubblewrap cannot
            run here.
        ContainerUnavailable: ``image`` cannot be run by any container engine here.
        VerifyError: no start commit, no final patch, the patch does not apply, no test command.
    """
    plan, session, isolation = verify_plan(path, test_command=test_command, sandbox=sandbox, image=image)
    trust, test, h = plan.trust, plan.test, session.header
    final = session.final_patch
    assert final is not None and h.repo_root is not None
    refuse_unsafe_paths(final.patch, session=shlex.quote(str(path)))  # before anyone is asked about it
    if not trust.trusted and not yes and test.source != "flag":
        if confirm is None:
            raise NeedsConsent(
                "; ".join(line.strip() for line in plan.lines())
                + ". Nothing was run: it runs only when you confirm in a terminal, or with --yes (or give the "
                "test command yourself with --test-command)"
            )
        if not confirm(plan):
            raise NeedsConsent(f"nothing was run: you did not confirm the tests of session {visible(str(path))}")
    result = verify(
        repo=Path(h.repo_root),
        start_commit=h.head_commit or "",
        baseline_patch=h.baseline_patch,
        final_patch=final.patch,
        test_command=test.command,
        command_source=test.source,
        timeout=timeout,
        copy=copy,
        compare_base=compare_base,
        on_output=on_output,
        on_progress=on_progress,
        clock_t=int(session.duration * 1e6),
        isolation=isolation,
        command_origin=test.origin,
        trusted=trust.trusted,
    )
    try:
        append_events(path, [result])
    except SessionError as e:  # someone else's file: the verdict stands, it is only not kept in the file
        if on_progress is not None:
            on_progress(f"the result is not saved in the session file: {e}")
    if h.baseline_omitted and on_progress is not None and result.verdict not in ("passed", "resolved"):
        on_progress(left_out_hint(h.baseline_omitted, copy))
    return result


#: Untracked entries :func:`left_out_hint` names as ``--copy`` arguments; it counts the rest.
_HINTED = 5


def left_out_hint(omitted: Sequence[str], copy: Sequence[str] = ()) -> str:
    """One line for ``tracer verify`` on a session whose start state left files out
    (:attr:`tracer.model.Header.baseline_omitted`, ``"path: why"`` each): how many, and the ``--copy`` arguments
    that bring in the untracked entries among them (up to :data:`_HINTED`, those ``copy`` does not name already).
    ``omitted`` is the session's, so its paths are shown through :func:`tracer.model.visible`."""
    given = {c.rstrip("/") for c in copy}
    untracked = [
        name
        for name, sep, why in (line.rpartition(": ") for line in omitted)
        if sep and why.startswith("untracked,") and name.rstrip("/") not in given
    ]
    n = len(omitted)
    line = (
        f"the session's start state leaves out {n} entr{'ies' if n != 1 else 'y'}, which the worktree will not "
        f"have (`tracer show` lists {'them' if n != 1 else 'it'})"
    )
    if untracked:
        args = " ".join(f"--copy {shlex.quote(visible(name))}" for name in untracked[:_HINTED])
        more = f" (and {len(untracked) - _HINTED} more)" if len(untracked) > _HINTED else ""
        line += f"; if the tests need them, verify again with {args}{more}"
    return line


def _isolation(trust: Trust, sandbox: bool | None, image: str | None) -> Sandbox | Container | None:
    if image is not None:
        return find_container(image)
    if sandbox is None and not trust.trusted:
        try:
            return find_sandbox()
        except SandboxUnavailable as e:
            raise SandboxUnavailable(
                f"{e}. This session is not trusted ({trust.reason}), so its tests run sandboxed unless you say "
                "otherwise: fix bubblewrap, run them in a container (--image IMAGE), or run them unsandboxed, "
                "as you, with --no-sandbox"
            ) from e
    return find_sandbox() if sandbox else None


def _describe(isolation: Sandbox | Container | None) -> str:
    if isinstance(isolation, Container):
        return (
            f"a {isolation.name} container of the local image {visible(isolation.image)}, without network, with the "
            "worktree mounted"
        )
    if isolation is not None:
        return (
            "a bubblewrap sandbox: no network, everything read-only but the worktree and a private /tmp "
            "(your files are readable)"
        )
    return "nothing: it runs as you, with your files and your network (--no-sandbox)"


def _patched_files(patch: str) -> tuple[str, ...]:
    """The ``b/`` paths of a ``git diff`` patch, in order."""
    names = []
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            _, _, b = line.partition(" b/")
            names.append(b)
    return tuple(dict.fromkeys(names))


def _files(names: Sequence[str]) -> str:
    shown = ", ".join(visible(n) for n in names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")
