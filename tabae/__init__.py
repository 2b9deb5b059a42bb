"""tabae: autoencoders for real-world tables.

One fitted model of a mixed-type table with holes serves imputation, synthesis,
outlier scores and latent features.
"""

from tabae import datasets, metrics
from tabae.encoding import TableEncoder
from tabae.exceptions import ModelFileError, NotFittedError, SchemaError, TabaeError, TabaeWarning
from tabae.impute import AEImputer, PooledEstimate, pool
from tabae.metrics import SyntheticReport, evaluate
from tabae.models import Autoencoder, DenoisingAE, TabularVAE, load
from tabae.outliers import AEOutlierDetector
from tabae.schema import ColumnSpec, TableSchema
from tabae.version import VERSION as __version__

__all__ = [
    "__version__",
    "TabaeError",
    "SchemaError",
    "NotFittedError",
    "ModelFileError",
    "TabaeWarning",
    "ColumnSpec",
    "TableSchema",
    "TableEncoder",
    "Autoencoder",
    "DenoisingAE",
    "TabularVAE",
    "AEImputer",
    "AEOutlierDetector",
    "pool",
    "PooledEstimate",
    "load",
    "datasets",
    "metrics",
    "evaluate",
    "SyntheticReport",
    "tune",
    "TuningResult",
    "tuning",
]

# Optuna is imported only when tuning is used: ``import tabae`` stays fast.
_LAZY = {"tune": "tabae.tuning", "TuningResult": "tabae.tuning", "tuning": None}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'tabae' has no attribute {name!r}")
    import importlib

    module = importlib.import_module("tabae.tuning")
    return module if _LAZY[name] is None else getattr(module, name)
