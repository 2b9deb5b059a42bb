"""Frame <-> tensor encoding: per-type column encoders and the TableEncoder that lays them out.

Every column encoder implements :class:`~tabae.encoding.base.ColumnEncoder`, the one
interface the models use to ask a column for its layout, point estimates, bounds and
known values.
"""

from tabae.encoding.base import ColumnEncoder
from tabae.encoding.categorical import BooleanEncoder, OneHotEncoder
from tabae.encoding.dates import DatetimeEncoder
from tabae.encoding.keys import KeyEncoder
from tabae.encoding.numeric import ModeSpecificEncoder, QuantileNormalEncoder, StandardEncoder
from tabae.encoding.table import Span, TableEncoder

__all__ = [
    "TableEncoder",
    "Span",
    "ColumnEncoder",
    "QuantileNormalEncoder",
    "StandardEncoder",
    "ModeSpecificEncoder",
    "OneHotEncoder",
    "BooleanEncoder",
    "DatetimeEncoder",
    "KeyEncoder",
]
