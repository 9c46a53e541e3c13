"""Small helpers every layer uses, importing nothing else of recsys_core but ``errors``.

- :mod:`.files`: write a file atomically (a reader sees the old bytes or the new, never half).
- :mod:`.jsonsafe`: values as plain JSON types (numpy scalars, arrays, paths, NaN).
"""
