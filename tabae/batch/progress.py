"""Progress of a streamed job: rows done and rows per second, on stderr.

Shown only when stderr is a terminal, or when asked for (``--progress``), so that
logs and pipes stay clean.
"""

from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """A tqdm bar counting rows (or a silent stand-in), usable as a context manager.

    Parameters
    ----------
    total : int, optional
        Rows expected, when known (Parquet metadata says; CSV does not).
    enabled : bool, optional
        ``None``: show the bar only when stderr is a terminal.
    desc : str
        Label of the bar.

    Examples
    --------
    >>> with Progress(total=10, enabled=False) as bar:
    ...     bar.update(4)
    ...     bar.update(6)
    >>> bar.rows
    10
    """

    def __init__(self, total: int | None = None, enabled: bool | None = None, desc: str = "rows"):
        if enabled is None:
            enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.rows = 0
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, file=sys.stderr,
                             mininterval=0.5, dynamic_ncols=True, leave=True)

    def update(self, n: int) -> None:
        """Count ``n`` more rows."""
        self.rows += int(n)
        if self._bar is not None:
            self._bar.update(int(n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
