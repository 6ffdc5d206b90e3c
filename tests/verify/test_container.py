"""``--image``: the tests in a container of a local image (podman, else docker), never pulled.

The end-to-end test builds a small image on the machine (``podman import`` of a root file system made of this
machine's bash, sh and cat with their libraries) and is skipped, with the engine's own reason, where no engine
can run a container.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tracer.verify import Container, ContainerUnavailable, find_container

from .conftest import Repo, verify_patch

IMAGE = "localhost/tracer-verify-test:1"


def test_the_container_argv() -> None:
    argv = Container("/usr/bin/podman", "localhost/img:1").argv(
        "pytest -q",
        cwd=Path("/dev/shm/w/proj/sub"),
        writable=[Path("/dev/shm/w/proj"), Path("/dev/shm/w/reports")],
        env={"PYTHONPATH": "/dev/shm/w/proj/src", "HOME": "/root", "PYTHONDONTWRITEBYTECODE": "1"},
        container="tracer-verify-1",
    )
    assert argv[:8] == [
        "/usr/bin/podman",
        "run",
        "--rm",
        "--pull=never",
        "--network=none",
        "--name",
        "tracer-verify-1",
        "--workdir",
    ]
    assert argv[8] == "/dev/shm/w/proj/sub"
    assert "/dev/shm/w/proj:/dev/shm/w/proj:rw" in argv and "/dev/shm/w/reports:/dev/shm/w/reports:rw" in argv
    assert "PYTHONPATH=/dev/shm/w/proj/src" in argv and "PYTHONDONTWRITEBYTECODE=1" in argv
    assert not any(a.startswith("HOME=") for a in argv)  # the host's environment means nothing there
    assert argv[-6:-4] == ["/bin/sh", "localhost/img:1"] and argv[-1] == "pytest -q"


def test_no_engine_or_no_image_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ContainerUnavailable, match=r"podman is not installed; docker is not installed.*never pulls"):
        find_container("localhost/nothing:1")
    broken = tmp_path / "docker"  # a docker client without its engine, as on machines with only the client
    broken.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    with pytest.raises(ContainerUnavailable, match=r"docker: Cannot connect to the Docker daemon"):
        find_container("localhost/nothing:1")


def _rootfs_tar(path: Path) -> None:
    """A tar of a root file system holding bash, sh and cat and the libraries they load."""
    files: set[str] = set()
    for tool in ("bash", "sh", "cat"):
        exe = shutil.which(tool)
        assert exe is not None
        files.add(exe)
        files.add(os.path.realpath(exe))
        ldd = subprocess.run(["ldd", os.path.realpath(exe)], capture_output=True, text=True).stdout
        files.update(word for word in ldd.split() if word.startswith("/"))
    with tarfile.open(path, "w") as tar:
        for name in sorted(files):
            tar.add(os.path.realpath(name), arcname=name.lstrip("/"))
            for alias in ("bin", "lib", "lib64"):  # /bin -> usr/bin on merged-/usr systems
                if name.startswith(f"/usr/{alias}/"):
                    tar.add(os.path.realpath(name), arcname=name[len("/usr/") :])


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (apt-get install podman): no container engine to run an image")
    if subprocess.run([podman, "image", "exists", IMAGE]).returncode != 0:
        tar = tmp_path_factory.mktemp("rootfs") / "rootfs.tar"
        _rootfs_tar(tar)
        made = subprocess.run([podman, "import", str(tar), IMAGE], capture_output=True, text=True, timeout=300)
        if made.returncode != 0:
            pytest.skip(f"podman cannot import an image here: {made.stderr.strip()}")
    ran = subprocess.run(
        [podman, "run", "--rm", "--pull=never", "--network=none", IMAGE, "/bin/sh", "-c", "true"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ran.returncode != 0:
        pytest.skip(f"podman cannot run a container here: {ran.stderr.strip()}")
    return IMAGE


def test_the_tests_run_in_the_image_with_the_worktree_mounted_and_no_network(
    image: str, make_repo: Callable[..., Repo]
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    project = make_repo({"state.txt": "broken\n"})
    patch = project.patch_of({"state.txt": "fixed\n"})
    command = (
        f"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo NETWORK; "
        'echo built > out.txt && cat out.txt && test "$(cat state.txt)" = fixed'
    )
    try:
        result = verify_patch(project, patch, test_command=command, isolation=find_container(image), timeout=300)
    finally:
        server.close()
    assert (result.verdict, result.isolation, result.image) == ("passed", "podman", image), result.output
    assert "built" in result.output and "NETWORK" not in result.output
