"""The four views of a row that :class:`~tabae.AEOutlierDetector`'s ensemble adds up.

No single view ranks outliers well on every table: measured on the 30 ADBench tables of
``benchmarks/outliers.py``, the reconstruction likelihood alone wins where an outlier
breaks the columns' relations (Wilt .87 against IForest's .43) and loses where it is
plainly extreme (cover .70 against .89). Each view below sees a different kind of
strangeness, and their sum is more robust than any of them:

- ``reconstruction``: the model's negative log-likelihood of the row's observed cells
  (how badly the row fits the relations the model learned);
- ``latent``: the squared Mahalanobis distance of the row's latent code under a Gaussian
  fitted to the training codes (a row the model encodes far from the others, even when
  it reconstructs it well);
- ``marginal``: per cell, ``-log`` of its two-sided tail probability in its own column
  (an extreme or rare value, whatever the other columns say; ECOD's idea, with
  categories scored by how rare their level is);
- ``isolation``: how easily random axis-aligned cuts isolate the row in the model's
  encoded table (an isolation forest: small clusters of outliers that the density views
  mask).

Each view's raw score is put on a common scale before the sum: its logarithm (scores
span orders of magnitude on heavy-tailed tables), centred on the training median and
divided by the interquartile range, then floored softly at 0 (:func:`soft_floor`). A
typical training row so scores about 0 on every view, a view's weight does not depend
on its units, and being very typical in one view never cancels what another finds. The
sum weighs the views: each view's prior weight (:data:`VIEW_WEIGHTS`; the latent view
counts a quarter) times its agreement with the others on the training rows
(:func:`agreement_weights`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from tabae.exceptions import TabaeWarning
from tabae.isolation import IsolationTrees
from tabae.jsonvalues import from_json_value, to_json_value

__all__ = ["MarginalTails", "TailCalibration", "LatentGaussian", "RobustScale", "OutlierEnsemble", "VIEWS", "VIEW_WEIGHTS",
           "agreement_weights", "soft_floor"]

#: The views of :class:`OutlierEnsemble`, in the order they are reported.
VIEWS = ("reconstruction", "latent", "marginal", "isolation")

#: Each view's prior weight in the score, before :func:`agreement_weights` adapts it to
#: the table. The latent view counts a quarter: a code far from
#: the others is as often a hard-to-encode normal row as an outlier, and at full weight
#: it pushed such rows up the ranking. On the 30 ADBench tables (3 seeds, the four views
#: of the same fits) the latent weight 1 / 0.5 / 0.25 / 0 gave mean ROC-AUC .8199 /
#: .8204 / .8203 / .8196 and average precision .4210 / .4295 / .4355 / .4378 (IForest
#: .4287). Chosen on half of the tables, the weight gained .0144 AP on the other half
#: at -.0009 ROC-AUC (100 random halvings), so the gain is not one table's. Weighing the
#: other views as well (marginal and isolation 1.5–3) raised AP to .44 but lowered
#: ROC-AUC, and its choice did not carry over between halves as well.
VIEW_WEIGHTS = {"reconstruction": 1.0, "latent": 0.25, "marginal": 1.0, "isolation": 1.0}

#: The top share of rows whose agreement sets each view's weight on a table (see
#: :func:`agreement_weights`).
AGREEMENT_SHARE = 0.05

# Width of the soft floor, in interquartile ranges of a view's log-score: below about -0.3
# a view adds nothing, above +0.3 it adds itself.
_FLOOR_WIDTH = 0.1

# Numeric columns keep at most this many reference values (an even quantile grid of the
# training values): the tail probability is then exact to 1/50,000 on any table size.
_MAX_REFERENCE = 50_000


class MarginalTails:
    """Per cell, ``-log`` of the two-sided tail probability of its value in its column.

    Numbers (and dates): ``2 * min(F(x), 1 - F(x-))`` under the training values' empirical
    distribution. Categories (and flags): the share of training rows whose level is at
    most as frequent as this one, so the commonest level scores 0 and an unseen level
    scores as the rarest possible. The probability is floored at half a training row,
    so a value beyond every training value gets a large, finite score; missing cells 0.
    """

    def fit(self, df: pd.DataFrame, kinds: list[str]) -> MarginalTails:
        """``kinds``: per column "numeric", "categorical" or "skip" (a key: no score)."""
        self.kinds_ = list(kinds)
        self.reference_, self.tails_ = [], []
        self.floor_ = 0.5 / max(len(df), 1)
        for col, kind in zip(df.columns, self.kinds_, strict=True):
            if kind == "skip":  # every id is new: its rarity says nothing
                self.reference_.append(None)
                self.tails_.append(None)
            elif kind == "numeric":
                values = _as_float(df[col])
                values = np.sort(values[~np.isnan(values)])
                if len(values) > _MAX_REFERENCE:
                    values = np.quantile(values, np.linspace(0, 1, _MAX_REFERENCE))
                self.reference_.append(values)
                self.tails_.append(None)
            else:
                share = df[col].value_counts(normalize=True, dropna=True)
                ordered = share.sort_values(kind="stable")
                # tail of a level: the total share of the levels at most as frequent
                cumulative = ordered.cumsum().groupby(ordered.to_numpy()).transform("max")
                self.reference_.append(None)
                self.tails_.append(dict(zip(ordered.index, cumulative.to_numpy(), strict=True)))
        return self

    def cell_scores(self, df: pd.DataFrame) -> np.ndarray:
        """``(n, C)`` scores, 0 for missing cells."""
        out = np.zeros((len(df), len(self.kinds_)))
        for j, col in enumerate(df.columns):
            if self.kinds_[j] == "skip":
                continue
            reference = self.reference_[j]
            if reference is not None:
                values = _as_float(df[col])
                missing = np.isnan(values)
                if len(reference) == 0:
                    continue
                n = len(reference)
                below_or_equal = np.searchsorted(reference, values, side="right") / n
                below = np.searchsorted(reference, values, side="left") / n
                p = np.minimum(1.0, 2 * np.minimum(below_or_equal, 1 - below))
            else:
                series = df[col]
                missing = series.isna().to_numpy()
                p = series.map(self.tails_[j]).to_numpy(dtype=float, na_value=np.nan)
                p = np.where(np.isnan(p), 0.0, p)  # an unseen level: rarer than any seen
            score = -np.log(np.clip(p, self.floor_, 1.0))  # a share summed in floats may pass 1
            out[:, j] = np.where(missing, 0.0, score)
        return out

    def get_state(self) -> tuple[dict, dict]:
        tails = [None if t is None else [[to_json_value(level), float(share)] for level, share in t.items()]
                 for t in self.tails_]
        tensors = {str(j): torch.from_numpy(np.ascontiguousarray(ref))
                   for j, ref in enumerate(self.reference_) if ref is not None}
        return {"kinds": self.kinds_, "floor": self.floor_, "tails": tails}, tensors

    @classmethod
    def from_state(cls, meta: dict, tensors: dict) -> MarginalTails:
        tails = cls()
        tails.kinds_, tails.floor_ = list(meta["kinds"]), float(meta["floor"])
        tails.tails_ = [None if t is None else {from_json_value(level): share for level, share in t}
                        for t in meta["tails"]]
        tails.reference_ = [tensors[str(j)].numpy() if kind == "numeric" else None
                            for j, kind in enumerate(tails.kinds_)]
        return tails


class TailCalibration:
    """Per column, how rarely training cells score at least this high, as ``-log(min(1, 2 * S))``.

    A column's raw cell scores are not comparable with another's: a capital-gain column
    where 8% of rows hold a rare large value always has a few high-scoring cells, a
    well-predicted category almost never does. Explanations compare columns by the
    survival ``S`` of a cell's score among that column's training scores instead, so a
    cell counts by how unusual it is *for its column*; cells at or below the column's
    median score 0. ``S`` is read from a grid of the training scores' quantiles at
    survival ``2**(-k/32)``: dense in the upper tail, about 32 * log2(n) values per column.
    """

    _STEPS_PER_HALVING = 32

    def fit(self, cell_scores: np.ndarray) -> TailCalibration:
        self.grids_ = []
        for column in np.asarray(cell_scores, dtype=np.float64).T:
            values = column[~np.isnan(column)]
            k_max = int(self._STEPS_PER_HALVING * np.log2(max(len(values), 2)))
            survival = 2.0 ** (-np.arange(k_max + 1) / self._STEPS_PER_HALVING)
            self.grids_.append(np.quantile(values, 1 - survival) if len(values) else np.zeros(0))
        return self

    def transform(self, cell_scores: np.ndarray) -> np.ndarray:
        cell_scores = np.asarray(cell_scores, dtype=np.float64)
        out = np.zeros_like(cell_scores)
        for j, grid in enumerate(self.grids_):
            x = cell_scores[:, j]
            if len(grid) < 2:
                continue
            # k: the last grid step strictly below x (ties belong to the survival), then
            # linear between steps; beyond the last step, one halving more than the grid
            # reaches (a survival of half a training cell), whatever the distance.
            k = np.searchsorted(grid, x, side="left") - 1
            inside = np.clip(k, 0, len(grid) - 2)
            low, high = grid[inside], grid[inside + 1]
            frac = np.where(high > low, (x - low) / np.where(high > low, high - low, 1.0), 0.0)
            steps = np.where(k < 0, 0.0, inside + np.clip(frac, 0.0, 1.0))
            steps = np.where(k >= len(grid) - 1, len(grid) - 1 + self._STEPS_PER_HALVING, steps)
            score = np.maximum(steps / self._STEPS_PER_HALVING - 1.0, 0.0) * np.log(2.0)
            out[:, j] = np.where(np.isnan(x), 0.0, score)
        return out

    def get_state(self) -> tuple[dict, dict]:
        return {"columns": len(self.grids_)}, {str(j): torch.from_numpy(g) for j, g in enumerate(self.grids_)}

    @classmethod
    def from_state(cls, meta: dict, tensors: dict) -> TailCalibration:
        calibration = cls()
        calibration.grids_ = [tensors[str(j)].numpy() for j in range(int(meta["columns"]))]
        return calibration


class LatentGaussian:
    """Squared Mahalanobis distance of latent codes under a Gaussian fitted to the training codes."""

    def fit(self, codes: np.ndarray) -> LatentGaussian:
        codes = np.asarray(codes, dtype=np.float64)
        self.mean_ = codes.mean(0)
        centred = codes - self.mean_
        cov = centred.T @ centred / max(len(codes) - 1, 1)
        # A small ridge (relative to the codes' scale) keeps a degenerate direction, e.g.
        # a latent unit that stays constant, from dividing by zero.
        ridge = 1e-6 * max(float(np.trace(cov)) / max(cov.shape[0], 1), 1e-12)
        self.precision_ = np.linalg.pinv(cov + ridge * np.eye(cov.shape[0]), hermitian=True)
        return self

    def score(self, codes: np.ndarray) -> np.ndarray:
        centred = np.asarray(codes, dtype=np.float64) - self.mean_
        out = np.empty(len(centred))
        # Element-wise products, not a matrix product: BLAS may sum a row's terms in an
        # order that depends on how many rows the call has, and a row's score must not.
        rows = max(1, 2**22 // max(centred.shape[1], 1) ** 2)  # (rows, d, d) float64 blocks of 32 MB
        for start in range(0, len(centred), rows):
            block = centred[start:start + rows]
            projected = (block[:, :, None] * self.precision_[None]).sum(1)
            out[start:start + rows] = (projected * block).sum(1)
        return np.maximum(out, 0.0)

    def get_state(self) -> tuple[dict, dict]:
        return {}, {"mean": torch.from_numpy(self.mean_), "precision": torch.from_numpy(self.precision_)}

    @classmethod
    def from_state(cls, meta: dict, tensors: dict) -> LatentGaussian:
        gaussian = cls()
        gaussian.mean_, gaussian.precision_ = tensors["mean"].numpy(), tensors["precision"].numpy()
        return gaussian


class RobustScale:
    """``(log(s - low + eps) - median) / IQR``, all fitted on the training rows' scores."""

    def fit(self, scores: np.ndarray) -> RobustScale:
        scores = np.asarray(scores, dtype=np.float64)
        self.low_ = float(scores.min()) if len(scores) else 0.0
        spread = float(np.median(scores - self.low_)) if len(scores) else 0.0
        self.eps_ = max(1e-3 * spread, 1e-9)
        logged = self._log(scores)
        self.median_ = float(np.median(logged)) if len(scores) else 0.0
        q75, q25 = np.percentile(logged, [75, 25]) if len(scores) else (1.0, 0.0)
        scale = float(q75 - q25)
        if not scale > 0:  # most rows tie: fall back on the standard deviation, then on 1
            scale = float(np.std(logged)) if len(scores) else 0.0
        self.scale_ = scale if scale > 0 else 1.0
        return self

    def _log(self, scores):
        return np.log(np.maximum(np.asarray(scores, dtype=np.float64) - self.low_, 0.0) + self.eps_)

    def transform(self, scores: np.ndarray) -> np.ndarray:
        return (self._log(scores) - self.median_) / self.scale_

    def get_state(self) -> dict:
        return {"low": self.low_, "eps": self.eps_, "median": self.median_, "scale": self.scale_}

    @classmethod
    def from_state(cls, meta: dict) -> RobustScale:
        scale = cls()
        scale.low_, scale.eps_, scale.median_, scale.scale_ = (float(meta[k]) for k in ("low", "eps", "median", "scale"))
        return scale


