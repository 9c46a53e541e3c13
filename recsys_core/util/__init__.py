"""Small helpers every layer uses, importing nothing else of recsys_core but ``errors``.

- :mod:`.files`: write a file atomically (a reader sees the old bytes or the new, never half).
- :mod:`.jsonsafe`: values as plain JSON types (numpy scalars, arrays, paths, NaN).
- :mod:`.ids`: id positions (where ids sit among known ids) and id maps in index order.
- :mod:`.topk`: the k best scores of a row or of each row, best first, ties by lower index.
- :mod:`.progress`: one step's progress callback as a span of a larger bar.
"""
