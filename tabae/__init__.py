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
]
