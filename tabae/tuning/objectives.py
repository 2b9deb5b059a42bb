"""What a trial is scored on, per task: the validation split and the objectives.

Every task fits the trial's model on the training rows and scores it on the
validation rows, which it never trained on. Each task also has a per-epoch
*intermediate* value, reported to Optuna so the pruner can stop a poor trial early;
it is comparable across trials whatever their parameters (a training loss is not:
``beta`` or ``mask_rate`` change its scale), and it points the study's way.

* ``impute`` (minimise): the error on validation cells hidden from the model (below);
  per epoch, the negative log-likelihood of those hidden cells given the visible ones.
* ``synthesize`` (maximise): the mean of column shapes, pair trends and C2ST of a
  sample as large as the validation rows, against them (:mod:`tabae.metrics`), and the
  ML efficacy AUC when ``target`` is named; per epoch, the validation log-likelihood.
* ``outliers`` (maximise): the validation log-likelihood per row; with labels ``y``,
  the ROC-AUC of ``decision_function`` (per epoch: of the negative log-likelihood).
* ``encode`` (maximise): the validation log-likelihood per row (``model.score``), also
  per epoch.

**Imputation error.** A share (``hide_fraction``, default 0.2, GAIN's rate) of the
observed cells of the validation rows is hidden, MCAR, and the model imputes them, as
``benchmarks/imputation.py`` measures: numeric cells (numbers, integers, datetimes) by
RMSE after min-max normalising each column with the whole table's observed min and
max, categorical cells (categories, booleans) by the share imputed wrongly. The
objective is their average weighted by cell counts,
``(n_num * rmse + n_cat * error) / (n_num + n_cat)``: both lie in [0, 1] and a table
of one kind gets exactly its usual measure. Both parts are kept as trial attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from tabae.exceptions import TabaeError
from tabae.inputs import MIN_ROWS
from tabae.nn.losses import cell_nll
from tabae.schema import TableSchema

__all__ = ["TASKS", "DEFAULT_MODEL", "Split", "make_split", "Objective", "make_objective", "check_labels"]

#: Tasks and the direction of their objective.
TASKS = {"impute": "minimize", "synthesize": "maximize", "outliers": "maximize", "encode": "maximize"}
#: The model a task uses when ``model=None``.
DEFAULT_MODEL = {"impute": "imputer", "synthesize": "vae", "outliers": "ae", "encode": "vae"}
#: Fewest validation rows (the detection test needs 5 per table).
MIN_VALIDATION_ROWS = 5
NUMERIC_KINDS = ("numeric", "integer", "datetime")


@dataclass
class Split:
    """Row positions of the training and validation rows, and (impute) the hidden cells."""

    train: np.ndarray
    val: np.ndarray
    hidden: np.ndarray | None = None  # (n_val, n_columns) bool, impute only


def make_split(n_rows: int, validation_fraction: float, seed: int, y=None) -> Split:
    """Shuffle the rows with ``seed``; stratified on ``y`` (both classes in each part) when given."""
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float)) \
            or not 0 < validation_fraction < 1:
        raise TabaeError(f"validation_fraction={validation_fraction!r}; pass a share of the rows in (0, 1), e.g. 0.2")
    rng = np.random.default_rng(seed)
    if y is None:
        order = rng.permutation(n_rows)
        n_val = int(round(validation_fraction * n_rows))
        val, train = order[:n_val], order[n_val:]
    else:
        parts = []
        for cls in (0, 1):
            rows = rng.permutation(np.flatnonzero(y == cls))
            k = min(max(1, int(round(validation_fraction * len(rows)))), len(rows) - 1)
            parts.append((rows[:k], rows[k:]))
        val = np.sort(np.concatenate([p[0] for p in parts]))
        train = np.sort(np.concatenate([p[1] for p in parts]))
    if len(val) < MIN_VALIDATION_ROWS or len(train) < MIN_ROWS:
        raise TabaeError(
            f"the table has {n_rows} rows: {len(train)} to train and {len(val)} to validate; tuning needs at "
            f"least {MIN_ROWS} and {MIN_VALIDATION_ROWS}; pass more rows or change validation_fraction"
        )
    return Split(np.sort(train), np.sort(val))


def check_labels(df: pd.DataFrame, task: str, target, y) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Check ``target``/``y`` against the table and task; return the features and 0/1 labels."""
    if target is not None and task not in ("synthesize", "outliers"):
        raise TabaeError(f"target={target!r} is not used by task={task!r}; it is for 'synthesize' (ML efficacy) "
                         "or 'outliers' (the label column); drop it")
    if y is not None and task != "outliers":
        raise TabaeError(f"y is not used by task={task!r}; it is for task='outliers' (1 = outlier); drop it")
    if target is not None:
        if target not in df.columns:
            raise TabaeError(f"target={target!r} is not a column of the table; its columns are {list(df.columns)}")
        values = df[target].dropna().unique()
        if len(values) != 2:
            raise TabaeError(f"target={target!r} has {len(values)} distinct values; name a column with exactly two "
                             "(a binary label)")
        if task == "outliers":
            if y is not None:
                raise TabaeError("give the outlier labels as y or as target (a column), not both")
            y = df[target]
            df = df.drop(columns=[target])
    if y is None:
        return df, None
    labels = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy())
    if len(labels) != len(df):
        raise TabaeError(f"y has {len(labels)} labels but the table has {len(df)} rows; pass one label per row")
    if labels.isna().any():
        raise TabaeError("y has missing labels; pass 0 (inlier) or 1 (outlier) for every row")
    try:
        codes = labels.astype(float).to_numpy()
    except (TypeError, ValueError):
        codes = np.array([np.nan])
    if not np.isin(codes, (0.0, 1.0)).all():
        raise TabaeError(f"y has values {sorted(map(str, labels.unique()))[:5]}; pass 0/1 or False/True (1 = outlier)")
    codes = codes.astype(int)
    if codes.sum() < 2 or (1 - codes).sum() < 2:
        raise TabaeError("y needs at least 2 outliers (1) and 2 inliers (0) to measure a ROC-AUC")
    return df, codes


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("int64").astype(float).where(series.notna()).to_numpy(float)
    return pd.to_numeric(series, errors="coerce").to_numpy(float)


