"""tabae estimators inside scikit-learn's model selection: grid search and cross-validation."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline

import tabae

TINY = dict(hidden_dims=(8,), epochs=3, batch_size=32, verbose=False, random_state=0)


def _table(n=120, seed=0):
    """Four numeric columns with 10% holes and a label that depends on two of them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[:, 1] = x[:, 0] + rng.normal(0, 0.3, n)
    y = (x[:, 0] + x[:, 2] > 0).astype(int)
    X = pd.DataFrame(x, columns=["a", "b", "c", "d"]).mask(rng.random((n, 4)) < 0.1)
    return X, y


def test_grid_search_over_the_imputers_model_in_a_pipeline():
    X, y = _table()
    pipe = Pipeline([
        ("imputer", tabae.AEImputer(tabae.DenoisingAE(latent_dim=2, **TINY))),
        ("classifier", LogisticRegression()),
    ])
    search = GridSearchCV(pipe, {"imputer__estimator__latent_dim": [2, 3]}, cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X, y)
    assert search.best_params_["imputer__estimator__latent_dim"] in (2, 3)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.6  # the label is learnable from the completed table
    fitted_model = search.best_estimator_.named_steps["imputer"].model_
    assert fitted_model.latent_dim == search.best_params_["imputer__estimator__latent_dim"]
    assert search.predict(X).shape == (len(X),)


def test_cross_val_score_uses_the_models_score():
    X, _ = _table()
    model = tabae.Autoencoder(latent_dim=2, **TINY)
    scores = cross_val_score(model, X, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    # The default scorer is model.score: the mean log-likelihood per row.
    fitted = tabae.Autoencoder(latent_dim=2, **TINY).fit(X)
    assert fitted.score(X) == np.mean(fitted.score_samples(X))
    # Arrays work as well as frames (what scikit-learn passes after its own preprocessing).
    assert np.isfinite(cross_val_score(model, X.to_numpy(), cv=3)).all()
