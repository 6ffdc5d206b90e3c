"""The optional C part of tracer's PTY loop (everything else is in pyproject.toml).

``tracer.capture._relay`` is built when a C compiler and the Python headers are there; when they are not, the
build goes on without it and the PTY loop runs wholly in Python (same behaviour, slower: docs/performance.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tracer.capture._relay",
            sources=["src/tracer/capture/_relay.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
