"""The verdict: run the tests on the start commit plus the session's final patch, in a throwaway worktree."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.model import VerifyResult, utc_now
from tracer.verify import _worktree
from tracer.verify._command import runner_of, with_junit_xml
from tracer.verify._isolation import Container, Sandbox
from tracer.verify._reports import OutputParser, TestReport
from tracer.verify._run import RunOutcome, run_test_command, shell
from tracer.verify.errors import NoStartCommit

#: Environment variables removed from the test command's environment: they would point git at the user's
#: repository (when tracer itself runs from a git hook) instead of the worktree.
_GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


def verify(
    *,
    repo: Path,
    start_commit: str | None,
    baseline_patch: str,
    final_patch: str,
    test_command: str,
    command_source: str,
    timeout: float = 1800.0,
    copy: Sequence[str] = (),
    compare_base: bool = False,
    on_output: Callable[[bytes], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
    clock_t: int = 0,
    isolation: Sandbox | Container | None = None,
    command_origin: str | None = None,
    trusted: bool | None = None,
) -> VerifyResult:
    """Run ``test_command`` on ``start_commit`` + ``baseline_patch`` + ``final_patch`` and judge the outcome.

    The tests run in a temporary ``git worktree`` outside ``repo`` (in ``/dev/shm`` when it is a roomy tmpfs
    and ``TMPDIR`` is not set, else in the temporary directory); the user's working tree, index and stash
    are never touched, and the worktree is removed whatever happens (errors, timeout, KeyboardInterrupt).
    Untracked files of ``repo`` are not there unless ``copy`` names them. The command runs with
    ``bash -c`` in the worktree (in the directory matching ``repo`` when ``repo`` is below the top level),
    in its own process group, with the user's environment plus ``PYTHONDONTWRITEBYTECODE=1`` and, when the
    worktree (or the directory the command runs in) has a ``src/`` directory, that directory first on
    ``PYTHONPATH`` (so an editable install of the user's checkout does not shadow the patched code).
    pytest gets ``--junitxml`` and ``-rA`` added when the command line ends with a direct pytest call (not
    through tox or make). With ``isolation``, the command runs in the sandbox or container it names, where only
    the worktree and the run's report directory are writable (see ``_isolation``).

    The verdict:

    - ``"timeout"``: the patched run did not end within ``timeout`` seconds; its process group was killed
      (and the run on the base is skipped).
    - without ``compare_base``: ``"passed"`` when the command exited 0, else ``"failed"``.
    - with ``compare_base``: the tests then also run on the start commit + baseline without the final patch,
      in a second worktree made after the first run (so build tools that judge freshness by mtime, with a
      shared build directory, rebuild), and ``"resolved"`` means at least one FAIL_TO_PASS test and no
      PASS_TO_FAIL test
      (a test missing from a run counts as failing in it, a skipped one as neither); otherwise ``"failed"``.
      When neither run reported per-test results, the command itself is compared as one test.

    Flag, don't believe: when a runner was recognised and its report contradicts the exit status,
    ``flagged`` says so. Exit non-zero with no failing test reported is ``"failed"``: a usage, collection or
    build error fails the command without failing a test, and a patch that breaks the build must not pass.
    Exit 0 with no test passed is ``"passed"`` with the flag: the exit status is the test command's
    contract (the one CI reads), but nothing shows the tests ran. Exit 0 with failing tests reported (a
    ``|| true`` in the command) is ``"failed"``: the report is more specific than the masked status.

    Args:
        repo: the directory the session was recorded in (its git work tree).
        start_commit: ``HEAD`` at the session's start (:attr:`tracer.model.Header.head_commit`); "" for a
            repository that had no commit yet (its start state is then all in ``baseline_patch``).
        baseline_patch: uncommitted changes at the start, ``git diff --binary HEAD`` form; may be "".
        final_patch: the session's final patch, ``git diff --binary`` form, on top of the baseline; may be "".
        test_command: shell command line (see :func:`tracer.verify.find_test_command`).
        command_source: where it came from: ``flag``, ``header``, ``config`` or ``session``.
        timeout: seconds each test run may take.
        copy: paths relative to ``repo`` (files or directories) copied into the worktree after the patches.
        compare_base: also run the tests without the final patch, for FAIL_TO_PASS / PASS_TO_FAIL.
        on_output: called with each chunk of the test command's output (bytes) as it arrives (both runs
            with ``compare_base``: the patched one first, then the unpatched one).
        on_progress: called with one line of what is happening (``"creating worktree at 1a2b3c4"``,
            ``"applying patch (git apply)"``, ``"running: pytest -q"``, ``"removing worktree"``).
        clock_t: the ``t`` of the result (microseconds since the session's start).
        isolation: a bubblewrap sandbox or a container image to run the tests in; ``None`` runs them as they are.
        command_origin: where exactly the command came from, kept in the result (see ``TestCommand.origin``).
        trusted: whether the session was recorded by this user on this machine, kept in the result.

    Returns:
        the :class:`tracer.model.VerifyResult`; ``duration`` is the seconds the test command(s) ran (both
        runs with ``compare_base``), ``overhead`` the seconds spent on everything else, ``output`` the patched
        run's output and ``base_output`` the unpatched run's (the last MiB of each, as text).

    Raises:
        NoStartCommit: ``start_commit`` and ``baseline_patch`` are empty (with a baseline patch and no start commit,
            a session recorded in a repository without a commit yet, an empty repository is the start).
        RepoNotFound, NotAGitRepository: ``repo`` is missing, or not a git work tree.
        CommitNotFound: ``start_commit`` is not in ``repo``.
        BaselineDoesNotApply: ``baseline_patch`` does not apply to ``start_commit``.
        PatchDoesNotApply: ``final_patch`` applies with no method; the message names files and hunks.
        CopyNotFound: a path of ``copy`` does not exist.
        WorktreeError: git cannot create the worktree.
        VerifyError: the shell cannot be started.
    """
    began = time.monotonic()
    verified_at = utc_now()
    progress = on_progress or _ignore
    if not start_commit and not baseline_patch.strip():
        raise NoStartCommit(
            "the session has no start commit and no start state (it was recorded outside a git repository): "
            "verify needs one to check the patch out on"
        )
    if start_commit:
        top = _worktree.toplevel(repo)
        commit = _worktree.resolve_commit(top, start_commit)
        subdir = _subdir(repo, top)
        parent = _worktree.scratch_parent(top, commit)
    else:  # a repository without a commit yet: its start state is all in the baseline patch
        top, subdir, parent = repo, Path(), None

    @contextlib.contextmanager
    def checkout(path: Path) -> Iterator[tuple[Path, str]]:
        """The start commit checked out at ``path`` (an empty repository for a session without one)."""
        if not start_commit:
            with _worktree.empty_start(path, progress=progress) as made:
                yield made
            return
        with _worktree.worktree(top, commit, path, progress=progress) as made_path:
            yield made_path, commit

    ran = 0.0
    base_outcome: tuple[RunOutcome, TestReport] | None = None
    with tempfile.TemporaryDirectory(prefix="tracer-verify-", dir=parent) as tmp:
        scratch = Path(tmp)
        with checkout(scratch / (top.name or "repo")) as (patched, commit):
            if baseline_patch.strip():
                progress("applying baseline patch (git apply)")
            _worktree.apply_baseline(patched, baseline_patch, commit=commit)
            method = _worktree.apply_final(
                patched, final_patch, baseline=baseline_patch, commit=commit, progress=progress
            )
            _worktree.copy_into(repo, patched / subdir, copy, progress=progress)
            progress(f"running{_inside(isolation)}: {test_command}")
            outcome, report = _run(test_command, patched, subdir, scratch / "reports", timeout, on_output, isolation)
            ran += outcome.duration
        # The base's worktree is made only now: its files are newer than anything the patched run built, so
        # mtime-based build tools sharing a build directory (CARGO_TARGET_DIR, ccache) rebuild for it.
        if compare_base and not outcome.timed_out:
            (scratch / "base").mkdir()
            with checkout(scratch / "base" / (top.name or "repo")) as (base, _):
                _worktree.apply_baseline(base, baseline_patch, commit=commit)
                _worktree.copy_into(repo, base / subdir, copy, progress=progress)
                progress(f"running on the unpatched base{_inside(isolation)}: {test_command}")
                base_outcome = _run(test_command, base, subdir, scratch / "base-reports", timeout, on_output, isolation)
                ran += base_outcome[0].duration
    verdict, flagged = _judge(outcome, report, timeout)
    transitions: dict[str, tuple[str, ...] | None] = {
        "fail_to_pass": None,
        "pass_to_pass": None,
        "pass_to_fail": None,
    }
    if base_outcome is not None and verdict != "timeout":
        verdict, more, transitions = _compare(test_command, base_outcome, (outcome, report))
        flagged = _join(flagged, more)
    return VerifyResult(
        t=clock_t,
        verdict=verdict,
        command=test_command,
        exit_status=outcome.exit_status,
        command_source=command_source,
        patch_method=method,
        verified_at=verified_at,
        duration=round(ran, 6),
        overhead=round(max(time.monotonic() - began - ran, 0.0), 6),
        runner=report.runner,
        passed=report.passed,
        failed=report.failed,
        skipped=report.skipped,
        errors=report.errors,
        tests=tuple(report.tests),
        fail_to_pass=transitions["fail_to_pass"],
        pass_to_pass=transitions["pass_to_pass"],
        pass_to_fail=transitions["pass_to_fail"],
        flagged=flagged,
        output=_text(outcome),
        base_output=_text(base_outcome[0]) if base_outcome is not None else None,
        base_exit_status=base_outcome[0].exit_status if base_outcome is not None else None,
        command_origin=command_origin,
        isolation=None if isolation is None else isolation.name,
        image=isolation.image if isinstance(isolation, Container) else None,
        trusted=trusted,
    )


def _text(outcome: RunOutcome) -> str:
    """A run's output as text, with a line saying how much was cut from its front."""
    text = outcome.output.decode("utf-8", errors="replace")
    if outcome.cut:
        text = f"[tracer: the first {outcome.cut} bytes of output were cut]\n" + _skip_partial(text)
    return text


def _inside(isolation: Sandbox | Container | None) -> str:
    if isinstance(isolation, Container):
        return f" in {isolation.name} image {isolation.image}"
    return " in a bubblewrap sandbox" if isolation is not None else ""


def _run(
    command: str,
    worktree: Path,
    subdir: Path,
    reports: Path,
    timeout: float,
    on_output: Callable[[bytes], None] | None,
    isolation: Sandbox | Container | None,
) -> tuple[RunOutcome, TestReport]:
    """One run of the test command in ``worktree``; pytest's JUnit report goes to the new directory ``reports``
    (writable by the run, like the worktree, and nothing else is when ``isolation`` is given)."""
    reports.mkdir()
    junit = reports / "junit.xml"
    cwd = worktree / subdir
    runner = runner_of(command)
    injected = with_junit_xml(command, junit) if runner == "pytest" else None
    parser = OutputParser(runner, str(worktree))
    line = injected or command
    env = _test_env(os.environ, worktree, cwd)

    def received(chunk: bytes) -> None:
        parser.feed(chunk)
        if on_output is not None:
            on_output(chunk)

    argv: list[str] | None = None
    container = None
    if isinstance(isolation, Container):
        container = f"tracer-verify-{os.urandom(6).hex()}"
        argv = isolation.argv(line, cwd=cwd, writable=[worktree, reports], env=env, container=container)
    elif isolation is not None:
        argv = isolation.argv(line, shell=shell(), cwd=cwd, writable=[worktree, reports])
    try:
        outcome = run_test_command(line, cwd=cwd, env=env, timeout=timeout, on_output=received, argv=argv)
    finally:
        if isinstance(isolation, Container) and container is not None:
            isolation.remove(container)
    text = outcome.output.decode("utf-8", errors="replace")
    report = parser.finish(output=text, junit=junit if injected else None)
    return outcome, report


def _test_env(base: Mapping[str, str], worktree: Path, cwd: Path) -> dict[str, str]:
    """The user's environment, plus PYTHONDONTWRITEBYTECODE=1 and the worktree's ``src/`` on PYTHONPATH."""
    env = {k: v for k, v in base.items() if k not in _GIT_REDIRECTS}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    sources = dict.fromkeys(str(d / "src") for d in (cwd, worktree) if (d / "src").is_dir())
    if sources:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*sources, env.get("PYTHONPATH", "")) if p)
    return env


