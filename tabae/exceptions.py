"""Exceptions and warnings raised by tabae.

Every user mistake raises a :class:`TabaeError` (or a child) whose message names the
column or argument, the bad value, and what to do next.
"""

from __future__ import annotations

__all__ = [
    "TabaeError",
    "SchemaError",
    "NotFittedError",
    "ModelFileError",
    "TabaeWarning",
]


class TabaeError(ValueError):
    """Root of every error tabae raises on bad input or misuse.

    It subclasses :class:`ValueError` so that code written for scikit-learn's
    conventions (``except ValueError``) keeps working.
    """


class SchemaError(TabaeError):
    """A frame does not match what tabae can encode, or what a model was fitted on."""


class NotFittedError(TabaeError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class ModelFileError(TabaeError):
    """A saved model file is unreadable, tampered with, or from an incompatible version."""


class TabaeWarning(UserWarning):
    """Something was handled automatically but the user may want to know (e.g. unseen categories)."""
