"""scikit-learn's estimator checks over the adapters and the models, with tiny settings.

Every check runs; a check expected to fail would be listed in ``_expected_failed_checks``
with its reason (none is).
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import tabae

TINY = dict(hidden_dims=(8,), latent_dim=2, epochs=2, batch_size=16, verbose=False, random_state=0)

ESTIMATORS = [
    tabae.Autoencoder(**TINY),
    tabae.DenoisingAE(**TINY),
    tabae.TabularVAE(**TINY),
    tabae.AEImputer(tabae.DenoisingAE(**TINY), random_state=0, verbose=False),
    tabae.AEOutlierDetector(tabae.Autoencoder(**TINY), random_state=0, verbose=False),
]

def _expected_failed_checks(estimator):
    """{check name: reason} for checks expected to fail: none today (keep the hook, so a
    skip must be written here with its reason)."""
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _on_subsets(method, X):
    """``method`` on all of ``X`` and row by row (as scikit-learn's subset check does)."""
    return np.asarray(method(X)), np.concatenate([np.asarray(method(X[[i]])) for i in range(len(X))])


@pytest.mark.parametrize("estimator", [ESTIMATORS[0], ESTIMATORS[2], ESTIMATORS[4]], ids=lambda e: type(e).__name__)
def test_a_rows_result_never_depends_on_the_other_rows(estimator):
    """Bit for bit: inference runs in padded blocks of one size (tabae/nn/blocks.py)."""
    X = 3 * np.random.RandomState(0).uniform(size=(20, 3))
    fitted = clone(estimator).fit(X)
    for name in ("transform", "decision_function", "score_samples", "predict_proba", "predict"):
        if hasattr(fitted, name):
            full, by_row = _on_subsets(getattr(fitted, name), X)
            np.testing.assert_array_equal(full, by_row, err_msg=name)