def _judge(outcome: RunOutcome, report: TestReport, timeout: float) -> tuple[str, str | None]:
    """The verdict and flag of one run, without comparison to the base."""
    if outcome.timed_out:
        return "timeout", f"the test command did not finish within {timeout:g} s; its processes were killed"
    status = outcome.exit_status
    bad = (report.failed or 0) + (report.errors or 0)
    if status != 0:
        if report.runner is not None and bad == 0:
            return "failed", (
                f"exited with status {status} but {report.runner} reported no failing test: the run itself "
                "probably broke (a usage, collection or build error); see the output"
            )
        return "failed", None
    if bad:
        return "failed", f"exited 0 although {report.runner} reported {bad} failing test(s)"
    if report.runner is not None and not report.passed:
        skipped = f" ({report.skipped} skipped)" if report.skipped else ""
        return "passed", f"exited 0 but no test passed{skipped}: the tests may not have run"
    return "passed", None


@dataclass(frozen=True, slots=True)
class _Side:
    passed: frozenset[str]
    failed: frozenset[str]  # failed, error
    names: tuple[str, ...]  # every name, in report order


def _side(command: str, outcome: RunOutcome, report: TestReport, per_test: bool) -> _Side:
    if per_test:
        tests = report.tests
        return _Side(
            passed=frozenset(t.name for t in tests if t.status == "passed"),
            failed=frozenset(t.name for t in tests if t.status in ("failed", "error")),
            names=tuple(t.name for t in tests),
        )
    ok = outcome.exit_status == 0
    return _Side(
        passed=frozenset([command] if ok else []),
        failed=frozenset([] if ok else [command]),
        names=(command,),
    )