class OutlierEnsemble:
    """The sum of the robustly scaled views of :data:`VIEWS` over a fitted tabae model."""

    def fit(self, model, df: pd.DataFrame, random_state: int | None) -> OutlierEnsemble:
        self.model_ = model
        self.columns_ = list(df.columns)
        self.view_floor_ = "soft"
        self.view_weights_ = dict(VIEW_WEIGHTS)
        schema = getattr(getattr(model, "encoder_", None), "schema_", None)
        if schema is not None:
            kinds = ["numeric" if spec.kind in ("numeric", "integer", "datetime") else
                     "skip" if spec.kind == "id" else "categorical" for spec in schema.columns]
        else:
            kinds = ["numeric" if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                     else "categorical" for c in df.columns]
        self.marginal_ = MarginalTails().fit(df, kinds)
        # cells that can be blamed: a key column is carried, not modelled
        self.blamable_ = np.array([kind != "skip" for kind in kinds])
        self.has_latent_ = hasattr(model, "encode")
        if self.has_latent_:
            self.latent_ = LatentGaussian().fit(model.encode(df))
        self.has_isolation_ = hasattr(model, "encoder_")
        if self.has_isolation_:
            self.isolation_ = IsolationTrees().fit(self._encoded(df), random_state)
        raw = self._raw_views(df)
        self.scales_ = {view: RobustScale().fit(values) for view, (values, _) in raw.items()}
        self.calibration_ = TailCalibration().fit(_observed_only(raw["reconstruction"][1], df))
        self.view_weights_ = agreement_weights(self._scaled(raw, df), self.view_weights_)
        # the training rows' scores, from the views already computed (not a second pass)
        self.training_scores_ = self._scaled(raw, df).to_numpy().sum(1)
        return self

    def _encoded(self, df: pd.DataFrame) -> np.ndarray:
        encoded, _ = self.model_.encoder_.transform(df)
        return np.asarray(encoded, dtype=np.float32)

    def _raw_views(self, df: pd.DataFrame) -> dict:
        """``{view: (row score (n,), per-column parts (n, C) or None)}``."""
        per_column = np.asarray(self.model_.decision_function(df, per_column=True, method="reconstruction"), dtype=np.float64)
        tails = self.marginal_.cell_scores(df)
        views = {"reconstruction": (per_column.sum(1), per_column), "marginal": (tails.sum(1), tails)}
        with warnings.catch_warnings():
            # the reconstruction view has said what there is to say about this frame
            # (unseen categories, empty rows); the other views would repeat it
            warnings.simplefilter("ignore", TabaeWarning)
            if self.has_latent_:
                views["latent"] = (self.latent_.score(self.model_.encode(df)), None)
            if self.has_isolation_:
                views["isolation"] = (self.isolation_.score(self._encoded(df)), None)
        return {view: views[view] for view in VIEWS if view in views}

    def views(self, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Scaled view scores ``(n, views)``, and the per-column parts of reconstruction and marginal."""
        df = df[self.columns_]  # the fitted order, whatever order the caller's frame has
        raw = self._raw_views(df)
        return self._scaled(raw, df), raw["reconstruction"][1], raw["marginal"][1]

    def _scaled(self, raw: dict, df: pd.DataFrame) -> pd.DataFrame:
        """The raw views on the common scale, each times its weight (``view_weights_``):
        one column per view, summing to the score."""
        # Only strangeness counts: a row very typical in one view (a latent code at the
        # centre, whose log-distance is hugely negative) must not cancel what another view
        # finds. Flooring at 0 ranked outliers better on the ADBench tables (ROC-AUC .820
        # against .816, AP .425 against .424, seed 1); a soft floor better still (see
        # soft_floor).
        floor = soft_floor if self.view_floor_ == "soft" else _hard_floor
        scaled = {view: self.view_weights_.get(view, 1.0) * floor(self.scales_[view].transform(values))
                  for view, (values, _) in raw.items()}
        frame = pd.DataFrame(scaled, index=df.index)
        # A row with nothing observed has nothing to be strange about: 0 on every view,
        # as the single-view scores give it.
        frame.loc[df.isna().all(axis=1).to_numpy()] = 0.0
        return frame

    def score(self, df: pd.DataFrame) -> np.ndarray:
        if len(df) == 0:
            return np.zeros(0)
        return self.views(df)[0].to_numpy().sum(1)

    def explain(self, df: pd.DataFrame) -> np.ndarray:
        return self.score_and_explain(df)[1]

    def score_and_explain(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-column contributions ``(n, C)``, in the fitted column order, that sum to :meth:`score`.

        The row's score is shared among its cells in proportion to how unusual each cell
        is, as the two per-cell views see it: the average of the cell's share of the
        row's marginal rarity and its share of the row's reconstruction surprise, the
        latter measured as the tail of the cell's score among its column's training
        scores (:class:`TailCalibration`), so columns that are often surprising (a rare
        large amount) do not take the blame from a cell that is surprising for once.
        Sharing the whole score this way named planted cells better on adult than
        sharing each view's score by its own proportions (top-1 .692 against .664, seed 0).
        """
        if len(df) == 0:
            return np.zeros(0), np.zeros((0, len(self.columns_)))
        df = df[self.columns_]
        frame, reconstruction, marginal = self.views(df)
        observed = df.notna().to_numpy() & self.blamable_
        share_rec = _shares(self.calibration_.transform(_observed_only(reconstruction, df)), observed)
        share_marg = _shares(marginal, observed)
        scores = frame.to_numpy().sum(1)
        return scores, scores[:, None] * (share_rec + share_marg) / 2

    # ------------------------------------------------------------------ model files
    def get_state(self) -> tuple[dict, dict]:
        """JSON metadata and named tensors (the model's own are saved by its owner)."""
        meta = {
            "columns": [to_json_value(c) for c in self.columns_],
            "blamable": self.blamable_.tolist(),
            "has_latent": self.has_latent_, "has_isolation": self.has_isolation_, "floor": self.view_floor_,
            "weights": dict(self.view_weights_),
            "scales": {view: scale.get_state() for view, scale in self.scales_.items()},
        }
        tensors = {}
        parts = {"marginal": self.marginal_, "calibration": self.calibration_}
        if self.has_latent_:
            parts["latent"] = self.latent_
        if self.has_isolation_:
            parts["isolation"] = self.isolation_
        for name, part in parts.items():
            meta[name], part_tensors = part.get_state()
            tensors.update({f"{name}/{k}": v for k, v in part_tensors.items()})
        return meta, tensors

    @classmethod
    def from_state(cls, meta: dict, tensors: dict, model) -> OutlierEnsemble:
        def section(prefix):
            return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}

        ensemble = cls()
        ensemble.model_ = model
        ensemble.columns_ = [from_json_value(c) for c in meta["columns"]]
        ensemble.blamable_ = np.array(meta["blamable"], dtype=bool)
        ensemble.has_latent_, ensemble.has_isolation_ = bool(meta["has_latent"]), bool(meta["has_isolation"])
        # Files written before the soft floor keep scoring as they were fitted (their
        # threshold and training scores were computed with the hard one).
        ensemble.view_floor_ = meta.get("floor", "hard")
        # Likewise, files written before the views were weighed count each view once.
        ensemble.view_weights_ = {view: float(w) for view, w in meta.get("weights", dict.fromkeys(VIEWS, 1.0)).items()}
        ensemble.scales_ = {view: RobustScale.from_state(v) for view, v in meta["scales"].items()}
        ensemble.marginal_ = MarginalTails.from_state(meta["marginal"], section("marginal"))
        ensemble.calibration_ = TailCalibration.from_state(meta["calibration"], section("calibration"))
        if ensemble.has_latent_:
            ensemble.latent_ = LatentGaussian.from_state(meta["latent"], section("latent"))
        if ensemble.has_isolation_:
            ensemble.isolation_ = IsolationTrees.from_state(meta["isolation"], section("isolation"))
        if len(ensemble.blamable_) != len(ensemble.columns_) or len(ensemble.marginal_.kinds_) != len(ensemble.columns_):
            raise ValueError("outlier ensemble: its parts disagree on the number of columns")
        return ensemble


