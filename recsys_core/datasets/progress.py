"""The callback a long load, parse or download reports to."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]
"""A progress callback: ``progress(fraction_done, message)``, fraction in [0, 1]."""
