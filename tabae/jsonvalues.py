"""Category values as plain JSON: what JSON has as is, Timestamps, dates, Decimals... tagged.

A model file is JSON plus raw arrays, so every value a fitted model keeps (the
categories of a column, in its schema and in its encoder) must be JSON. Values JSON
lacks are written as a tagged dict ``{"$<type>": text, ...}`` and read back as an equal
value of the same type; :func:`round_trips` tells whether a value survives, so that a
schema can refuse at fit what ``save()`` could not write after training.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PLAIN_TYPES", "to_builtin", "to_json_value", "from_json_value", "round_trips"]

#: Types JSON holds as they are (exact types: a numpy float is not one of them).
PLAIN_TYPES = (str, bool, int, float, type(None))


def to_builtin(value: Any) -> Any:
    """numpy scalars -> Python scalars (datetimes -> Timestamps), other values as they are."""
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    return value.item() if isinstance(value, np.generic) else value


def to_json_value(value: Any) -> Any:
    """A category value as plain JSON: builtins as they are, others as a tagged dict.

    Categories can be Timestamps, dates, Decimals, intervals (``pd.cut``)... which
    ``json`` cannot write; each becomes ``{"$<type>": text, ...}`` that
    :func:`from_json_value` turns back into an equal value of the same type (a
    category can never be a dict, so tags cannot collide with values). Types it does
    not know are returned as they are, for :func:`round_trips` to refuse.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae.jsonvalues import from_json_value, to_json_value
    >>> to_json_value(pd.Timestamp("2024-05-01 12:00", tz="UTC"))
    {'$timestamp': '2024-05-01T12:00:00+00:00', 'tz': 'UTC', 'unit': 'us'}
    >>> from_json_value(to_json_value(pd.Timestamp("2024-05-01 12:00", tz="UTC")))
    Timestamp('2024-05-01 12:00:00+0000', tz='UTC')
    """
    value = to_builtin(value)
    if type(value) in PLAIN_TYPES:
        return value
    if isinstance(value, pd.Timestamp):
        return {"$timestamp": value.isoformat(), "tz": None if value.tz is None else str(value.tz), "unit": value.unit}
    if isinstance(value, pd.Timedelta):
        return {"$timedelta": int(value.as_unit("ns").value), "unit": value.unit}
    if type(value) is datetime.datetime:
        return {"$datetime": value.isoformat()}
    if type(value) is datetime.date:
        return {"$date": value.isoformat()}
    if type(value) is decimal.Decimal:
        return {"$decimal": str(value)}
    if isinstance(value, pd.Interval):
        return {"$interval": [to_json_value(value.left), to_json_value(value.right)], "closed": value.closed}
    if isinstance(value, pd.Period):
        return {"$period": str(value), "freq": value.freqstr}
    return value


def from_json_value(data: Any) -> Any:
    """Invert :func:`to_json_value`."""
    if not isinstance(data, dict):
        return data
    if "$timestamp" in data:
        ts = pd.Timestamp(data["$timestamp"])
        ts = ts.tz_convert(data["tz"]) if data.get("tz") else ts
        return ts.as_unit(data["unit"]) if data.get("unit") else ts
    if "$timedelta" in data:
        return pd.Timedelta(data["$timedelta"], unit="ns").as_unit(data.get("unit", "ns"))
    if "$datetime" in data:
        return datetime.datetime.fromisoformat(data["$datetime"])
    if "$date" in data:
        return datetime.date.fromisoformat(data["$date"])
    if "$decimal" in data:
        return decimal.Decimal(data["$decimal"])
    if "$interval" in data:
        left, right = (from_json_value(v) for v in data["$interval"])
        return pd.Interval(left, right, closed=data["closed"])
    if "$period" in data:
        return pd.Period(data["$period"], freq=data["freq"])
    return data


def round_trips(value: Any) -> bool:
    """Whether ``value`` survives :func:`to_json_value`, JSON text and :func:`from_json_value`
    as an equal value of the same type (time zone and unit included)."""
    try:
        back = from_json_value(json.loads(json.dumps(to_json_value(value))))
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return False
    value = to_builtin(value)
    try:
        same = bool(back == value)
    except (TypeError, ValueError):
        return False
    return (
        same and type(back) is type(value) and repr(back) == repr(value)
        and getattr(back, "unit", None) == getattr(value, "unit", None)
    )
