"""Builds ``recsys_rerank_native``: ``-ffp-contract=off`` so no multiply-add is fused (the
arithmetic must be numpy's, operation for operation); numpy's headers for its C API (the
arrays are read in place and the answer is made as numpy arrays, without the buffer protocol's
cost per array)."""

import numpy
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "recsys_rerank_native",
            ["recsys_rerank_native.c"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math"],
            libraries=["m"],
            optional=True,  # no C compiler: the package installs without it, numpy answers
        )
    ],
    py_modules=[],
)
