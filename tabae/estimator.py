"""What every tabae estimator shares: its parameter check and the inputs it declares.

Models (:class:`~tabae.models.base.BaseAutoencoder`) and the scikit-learn adapters
(:class:`~tabae.AEImputer`, :class:`~tabae.AEOutlierDetector`) all check every parameter
against their ``parameter_constraints`` table before any work, and all tell
scikit-learn that they take holes, strings and categories and need no target.
"""

from __future__ import annotations

from tabae.params import check_params

__all__ = ["TableEstimatorMixin"]


class TableEstimatorMixin:
    """Mixed in before scikit-learn's ``BaseEstimator``."""

    #: What each parameter accepts (tabae/params.py); each class fills its own.
    parameter_constraints: dict = {}

    def validate_params(self) -> None:
        """Check every parameter against :attr:`parameter_constraints`.

        Raises
        ------
        TabaeError
            Naming the first bad parameter, its value and what it accepts. ``fit``
            calls it before any work.
        """
        check_params(type(self).__name__, self.get_params(deep=False), self.parameter_constraints)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # holes are what tabae is for
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
