"""Where the test command runs: as it is, in a bubblewrap sandbox, or in a container of a local image.

- :class:`Sandbox` (bubblewrap, Debian's ``bubblewrap``): the whole file system read-only (``--ro-bind / /``),
  writable only the worktree and the run's report directory, a private ``/tmp``, ``/dev`` and ``/proc``; new
  user, PID, network, IPC, UTS and cgroup namespaces (``--unshare-all``: no network but a private loopback);
  every capability dropped; its own session (``--new-session``: no ``TIOCSTI`` into the terminal), killed with
  verify (``--die-with-parent``).
- :class:`Container` (podman, else docker): ``ENGINE run --rm --pull=never --network=none`` of a local image,
  the worktree and the report directory mounted at their own paths, the command run by the image's ``bash``
  (``sh`` where it has none). Nothing is pulled: an image missing from the local store is an error.

Each turns the shell command line into the argv to start (:meth:`Sandbox.argv`, :meth:`Container.argv`: pure
functions of their arguments). :func:`find_sandbox` and :func:`find_container` check that the tool exists and
works, and say why not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.verify.errors import ContainerUnavailable, SandboxUnavailable

#: Seconds a probe of bwrap or of a container engine may take.
PROBE_TIMEOUT = 60.0
#: Environment variables given to the command in a container (the host's others mean nothing there).
CONTAINER_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "CI", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True)
class Sandbox:
    """bubblewrap at ``bwrap``."""

    bwrap: str

    name = "bubblewrap"

    def argv(self, command: str, *, shell: str, cwd: Path, writable: Sequence[Path]) -> list[str]:
        """The argv running ``shell -c command`` in ``cwd`` inside the sandbox, ``writable`` directories bound
        read-write (each at its own path; a directory below ``/tmp`` or ``/dev/shm`` too)."""
        args = [
            self.bwrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-all",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
        ]
        for path in writable:
            args += ["--bind", os.fspath(path), os.fspath(path)]
        args += ["--chdir", os.fspath(cwd), "--setenv", "TMPDIR", "/tmp", "--", shell, "-c", command]
        return args


def find_sandbox() -> Sandbox:
    """bubblewrap, checked by starting ``true`` in a sandbox like the tests'.

    Raises:
        SandboxUnavailable: bwrap is not installed, or cannot make namespaces here (the message says why).
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed, so the tests cannot run sandboxed: install it (`apt-get install bubblewrap`)"
        )
    sandbox = Sandbox(bwrap)
    probe = sandbox.argv("true", shell="/bin/sh", cwd=Path("/"), writable=())
    try:
        done = subprocess.run(probe, capture_output=True, stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"bubblewrap ({bwrap}) cannot be started: {e}") from e
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise SandboxUnavailable(
            f"bubblewrap ({bwrap}) cannot make a sandbox here: {why[-1] if why else f'exit status {done.returncode}'}"
            " (user namespaces may be off: see `sysctl user.max_user_namespaces` and "
            "`kernel.unprivileged_userns_clone`)"
        )
    return sandbox


@dataclass(frozen=True, slots=True)
class Container:
    """A local ``image`` run by the container engine at ``engine`` (``podman`` or ``docker``)."""

    engine: str
    image: str

    @property
    def name(self) -> str:
        """``podman`` or ``docker``."""
        return os.path.basename(self.engine)

    def argv(
        self, command: str, *, cwd: Path, writable: Sequence[Path], env: Mapping[str, str], container: str
    ) -> list[str]:
        """The argv running ``command`` in a new container named ``container``, in ``cwd``, with ``writable``
        directories mounted at their own paths and the :data:`CONTAINER_ENV` variables of ``env``."""
        args = [
            self.engine,
            "run",
            "--rm",
            "--pull=never",
            "--network=none",
            "--name",
            container,
            "--workdir",
            os.fspath(cwd),
        ]
        if self.name == "docker" and os.getuid() != 0:  # docker's daemon is root: files must stay the user's
            args += ["--user", f"{os.getuid()}:{os.getgid()}"]
        for path in writable:
            args += ["--volume", f"{os.fspath(path)}:{os.fspath(path)}:rw"]
        for key in CONTAINER_ENV:
            if key in env:
                args += ["--env", f"{key}={env[key]}"]
        script = 'if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$1"; fi'
        return [*args, "--entrypoint", "/bin/sh", self.image, "-c", script, "sh", command]

    def remove(self, container: str) -> None:
        """Remove the container (after a timeout killed its client); quiet when it is gone already."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [self.engine, "rm", "--force", container],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=PROBE_TIMEOUT,
            )


def find_container(image: str, engines: Sequence[str] = ("podman", "docker")) -> Container:
    """The first engine of ``engines`` that is installed, answers, and has ``image`` in its local store.

    Raises:
        ContainerUnavailable: none does; the message says, per engine, what went wrong.
    """
    problems = []
    for name in engines:
        path = shutil.which(name)
        if path is None:
            problems.append(f"{name} is not installed")
            continue
        try:
            done = subprocess.run(
                [path, "image", "inspect", "--format", "{{.Id}}", image],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=PROBE_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            problems.append(f"{name} does not answer ({e})")
            continue
        if done.returncode == 0:
            return Container(path, image)
        why = done.stderr.decode(errors="replace").strip().splitlines()
        problems.append(f"{name}: {why[-1] if why else f'exit status {done.returncode}'}")
    raise ContainerUnavailable(
        f"cannot run the tests in image {image}: " + "; ".join(problems) + ". verify never pulls: make or pull the "
        "image first (`podman pull IMAGE`), with podman or docker installed and working"
    )
