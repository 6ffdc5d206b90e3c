"""The optional C parts of tracer (everything else is in pyproject.toml): the PTY loop's steady state
(``tracer.capture._relay``) and the redaction engine's views of output with escape sequences
(``tracer.redact._escapes``).

They are built when a C compiler and the Python headers are there; when they are not, the build goes on without
them and the same work is done in Python (same behaviour, slower: docs/performance.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tracer.capture._relay",
            sources=["src/tracer/capture/_relay.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "tracer.redact._escapes",
            sources=["src/tracer/redact/_escapes.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
