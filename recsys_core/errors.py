"""Exceptions a user can cause. Their message is one sentence that names the value and the fix.

The CLI prints ``UserError`` messages to stderr and exits 2, without a traceback; the app shows
them with ``st.error``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (a file, an id, a parameter): message, no traceback."""


class DatasetError(UserError, ValueError):
    """A dataset cannot be read, found or built (bad file, missing column, nothing left)."""


class DownloadError(UserError):
    """A download failed (timeout, HTTP error, truncated body, bad checksum); nothing was kept."""


class ParameterError(UserError, ValueError):
    """An unknown or out-of-range algorithm parameter."""


class NotFittedError(UserError, RuntimeError):
    """A model was used before ``fit``."""


class ModelFitError(UserError, RuntimeError):
    """Training failed in a way the user can fix (diverged, NaN factors, no data)."""


class StoreError(UserError):
    """A stored model is missing or damaged."""


class UnknownIdError(UserError, KeyError):
    """An id that is not in the dataset; the message suggests the closest known ones."""

    def __str__(self) -> str:  # KeyError would repr() the message, adding quotes
        return str(self.args[0]) if self.args else ""
