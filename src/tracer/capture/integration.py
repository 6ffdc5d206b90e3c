"""How to start the user's shell so that its hooks write tracer's command marks.

:func:`prepare_shell` picks the injection method for the shell and writes the hook files into the
recorder's private work directory; the recorder execs :attr:`ShellLaunch.argv` in the PTY with
:attr:`ShellLaunch.env` added to the user's environment. The hooks and the marks they write are described
in :mod:`tracer.capture.marks` (protocol) and in the scripts themselves (``shells/tracer.*``):

- bash (>= 4.4): ``bash --init-file <workdir>/tracer.bash -i``; ours runs ``~/.bashrc`` (or, for a
  login shell, ``/etc/profile`` then the first of ``~/.bash_profile``, ``~/.bash_login``, ``~/.profile``),
  then hooks PS0 (preexec) and PROMPT_COMMAND (precmd).
- zsh: ``ZDOTDIR=<workdir>/zsh zsh -i``; our ``.zshenv``/``.zprofile``/``.zshrc``/``.zlogin`` run the
  user's own (from their ZDOTDIR or HOME), restore ZDOTDIR, then add preexec/precmd hook functions.
- fish: ``fish -i -C 'source <workdir>/tracer.fish'``; event handlers on fish_preexec, fish_postexec and
  fish_prompt.
- any other shell: ``SHELL -i`` with a warning: output is recorded, commands are not.

The nonce travels in a file, ``<workdir>/nonce`` (0600, in the recorder's private directory), whose path
the hook script is given in its own text; the script reads the nonce into a shell variable that is not
exported and empties the file at once, with builtins only (bash: in the ``--init-file``, before the user's
``~/.bashrc``; zsh: in our ``.zshenv``, before the user's; fish: in the ``-C`` script, after the user's
config). So once the shell has started, the nonce is in no environment (``/proc/<shell>/environ`` keeps the
*initial* environment for good, even after ``unset``), no argument list and no file: a program the shell
runs cannot write a mark that counts. ``exec bash`` (or zsh, fish) inside the session replaces the hooked
shell by an unhooked one: the ``exec`` command stays open until the end, and everything after it is
recorded as its output.
"""

from __future__ import annotations

import os

from tracer.errors import RecordingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ShellLaunch", "history_file", "prepare_shell", "shell_kind", "which"]

# (no re, pathlib or typing here: this module is imported on the way to the user's first prompt, and those cost
# milliseconds there; `bash --version`'s answer, once per binary, is read with re)
#: The characters of a mark nonce (32 of them).
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_KINDS = ("bash", "zsh", "fish")
#: In ``bash --version``'s output: major and minor version.
_BASH_VERSION = rb"version (\d+)\.(\d+)"
#: The oldest bash with PS0.
_MIN_BASH = (4, 4)
_ZSH_STAGES = ("zshenv", "zprofile", "zshrc", "zlogin")
#: File in ``cache_dir`` with one line per bash binary asked: ``<dev>:<inode>:<size>:<mtime>:<ctime> <major>.<minor>``.
VERSION_CACHE = "bash-versions"


class ShellLaunch:
    """What to exec in the PTY to get a hooked shell.

    Attributes:
        argv: the program (absolute path) and its arguments.
        env: variables to add to (or override in) the user's environment (for zsh, ``ZDOTDIR``); never the
            nonce.
        kind: ``"bash"``, ``"zsh"``, ``"fish"``, or ``"other"`` (no hooks: output only).
        warning: a line to show the user once at start (``None`` when all is well), e.g.
            ``"tracer: csh is not supported: recording output only, no commands"``.

    A plain class rather than a ``NamedTuple``, because :mod:`typing` is not imported on the way to the shell.
    """

    __slots__ = ("argv", "env", "kind", "warning")

    def __init__(self, argv: list[str], env: dict[str, str], kind: str, warning: str | None) -> None:
        self.argv = argv
        self.env = env
        self.kind = kind
        self.warning = warning

    def __repr__(self) -> str:
        return f"ShellLaunch(argv={self.argv!r}, env={self.env!r}, kind={self.kind!r}, warning={self.warning!r})"


def shell_kind(shell: str) -> str:
    """The kind of a shell from its path or name: ``"bash"``, ``"zsh"``, ``"fish"`` or ``"other"``.

    ``/usr/local/bin/bash5``, ``zsh-5.9`` and ``-bash`` count; ``sh`` is ``"other"`` even where it is bash. The
    name is an optional ``-`` (a login shell's ``argv[0]``), the kind, then nothing or a version: an optional
    ``-``, ``_`` or ``.``, a digit, then digits and dots (the regex ``-?(bash|zsh|fish)(?:[-_.]?[0-9][0-9.]*)?``).
    """
    name = os.path.basename(shell)
    if name.startswith("-"):
        name = name[1:]
    for kind in _KINDS:
        if name.startswith(kind):
            version = name[len(kind) :]
            if version[:1] in ("-", "_", "."):
                version = version[1:]
            elif not version:
                return kind
            if version[:1] in _DIGITS and all(c in _DIGITS or c == "." for c in version):
                return kind
            return "other"
    return "other"


