"""Long jobs (streamed batches, tuning trials) show each kind of warning once.

A streamed job calls the model once per batch and a study fits a model per trial: a
warning about the data (unseen categories, say) would repeat for every batch or trial,
each time with other counts and examples. Inside :class:`warnings_once`, a warning is
shown only if no warning of the same kind was shown before in that block. The user's
warning filters still decide first: an ignored warning stays ignored.
"""

from __future__ import annotations

import re
import warnings

__all__ = ["warnings_once", "warning_kind"]


class warnings_once(warnings.catch_warnings):
    """A ``warnings.catch_warnings`` block that shows each kind of warning once."""

    def __enter__(self):
        result = super().__enter__()
        shown, show = set(), warnings.showwarning

        def show_new(message, category, *args, **kwargs):
            key = (category, warning_kind(str(message)))
            if key not in shown:
                shown.add(key)
                show(message, category, *args, **kwargs)

        warnings.showwarning = show_new
        return result


def warning_kind(message: str) -> str:
    """``message`` without its counts and bracketed examples (digits inside names stay)."""
    return re.sub(r"\[[^\]]*\]|(?<![\w'])\d+(?![\w'])", "", message)
