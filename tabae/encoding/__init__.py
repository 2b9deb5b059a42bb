"""Frame <-> tensor encoding: per-type column encoders and the TableEncoder that lays them out."""

from tabae.encoding.categorical import BooleanEncoder, OneHotEncoder
from tabae.encoding.numeric import ModeSpecificEncoder, QuantileNormalEncoder, StandardEncoder
from tabae.encoding.table import Span, TableEncoder

__all__ = [
    "TableEncoder",
    "Span",
    "QuantileNormalEncoder",
    "StandardEncoder",
    "ModeSpecificEncoder",
    "OneHotEncoder",
    "BooleanEncoder",
]
