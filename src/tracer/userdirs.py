"""tracer's user directories and the path of its configuration file, as ``str``.

On the way to the shell (``tracer shell`` finds its sessions directory and looks for a configuration file before
the shell starts), so this module imports only :mod:`os` and :mod:`sys`; :mod:`tracer.config` gives the same
directories as :class:`pathlib.Path`.
"""

from __future__ import annotations

import os
import sys

__all__ = ["CONFIG_ENV", "config_file", "user_dir"]

#: Environment variable naming the configuration file instead of the default.
CONFIG_ENV = "TRACER_CONFIG"

#: ``kind`` of :func:`user_dir` → (XDG variable, its default under the home directory).
_XDG = {
    "config": ("XDG_CONFIG_HOME", "~/.config"),
    "data": ("XDG_DATA_HOME", "~/.local/share"),
    "cache": ("XDG_CACHE_HOME", "~/.cache"),
}


def user_dir(kind: str) -> str:
    """tracer's user ``"config"``, ``"data"`` or ``"cache"`` directory (not created).

    On Linux, as the XDG Base Directory Specification says (and platformdirs does): ``$XDG_CONFIG_HOME/tracer``,
    ``$XDG_DATA_HOME/tracer`` or ``$XDG_CACHE_HOME/tracer`` when the variable holds an absolute path, else
    ``~/.config/tracer``, ``~/.local/share/tracer`` or ``~/.cache/tracer`` — without importing platformdirs, ~3 ms
    of every ``tracer shell``'s start. Elsewhere, platformdirs' directory.

    Raises:
        KeyError: ``kind`` is none of those.
    """
    var, default = _XDG[kind]
    if sys.platform.startswith("linux"):
        base = os.environ.get(var, "")
        return os.path.join(base if os.path.isabs(base) else os.path.expanduser(default), "tracer")
    import platformdirs

    return str(getattr(platformdirs, f"user_{kind}_dir")("tracer"))


def config_file() -> str:
    """The configuration file: ``$TRACER_CONFIG`` (``~`` expanded), else ``<user config dir>/config.toml``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return os.path.expanduser(env)
    return os.path.join(user_dir("config"), "config.toml")
