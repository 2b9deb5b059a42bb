"""Datetime columns: a numeric encoder of the seconds since the column's first date.

The datetime encoder keeps what a numeric encoder cannot: the origin, the step every
value sits on (whole days, seconds, milliseconds or microseconds, so that decoded values
snap back to it), and the unit and time zone of the column's dtype.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabae.encoding.base import ColumnEncoder
from tabae.exceptions import SchemaError

__all__ = ["DatetimeEncoder", "datetime_ns"]

NS_PER_S = 1_000_000_000
#: The steps a column may sit on, coarsest first, in nanoseconds.
STEPS_NS = (86_400 * NS_PER_S, NS_PER_S, 1_000_000, 1_000)


class DatetimeEncoder(ColumnEncoder):
    """Encode datetimes as seconds since the first one, with any numeric encoder.

    Parameters
    ----------
    inner : ColumnEncoder
        The numeric encoder of the seconds (quantile, standard or mode-specific).

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae.encoding import DatetimeEncoder, QuantileNormalEncoder
    >>> when = pd.Series(pd.to_datetime(["2024-01-01 10:00:00.250", "2024-03-01 12:30:00.500"]))
    >>> enc = DatetimeEncoder(QuantileNormalEncoder()).fit(when)
    >>> enc.step_ns  # whole milliseconds
    1000000
    >>> back = enc.inverse(enc.transform(when))
    >>> back.equals(when), str(back.dtype)
    (True, 'datetime64[us]')
    >>> enc.bounds()
    (Timestamp('2024-01-01 10:00:00.250000'), Timestamp('2024-03-01 12:30:00.500000'))
    """

    name = "datetime"

    def __init__(self, inner: ColumnEncoder):
        self.inner = inner

    @property
    def parts(self):
        return self.inner.parts

    def _fit(self, values) -> None:
        values = pd.Series(values)
        dtype = values.dtype
        self.unit_ = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]  # tz-aware | numpy dtype
        self.tz_ = None if getattr(dtype, "tz", None) is None else str(dtype.tz)
        ns = datetime_ns(values)
        self.origin_ns_, self.max_ns_ = int(ns.min()), int(ns.max())
        # The step is read off the wall clock: local midnights are whole days, not UTC ones.
        wall = ns if self.tz_ is None else datetime_ns(values.dt.tz_localize(None))
        self.step_ns_ = next((step for step in STEPS_NS if (wall % step == 0).all()), 0)
        self.inner.fit(self._seconds(ns))

    @property
    def step_ns(self) -> int:
        """The step every value sat on at fit, in nanoseconds (0: none coarser than 1 ns)."""
        return self.step_ns_

    def _seconds(self, ns: np.ndarray) -> np.ndarray:
        return (ns - self.origin_ns_) / NS_PER_S

    def _transform(self, values) -> np.ndarray:
        return self.inner.transform(self._seconds(datetime_ns(pd.Series(values))))

    def _inverse(self, block: np.ndarray, uniforms=None) -> pd.Series:
        seconds = self.inner.inverse(block, uniforms)
        if self.tz_ is not None and self.step_ns_ == STEPS_NS[0]:
            return self._local_days(np.round(seconds * NS_PER_S).astype(np.int64) + self.origin_ns_)
        if self.step_ns_:  # (sub-day steps divide the UTC offsets, so UTC and wall clock agree)
            # Snap to the step in integers: a float of nanoseconds since the origin
            # cannot hold a whole millisecond exactly after a few months.
            steps = np.round(seconds / (self.step_ns_ / NS_PER_S)).astype(np.int64)
            ns = steps * self.step_ns_ + self.origin_ns_
        else:
            ns = np.round(seconds * NS_PER_S).astype(np.int64) + self.origin_ns_
        return self._datetimes(ns)

    def _local_days(self, ns: np.ndarray) -> pd.Series:
        """Instants snapped to the nearest local midnight of the column's time zone."""
        instants = self._datetimes(ns).dt.as_unit("ns")
        wall = datetime_ns(instants.dt.tz_localize(None))
        day = STEPS_NS[0]
        midnights = pd.Series(pd.to_datetime((wall + day // 2) // day * day, unit="ns"))
        # A midnight that occurs twice (a switch at midnight) is the one nearer the
        # instant; one that does not occur moves to the first wall time that does.
        flags = np.ones(len(ns), bool)
        first, second = (
            midnights.dt.tz_localize(self.tz_, ambiguous=flag, nonexistent="shift_forward") for flag in (flags, ~flags)
        )
        later = (second - instants).abs() < (first - instants).abs()
        return first.where(~later, second).dt.as_unit(self.unit_)

    def _datetimes(self, ns: np.ndarray) -> pd.Series:
        """Nanoseconds since the epoch (UTC) as a Series in the column's unit and time zone."""
        result = pd.Series(pd.to_datetime(ns, unit="ns"))
        if self.tz_ is not None:
            result = result.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        return result.dt.as_unit(self.unit_)

    # log_jacobian stays zero (the default): datetime cells are scored in the encoded
    # space, as they were before this interface, so outlier scores did not change with it.

    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last datetime seen at fit, as Timestamps in the column's time zone."""
        lo, hi = self._datetimes(np.array([self.origin_ns_, self.max_ns_], np.int64))
        return lo, hi

    def feature_names(self, column: str) -> list[str]:
        return self.inner.feature_names(column)

    def get_state(self) -> dict:
        return {
            "origin_ns": self.origin_ns_, "max_ns": self.max_ns_, "step_ns": self.step_ns_,
            "unit": self.unit_, "tz": self.tz_, "inner": self.inner.to_dict(),
        }

    def set_state(self, state: dict) -> "DatetimeEncoder":
        self.origin_ns_, self.max_ns_, self.step_ns_ = state["origin_ns"], state["max_ns"], state["step_ns"]
        self.unit_, self.tz_ = state["unit"], state["tz"]
        self.inner = ColumnEncoder.from_dict(state["inner"])
        return self


def datetime_ns(values: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC for time-zone aware values) as int64."""
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        return values.astype("datetime64[ns]").to_numpy().astype(np.int64)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as err:
        raise SchemaError(
            "dates outside 1677-09-21 .. 2262-04-11 cannot be modelled (tabae counts nanoseconds); "
            "convert the column to numbers, e.g. years or days since a date"
        ) from err
