"""recsys_core: everything the recommendation explorer shows, as a library and a command line.

It never imports streamlit, except in ``recsys_core.ui``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .dataset import Dataset  # noqa: E402

__all__ = ["Dataset", "__version__"]
