"""What the scikit-learn adapters (:class:`~tabae.AEImputer`, :class:`~tabae.AEOutlierDetector`) share."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from tabae.exceptions import NotFittedError
from tabae.models.constraints import SEED

__all__ = ["is_model", "check_adapter_fitted", "SEED"]


def is_model(value, method: str) -> bool:
    """An estimator (``get_params``, ``fit``) that has ``method``: a tabae model or a look-alike."""
    return not isinstance(value, type) and all(hasattr(value, m) for m in ("get_params", "fit", method))


def check_adapter_fitted(estimator) -> None:
    """scikit-learn's ``check_is_fitted``, raising tabae's :class:`NotFittedError` with a clear message."""
    try:
        check_is_fitted(estimator, "model_")
    except SklearnNotFittedError:
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit(X) first") from None
