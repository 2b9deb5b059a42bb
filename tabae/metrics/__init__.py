"""Score a synthetic table against the real table it imitates.

One call, :func:`evaluate`, returns a :class:`SyntheticReport` with the usual
fidelity, detection, utility and privacy scores; each score is also a public
function. The definitions follow SDMetrics (``KSComplement``,
``TVComplement``, ``ColumnPairTrends``, ``LogisticDetection``) so the numbers
can be compared with published ones, but only numpy, pandas, scipy and
scikit-learn are needed.

=====================  =================================================
module                 scores
=====================  =================================================
``fidelity``           :func:`column_shapes`, :func:`pair_trends`
``detection``          :func:`c2st`, :func:`logistic_detection`
``utility``            :func:`ml_efficacy`
``privacy``            :func:`privacy`
``report``             :func:`evaluate`, :class:`SyntheticReport`
=====================  =================================================

Column kinds are read from the dtypes: numbers and datetimes are *numeric*;
strings, objects, categories and booleans are *categorical*. ``kinds=``
overrides them per column with tabae's words (``{"zip": "categorical"}``;
``"integer"`` and ``"datetime"`` count as numeric, ``"boolean"`` as
categorical); SDMetrics' sdtypes and its ``{"columns": {"zip": {"sdtype":
"categorical"}}}`` metadata are read as well.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from tabae.metrics import column_shapes
>>> real = pd.DataFrame({"zip": [1000, 2000, 1000, 3000]})
>>> column_shapes(real, real, kinds={"zip": "categorical"})["metric"].tolist()
['TVComplement']
"""

from tabae.metrics.detection import c2st, logistic_detection
from tabae.metrics.fidelity import column_shapes, pair_trends
from tabae.metrics.privacy import privacy
from tabae.metrics.report import SyntheticReport, evaluate
from tabae.metrics.utility import ml_efficacy

__all__ = [
    "SyntheticReport",
    "c2st",
    "column_shapes",
    "evaluate",
    "logistic_detection",
    "ml_efficacy",
    "pair_trends",
    "privacy",
]
