"""Builds ``recsys_rerank_native``: ``-ffp-contract=off`` so no multiply-add is fused (the
arithmetic must be numpy's, operation for operation)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "recsys_rerank_native",
            ["recsys_rerank_native.c"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            libraries=["m"],
            optional=True,  # no C compiler: the package installs without it, numpy answers
        )
    ],
    py_modules=[],
)
