"""Shared output helpers for the CLI: JSON to stdout, progress bars to stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from ..util.jsonsafe import json_default


def _default(value: Any) -> Any:
    """:func:`~recsys_core.util.jsonsafe.json_default`, and any other object as its text."""
    try:
        return json_default(value)
    except TypeError:
        return str(value)


def print_json(payload: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(payload, default=_default, indent=2) + "\n")
    sys.stdout.flush()


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class ProgressBar:
    """A ``progress(fraction, message)`` callback that draws a bar on stderr.

    Draws at most every 0.1 s, and only when stderr is a terminal unless ``force`` is set (so logs
    in CI stay short: it then prints one line per 10% step).
    """

    def __init__(self, label: str = "", width: int = 30, force: bool = False) -> None:
        self.label = label
        self.width = width
        self.tty = force or sys.stderr.isatty()
        self._last_draw = 0.0
        self._last_decile = -1
        self._done = False

    def __call__(self, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.tty:
            now = time.monotonic()
            if fraction < 1.0 and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = int(round(self.width * fraction))
            bar = "#" * filled + "-" * (self.width - filled)
            sys.stderr.write(f"\r{self.label} [{bar}] {fraction:6.1%} {message[:40]:<40}")
            if fraction >= 1.0 and not self._done:
                self._done = True
                sys.stderr.write("\n")
            sys.stderr.flush()
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                sys.stderr.write(f"{self.label} {fraction:.0%} {message}\n")