def history_file(kind: str, env: Mapping[str, str]) -> str | None:
    """The file where a shell of ``kind`` keeps the user's history, when it is a file: what fish's
    autosuggestions, a reverse search (Ctrl-R) and ``history`` show again in a session, before a word of it is
    typed. From ``env`` (the user's environment): bash ``$HISTFILE``, else ``~/.bash_history``; zsh ``$HISTFILE``,
    else ``.zsh_history`` or ``.histfile`` in ``$ZDOTDIR`` or ``~``; fish ``fish_history`` in
    ``$XDG_DATA_HOME/fish`` (default ``~/.local/share/fish``). A ``HISTFILE`` set in an rc file, not exported,
    is not seen: then the usual places. ``None`` for another shell, or when there is no such file."""
    home = env.get("HOME") or os.path.expanduser("~")
    if kind == "bash":
        candidates = [env.get("HISTFILE"), os.path.join(home, ".bash_history")]
    elif kind == "zsh":
        zdot = env.get("ZDOTDIR") or home
        names = (".zsh_history", ".histfile")
        candidates = [env.get("HISTFILE"), *(os.path.join(d, n) for d in dict.fromkeys((zdot, home)) for n in names)]
    elif kind == "fish":
        data = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
        candidates = [os.path.join(data, "fish", "fish_history")]
    else:
        return None
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


