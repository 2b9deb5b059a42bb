"""tabae: autoencoders for real-world tables.

One fitted model of a mixed-type table with holes serves imputation, synthesis,
outlier scores and latent features.
"""

from tabae._version import __version__
from tabae import datasets, evaluate
from tabae.encoding import TableEncoder
from tabae.exceptions import ModelFileError, NotFittedError, SchemaError, TabaeError, TabaeWarning
from tabae.impute import AEImputer, PooledEstimate, pool
from tabae.models import Autoencoder, DenoisingAE, TabularVAE
from tabae.outliers import AEOutlierDetector
from tabae.persistence import load
from tabae.schema import ColumnSpec, TableSchema

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
    "evaluate",
]