def _compare(
    command: str, base: tuple[RunOutcome, TestReport], patched: tuple[RunOutcome, TestReport]
) -> tuple[str, str | None, dict[str, tuple[str, ...] | None]]:
    """SWE-bench's transitions between the unpatched (``base``) and patched runs, and their verdict."""
    per_test = bool(base[1].tests or patched[1].tests)
    before = _side(command, *base, per_test)
    after = _side(command, *patched, per_test)
    order = list(dict.fromkeys([*after.names, *before.names]))
    f2p = tuple(n for n in order if n in after.passed and _failing(before, n))
    p2p = tuple(n for n in order if n in after.passed and n in before.passed)
    p2f = tuple(n for n in order if n in before.passed and _failing(after, n))
    flags = []
    if not per_test:
        flags.append("no per-test results: the command's exit status before and after the patch was compared")
    if base[0].timed_out:
        flags.append("the run on the unpatched base timed out")
    verdict = "resolved" if f2p and not p2f else "failed"
    return verdict, "; ".join(flags) or None, {"fail_to_pass": f2p, "pass_to_pass": p2p, "pass_to_fail": p2f}


def _failing(side: _Side, name: str) -> bool:
    """SWE-bench's "failed": the test failed, errored, or is missing from the run (skipped is neither)."""
    return name in side.failed or name not in side.names


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None


def _subdir(repo: Path, top: Path) -> Path:
    try:
        return repo.resolve().relative_to(top.resolve())
    except ValueError:
        return Path()


def _skip_partial(text: str) -> str:
    """``text`` from its first full line (the cut may fall inside a line or a character)."""
    newline = text.find("\n")
    return text[newline + 1 :] if 0 <= newline < 200 else text


def _ignore(_: str) -> None:
    pass
