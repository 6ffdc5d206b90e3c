"""Verifying a session (``tracer verify``): read it, pick the test command, run the verdict, append it.

The verdict is appended to the session file as a ``verify_result`` event (append-only), so ``tracer show``,
``tracer ls``, the replay and the JSON export all show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tracer.errors import VerifyError
from tracer.model import VerifyResult
from tracer.store import append_events, read_outline
from tracer.verify import find_test_command, verify


def verify_session(
    path: Path,
    *,
    test_command: str | None = None,
    timeout: float = 1800.0,
    copy: Sequence[str] = (),
    compare_base: bool = False,
    on_output: Callable[[bytes], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Verify the final patch of the session at ``path`` and append the result to it.

    Raises:
        SessionError: the session cannot be read or appended to.
        VerifyError: no start commit, the patch does not apply, no test command.
    """
    session = read_outline(path)  # no output or diffs: verify needs the header, the commands and the final patch
    h = session.header
    if h.repo_root is None or h.head_commit is None:
        raise VerifyError(
            f"session file {path} has no start commit (it was not recorded in a git repository with a "
            "commit), so there is no clean checkout to verify it on"
        )
    final = session.final_patch
    if final is None:
        raise VerifyError(
            f"session file {path} has no final patch (the recording was interrupted before the end): nothing to verify"
        )
    command, source = find_test_command(
        explicit=test_command,
        header=h.test_command,
        repo=Path(h.repo_root),
        commands=[c.command for c in session.commands()],
    )
    result = verify(
        repo=Path(h.repo_root),
        start_commit=h.head_commit,
        baseline_patch=h.baseline_patch,
        final_patch=final.patch,
        test_command=command,
        command_source=source,
        timeout=timeout,
        copy=copy,
        compare_base=compare_base,
        on_output=on_output,
        on_progress=on_progress,
        clock_t=int(session.duration * 1e6),
    )
    append_events(path, [result])
    return result