def agreement_weights(views: pd.DataFrame, prior: dict, share: float = AGREEMENT_SHARE) -> dict:
    """Each view's weight on this table, without labels: its ``prior`` weight times the
    share of the view's top ``share`` rows that are also among the top of the weighted
    sum (the views of the training rows, ``views``, one column each).

    A view that finds what the others find keeps most of its weight; a view whose
    strangest rows the others think ordinary (the latent distance of hard-to-encode
    normal rows, the marginal tails of a table whose outliers sit inside every range)
    loses most of it. Selecting detectors by agreement with a pseudo ground truth
    follows Rayana & Akoglu (2016, "Less is more: building selective anomaly
    ensembles"). On the views of 90 fits (30 ADBench tables, seeds 0-2) it raised mean
    ROC-AUC from .8203 to .8220 and AP from .4355 to .4415 over the fixed weights
    (ROC-AUC better on 16 tables and worse on 5, AP better on 20 and worse on 3; letter
    lost the most, .738 -> .702); a top share of 1-20% gave .8205-.8233 and .4394-.4447.
    """
    total = views.to_numpy().sum(1)
    top = total >= np.quantile(total, 1.0 - share)
    weights = {}
    for view in views.columns:
        values = views[view].to_numpy()
        mine = values >= np.quantile(values, 1.0 - share)
        weights[view] = prior.get(view, 1.0) * float((mine & top).sum()) / max(int(mine.sum()), 1)
    if not sum(weights.values()) > 0:  # no view agrees with the sum at all: keep the priors
        return dict(prior)
    return weights