@dataclass
class Objective:
    """Scores of one task on one split: ``final(model, seed)`` gives the trial's value and
    its parts, ``intermediate(model, state)`` the per-epoch value (``state``: a dict the
    trial keeps, so that threads running trials side by side share nothing mutable)."""

    task: str
    df: pd.DataFrame
    split: Split
    kinds: dict
    target: str | None = None
    y: np.ndarray | None = None
    seed: int = 0
    cache: dict = field(default_factory=dict, repr=False)  # masked inputs, column ranges (same for all)

    @property
    def direction(self) -> str:
        return TASKS[self.task]

    # ------------------------------------------------------------ data each trial sees
    def train_frame(self) -> pd.DataFrame:
        """The rows a trial's model is fitted on (with the hidden validation cells removed for impute)."""
        return self.inputs().iloc[self.split.train]

    def val_frame(self) -> pd.DataFrame:
        return self.df.iloc[self.split.val]

    def inputs(self) -> pd.DataFrame:
        """The table with the validation cells to impute hidden (impute), else the table."""
        if "inputs" not in self.cache:
            frame = self.df
            if self.split.hidden is not None:
                hide = np.zeros(self.df.shape, dtype=bool)
                hide[self.split.val] = self.split.hidden
                frame = self.df.mask(hide)
            self.cache["inputs"] = frame
        return self.cache["inputs"]

    # ------------------------------------------------------------ per epoch
    @torch.no_grad()
    def intermediate(self, model, state: dict) -> float:
        """The per-epoch value (in the study's direction) of a model still training."""
        model.net_.eval()
        if self.task == "impute":
            return self._hidden_nll(model, state)
        val = self.val_frame()
        loglik = model.score_samples(val)
        if self.task == "outliers" and self.y is not None:
            return _auc(self.y[self.split.val], -loglik)
        return float(np.mean(loglik))

    def _hidden_nll(self, model, state: dict) -> float:
        """Mean NLL per hidden validation cell given the row's visible cells (data space
        for Gaussian heads, as the model's likelihoods are)."""
        if state.get("encoder") is not model.encoder_:
            truth = self.val_frame()
            x, m = model.encoder_.transform(truth)
            jac = model.encoder_.log_jacobian(truth) if model.numeric_loss == "gaussian" else np.zeros(m.shape)
            x = torch.from_numpy(x).to(model.device_)
            m = torch.from_numpy(m).to(model.device_)
            hide = torch.from_numpy(self.split.hidden).to(model.device_) & m
            state.update(encoder=model.encoder_, encoded=(x, m, hide, jac))
        x, m, hide, jac = state["encoded"]
        total, count = 0.0, int(hide.sum())
        for s in range(0, len(x), 8192):
            sl = slice(s, s + 8192)
            mean, raw, _ = model.heads(x[sl], m[sl] & ~hide[sl])
            nll = cell_nll(mean, raw, x[sl], hide[sl], model.span_index_, model.numeric_loss)
            nll = nll.cpu().numpy().astype(np.float64) - jac[sl] * hide[sl].cpu().numpy()
            total += float(nll.sum())
        return total / max(count, 1)

    # ------------------------------------------------------------ final value
    def final(self, model, seed: int) -> tuple[float, dict]:
        """The trial's objective value and its parts (kept as trial attributes)."""
        attrs: dict = {}
        if self.task == "impute":
            return self._impute_error(model, attrs), attrs
        val = self.val_frame()
        if self.task == "synthesize":
            return self._fidelity(model, val, seed, attrs), attrs
        loglik = float(model.score(val))
        attrs["val_loglik"] = loglik
        if self.task == "outliers" and self.y is not None:
            auc = _auc(self.y[self.split.val], np.asarray(model.decision_function(val)))
            attrs["val_auc"] = auc
            return auc, attrs
        return loglik, attrs

    def _impute_error(self, model, attrs: dict) -> float:
        truth = self.val_frame()
        filled = model.impute(self.inputs().iloc[self.split.val])
        hidden = self.split.hidden
        sq, n_num, wrong, n_cat = 0.0, 0, 0, 0
        for j, name in enumerate(self.df.columns):
            rows = hidden[:, j]
            if not rows.any():
                continue
            if self.kinds[name] in NUMERIC_KINDS:
                if ("range", name) not in self.cache:
                    self.cache["range", name] = _range(self.df[name])
                lo, hi = self.cache["range", name]
                t = _numbers(truth[name])[rows]
                g = _numbers(filled[name])[rows]
                sq += float(np.sum(((g - t) / (hi - lo + 1e-6)) ** 2))
                n_num += int(rows.sum())
            else:
                t = truth[name].astype(object).to_numpy()[rows]
                g = filled[name].astype(object).to_numpy()[rows]
                wrong += int(sum(str(a) != str(b) for a, b in zip(t, g, strict=True)))
                n_cat += int(rows.sum())
        rmse = math.sqrt(sq / n_num) if n_num else float("nan")
        error = wrong / n_cat if n_cat else float("nan")
        attrs.update(num_rmse=rmse, cat_error=error, n_num_cells=n_num, n_cat_cells=n_cat)
        parts = [(n_num, rmse), (n_cat, error)]
        return sum(n * v for n, v in parts if n) / max(n_num + n_cat, 1)

    def _fidelity(self, model, val: pd.DataFrame, seed: int, attrs: dict) -> float:
        from tabae.metrics import c2st, column_shapes, ml_efficacy, pair_trends

        synthetic = model.sample(len(val), random_state=seed)
        kinds = {k: v for k, v in self.kinds.items()}
        parts = {
            "shapes": float(column_shapes(val, synthetic, kinds=kinds)["score"].mean()),
            "trends": float(pair_trends(val, synthetic, kinds=kinds)["score"].mean()) if val.shape[1] > 1 else np.nan,
            "c2st": float(c2st(val, synthetic, kinds=kinds, random_state=seed)),
        }
        if self.target is not None:
            try:
                parts["ml_auc"] = float(ml_efficacy(synthetic, val, self.target, kinds=kinds, random_state=seed))
            except TabaeError as err:  # e.g. the sample holds one class only: no better than chance
                parts["ml_auc"] = 0.5
                attrs["ml_auc_note"] = str(err)
        attrs.update(parts)
        values = [v for v in parts.values() if not np.isnan(v)]
        return float(np.mean(values))