def prepare_shell(
    shell: str,
    *,
    nonce: str,
    workdir: str | os.PathLike[str],
    login: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ShellLaunch:
    """Prepare the user's shell for recording: hook files in ``workdir``, and what to exec.

    Args:
        shell: path or name of the shell (``--shell``, else ``$SHELL``, else ``/bin/bash``); a name is looked
            up on ``PATH``.
        nonce: the session's mark nonce, 32 lowercase hex characters (see :mod:`tracer.capture.marks`).
        workdir: a private (0700) directory that the recorder creates and removes after the shell exited;
            the hook files and the nonce file are written there.
        login: start a login shell (bash emulates one: it runs the login files, but ``logout`` and
            ``~/.bash_logout`` do not apply).
        cache_dir: a private directory that outlives the recording (the runtime directory), where the version of
            each bash binary is kept (:data:`VERSION_CACHE`), so that ``bash --version`` runs once per binary, not
            on every start; ``None``: no cache.

    Returns:
        The launch description (its paths are ``str``, joined onto ``workdir`` as given). Shells other than bash,
        zsh and fish, and bash older than 4.4, come back with kind ``"other"`` and a warning.

    Raises:
        RecordingError: the shell does not exist or is not executable, or ``workdir`` cannot be written.
        ValueError: ``nonce`` is not 32 lowercase hex characters.
    """
    if len(nonce) != 32 or not _HEX.issuperset(nonce):
        raise ValueError(f"mark nonce {nonce!r} is not 32 lowercase hex characters")
    path = _resolve(shell)
    kind = shell_kind(path)
    env: dict[str, str] = {}
    work = os.fspath(workdir)
    nonce_file = os.path.join(work, "nonce")
    try:
        if kind == "bash":
            too_old = _bash_too_old(path, cache_dir)
            if too_old is None:
                script = os.path.join(work, "tracer.bash")
                _write(nonce_file, nonce + "\n")
                head = f"__tracer_login={int(login)}\n__tracer_nonce_file={_sh_quote(nonce_file)}\n"
                _write(script, head + _script("tracer.bash"))
                return ShellLaunch([path, "--init-file", script, "-i"], env, "bash", None)
            return _other(path, f"tracer: {path} is bash {too_old}, older than 4.4")
        if kind == "zsh":
            zdotdir = os.path.join(work, "zsh")
            try:
                os.mkdir(zdotdir, 0o700)
            except FileExistsError:
                if not os.path.isdir(zdotdir):
                    raise
            script = os.path.join(zdotdir, "tracer.zsh")
            _write(nonce_file, nonce + "\n")
            _write(script, _script("tracer.zsh"))
            for stage in _ZSH_STAGES:
                head = f"__tracer_nonce_file={_sh_quote(nonce_file)}\n" if stage == "zshenv" else ""
                _write(
                    os.path.join(zdotdir, f".{stage}"),
                    f"{head}__tracer_stage={stage}\nbuiltin source {_sh_quote(script)}\n",
                )
            env["ZDOTDIR"] = zdotdir
            if "ZDOTDIR" in os.environ:
                env["TRACER_ZDOTDIR"] = os.environ["ZDOTDIR"]
            argv = [path, "-l", "-i"] if login else [path, "-i"]
            return ShellLaunch(argv, env, "zsh", None)
        if kind == "fish":
            script = os.path.join(work, "tracer.fish")
            _write(nonce_file, nonce + "\n")
            _write(script, f"set -g __tracer_nonce_file {_fish_quote(nonce_file)}\n" + _script("tracer.fish"))
            argv = [path, "-i", "-C", f"source {_fish_quote(script)}"]
            if login:
                argv.insert(1, "-l")
            return ShellLaunch(argv, env, "fish", None)
    except OSError as e:
        raise RecordingError(
            f"cannot write the shell hooks into {work} ({e.strerror}); check that it is a writable directory"
        ) from e
    name = os.path.basename(path)
    return _other(path, f"tracer: {name} is not supported")


def _other(path: str, reason: str) -> ShellLaunch:
    """Output only: the shell, interactive, no hooks; ``reason`` starts the warning."""
    return ShellLaunch([path, "-i"], {}, "other", f"{reason}: recording output only, no commands")


def _resolve(shell: str) -> str:
    """Absolute path of the shell; a bare name is looked up on ``PATH``."""
    found: str | None = None
    if os.sep in shell:
        if os.path.isfile(shell) and os.access(shell, os.X_OK):
            found = os.path.abspath(shell)
    else:
        found = which(shell)
    if found is None:
        raise RecordingError(f"shell {shell!r} does not exist or is not executable; pass an installed one with --shell")
    return found


def which(name: str) -> str | None:
    """The first executable file ``name`` in a directory of ``$PATH`` (:data:`os.defpath` when unset), made
    absolute; ``None`` when there is none. What :func:`shutil.which` finds on POSIX, without importing
    :mod:`shutil` (with ``fnmatch``, ``re``, ``bz2`` and ``lzma``: ~4 ms) before the shell starts (``--shell
    zsh``; ``bash`` when ``$SHELL`` is not set)."""
    for directory in (os.environ.get("PATH") or os.defpath).split(os.pathsep):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def _bash_too_old(path: str, cache_dir: str | os.PathLike[str] | None = None) -> str | None:
    """``None`` when the bash at ``path`` has PS0 (4.4+), else its version ("3.2", or "unknown")."""
    version = _bash_version(path, cache_dir)
    if version is None:
        return "unknown"
    return None if version >= _MIN_BASH else f"{version[0]}.{version[1]}"


def _bash_version(path: str, cache_dir: str | os.PathLike[str] | None) -> tuple[int, int] | None:
    """``(major, minor)`` of the bash at ``path``, from the cache when that binary (device, inode, size, change
    time) was asked before, else from ``bash --version`` (then cached); ``None`` when it cannot be told."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    cache = os.path.join(cache_dir, VERSION_CACHE) if cache_dir is not None else None
    if cache is not None:
        try:
            with open(cache, encoding="ascii") as f:
                lines = f.read().splitlines()
            for line in lines:
                k, _, v = line.partition(" ")
                major, _, minor = v.partition(".")
                if k == key and major.isdigit() and minor.isdigit():
                    return int(major), int(minor)
        except (OSError, UnicodeDecodeError):
            pass
    import re  # not at start-up: once per bash binary
    import subprocess

    from tracer._proc import CommandFailed, run

    try:
        out = run([path, "--version"], timeout=10).stdout
    except (CommandFailed, subprocess.TimeoutExpired):
        return None
    m = re.search(_BASH_VERSION, out)
    if m is None:
        return None
    version = (int(m.group(1)), int(m.group(2)))
    if cache is not None:  # one line per binary; a lost race or a failed write only costs the next start a process
        try:
            fd = os.open(cache, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{key} {version[0]}.{version[1]}\n".encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass
    return version


def _script(name: str) -> str:
    """The text of a hook script shipped in ``tracer/capture/shells/``."""
    with open(os.path.join(os.path.dirname(__file__), "shells", name), encoding="utf-8") as f:
        return f.read()


def _write(path: str, text: str) -> None:
    """Write a hook file, readable by the user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)


def _sh_quote(text: str) -> str:
    """Quote for bash/zsh: single quotes, with ``'`` written as ``'\\''``."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_quote(text: str) -> str:
    """Quote for fish: single quotes, in which only ``\\`` and ``'`` are escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