def soft_floor(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` with a rounded corner: ``w * log(1 + exp(x / w))``, ``w = 0.1``.

    A hard floor gave every row that is typical in all four views a score of exactly 0:
    a tie of 15-39% of the rows (27% on average on the ADBench tables), among them
    planted anomalies whose one changed cell no view found striking, and their
    explanations were all zeros. The soft floor keeps their order and a positive score
    to share among their cells. On the 30 ADBench tables (seeds 0-1) it ranked
    outliers as well or slightly better (ROC-AUC .8208 against .8200, AP .4219 against
    .4214), and the planted adult rows' explanations named the planted column first
    for .728 of them against .700.
    """
    return _FLOOR_WIDTH * np.logaddexp(0.0, np.asarray(x, dtype=np.float64) / _FLOOR_WIDTH)


def _hard_floor(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``: the floor of detector files written before :func:`soft_floor`."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def _shares(parts: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Each row's positive parts as shares summing to 1 (even over observed cells if none is positive)."""
    positive = np.where(observed, np.maximum(parts, 0.0), 0.0)
    total = positive.sum(1, keepdims=True)
    even = observed / np.maximum(observed.sum(1, keepdims=True), 1)
    even = np.where(observed.any(1, keepdims=True), even, 1.0 / max(parts.shape[1], 1))
    return np.where(total > 0, positive / np.where(total > 0, total, 1.0), even)


def _observed_only(cell_scores: np.ndarray, df: pd.DataFrame) -> np.ndarray:
    """Cell scores with NaN where the cell is missing (the model's contributions are 0 there)."""
    return np.where(df.notna().to_numpy(), cell_scores, np.nan)


def _as_float(series: pd.Series) -> np.ndarray:
    """A numeric or datetime column as float64, NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_convert(None)
        values = series.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