def _range(series: pd.Series) -> tuple[float, float]:
    values = _numbers(series)
    return float(np.nanmin(values)), float(np.nanmax(values))


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    score = np.asarray(score, dtype=float)
    if not np.isfinite(score).all():
        return float("nan")
    return float(roc_auc_score(y, score))


def make_objective(task: str, df: pd.DataFrame, *, seed: int, validation_fraction: float,
                   hide_fraction: float = 0.2, target=None, y=None) -> Objective:
    """Check the inputs of ``task``, split the rows with ``seed`` and build its objective."""
    if task not in TASKS:
        raise TabaeError(f"task={task!r} is not known; choose one of {sorted(TASKS)}")
    if not isinstance(df, pd.DataFrame):
        raise TabaeError(f"tune needs a DataFrame, got {type(df).__name__}; wrap an array with pandas.DataFrame(X)")
    df, labels = check_labels(df, task, target, y)
    kinds = {spec.name: spec.kind for spec in TableSchema.infer(df).columns}
    split = make_split(len(df), validation_fraction, seed, labels)
    if task == "impute":
        if isinstance(hide_fraction, bool) or not isinstance(hide_fraction, (int, float)) or not 0 < hide_fraction < 1:
            raise TabaeError(f"hide_fraction={hide_fraction!r}; pass a share of cells in (0, 1), e.g. 0.2")
        observed = df.iloc[split.val].notna().to_numpy()
        observed[:, [kinds[name] == "id" for name in df.columns]] = False  # keys are never imputed
        rng = np.random.default_rng([seed, 1])
        split.hidden = observed & (rng.random(observed.shape) < hide_fraction)
        if not split.hidden.any():
            raise TabaeError("no validation cell to hide: the validation rows have no observed cell; pass more rows")
    return Objective(task, df, split, kinds, target=target if task == "synthesize" else None, y=labels, seed=seed)
