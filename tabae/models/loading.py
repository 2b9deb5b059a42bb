"""``tabae.load``: which model class a file holds, rebuilt from its sealed contents."""

from __future__ import annotations

from tabae.exceptions import ModelFileError
from tabae.models.variants import Autoencoder, DenoisingAE, TabularVAE
from tabae.nn.training import resolve_device
from tabae.persistence import read_model_file

__all__ = ["load", "model_from_state"]

_CLASSES = {c.__name__: c for c in (Autoencoder, DenoisingAE, TabularVAE)}


def model_from_state(meta: dict, tensors: dict, device: str = "auto"):
    """The fitted model or detector that ``meta`` and ``tensors`` describe (a model file's contents)."""
    from tabae.outliers import AEOutlierDetector  # imports tabae.models: not at module level

    classes = {**_CLASSES, AEOutlierDetector.__name__: AEOutlierDetector}
    cls = classes.get(meta.get("class"))
    if cls is None:
        raise ModelFileError(f"unknown model class {meta.get('class')!r}")
    return cls._from_fitted_state(meta, tensors, device)


def load(path, device: str = "auto"):
    """Load a model or an :class:`~tabae.AEOutlierDetector` saved with ``.save(path)``; tensors go to ``device``.

    A model trained on a GPU loads on a CPU-only machine (``device="auto"`` picks CUDA
    only where it is available). Loading reads JSON and raw arrays only: it never runs
    code from the file, and refuses a file that is damaged or was edited.

    Examples
    --------
    >>> import os, tempfile, tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> path = os.path.join(tempfile.mkdtemp(), "adult.tabae")
    >>> model.save(path)
    >>> tabae.load(path).decision_function(df.head(3)).shape
    (3,)
    """
    meta, tensors = read_model_file(path)
    if meta.get("class") not in (*_CLASSES, "AEOutlierDetector"):
        raise ModelFileError(f"{str(path)!r} holds an unknown model class {meta.get('class')!r}")
    resolve_device(device)  # device="cuda" on a machine without it is the caller's mistake, said as such
    try:
        return model_from_state(meta, tensors, device)
    except Exception as err:  # a sealed file that does not fit this tabae: written by another tool
        raise ModelFileError(f"{str(path)!r} is inconsistent ({err}); the file is damaged or from another tabae") from err
