"""The ``tracer`` command (and ``python -m tracer``): ``tracer shell`` and ``tracer note`` start without click, the
rest through it.

A recording's start-up is on the way to the user's shell, so a ``tracer shell`` command line that
:func:`tracer.cli_shell.parse_shell_args` understands runs straight away; so does a ``tracer note`` that
:func:`tracer.cli_shell.parse_note_args` understands (a note is sent in the middle of the work: ~0.13 s through
click and the model, ~0.06 s without). Every other command line (and ``--help``, or one with a mistake)
goes to the click group in :mod:`tracer.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``tracer`` script."""
    args = sys.argv[1:]
    if args[:1] == ["shell"]:
        from tracer import cli_shell

        params = cli_shell.parse_shell_args(args[1:])
        if params is not None:
            cli_shell.main_shell(params)
    elif args[:1] == ["note"]:
        from tracer import cli_shell

        params = cli_shell.parse_note_args(args[1:])
        if params is not None:
            cli_shell.main_note(params)
    from tracer.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
