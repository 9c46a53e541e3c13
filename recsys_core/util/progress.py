"""Progress callbacks: one step's ``progress(fraction, message)`` as a part of a larger bar."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction in [0, 1], message in words."""


def scaled(progress: Progress | None, low: float, high: float) -> Progress | None:
    """``progress`` seen as the span [low, high] of a larger bar (None stays None).

    Parameters
    ----------
    progress : callable or None
        The larger bar's ``progress(fraction, message)``.
    low, high : float
        Where the step starts and ends on the larger bar; the step's fraction is clamped to
        [0, 1] first.

    Returns
    -------
    callable or None
        ``scaled(fraction, message="")`` that calls ``progress(low + (high - low) * fraction,
        message)``.
    """
    if progress is None:
        return None

    def step(fraction: float, message: str = "") -> None:
        progress(low + (high - low) * min(max(float(fraction), 0.0), 1.0), message)

    return step
