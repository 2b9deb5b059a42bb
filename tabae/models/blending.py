"""Numeric imputations that blend the network with other predictors, per column.

Two optional predictors sit beside the network (both only used by ``impute``):

* ``gaussian_blend``: a multivariate Gaussian over the numeric columns, fitted by EM on
  the training rows; its conditional mean gets linear relations right from a few hundred
  rows (tabae/nn/gaussian.py).
* ``neighbour_blend=k``: the distance-weighted mean of the k nearest training rows'
  observed values, rows compared on the network's completion of them
  (tabae/nn/neighbours.py); it wins on cluster-like tables.

Each numeric column gets convex weights over the network and these predictors, fitted on
cells hidden from validation rows, which none of them trained on. All of it lives in one
:class:`ImputationBlend` module owned by the model (``model.blend_``): saved in the model
file beside the network, but not part of the network, which only predicts.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

from tabae.exceptions import TabaeWarning
from tabae.nn.classifier import (
    N_EDGES,
    affordable_rows,
    class_features,
    class_probabilities,
    feature_owner,
    fit_column_classifiers,
    step_edges,
)
from tabae.nn.forest import MAX_ROWS as FOREST_ROWS
from tabae.nn.forest import feature_columns, fit_column_forests, forest_features, forest_probabilities
from tabae.nn.gaussian import conditional_mean, fit_gaussian_em
from tabae.nn.neighbours import (
    completed_rows,
    distance_terms,
    fit_stacking_weights,
    nearest_rows,
    neighbour_frequencies,
    neighbour_means,
)
from tabae.nn.training import validation_size
from tabae.threads import torch_threads

__all__ = ["BlendConfig", "ImputationBlend", "plan_blend", "held_out_cells", "MAX_GAUSSIAN_COLUMNS", "MAX_BANK_ROWS"]

MAX_GAUSSIAN_COLUMNS = 128  # the Gaussian covers at most this many numeric columns
MAX_BANK_ROWS = 20_000  # training rows kept for the neighbour predictor
_BANK_BATCH = 8192
#: Tempering of the categorical mixing weights' posterior (:func:`_posterior_weights`).
_EVIDENCE_TEMPERATURE = 0.25
#: Smaller categorical mixing weights are dropped (their candidate is then not computed).
_MIN_WEIGHT = 0.01
MAX_HELD_OUT_ROWS = 8192  # held-out rows (validation rows x repeats) the blend is weighed on


def held_out_cells(X, M, val_idx, hide: bool = True, hide_rate: float = 0.2, repeats: int | None = None):
    """Validation rows (all rows for tiny tables), repeated, with fresh artificial holes:
    ``x``, ``m`` and the ``hidden`` cells to score. Draws from torch's current RNG.

    By default the rows are repeated until there are about 2,048 of them (8 to 64
    repeats): with a few dozen validation rows, 8 repeats leave one cell in six never
    hidden, and which ones decided the blend's weights more than the data did. Larger
    tables keep 8 (on the real-table benchmark, ~32k rows cost a quarter more fit time on
    the tables of 1,000+ rows for no measurable gain), up to :data:`MAX_HELD_OUT_ROWS`
    rows in all: beyond 1,024 validation rows the repeats fall (to 2 at 4,096), since
    distinct rows are the evidence and repeats only add hiding patterns. Every held-out
    row is searched against the neighbour bank, so on adult (2,600 validation rows) 8
    repeats cost 19 of a 68 s fit."""
    rows = held_out_rows(X, val_idx)
    if repeats is None:
        repeats = int(min(64, max(8, 2048 // max(1, len(rows)))))
        if repeats * len(rows) > MAX_HELD_OUT_ROWS:
            repeats = max(2, MAX_HELD_OUT_ROWS // len(rows))
    x, m = X[rows].repeat(repeats, 1), M[rows].repeat(repeats, 1)
    hidden = m & (torch.rand(m.shape, device=m.device) < hide_rate) if hide else torch.zeros_like(m)
    return x, m, hidden


def held_out_rows(X, val_idx) -> torch.Tensor:
    """The rows :func:`held_out_cells` repeats: the validation rows (all rows of a tiny
    table), at most 4,096; row ``i`` of its output is a copy of row ``i % len(...)``."""
    return (val_idx if len(val_idx) else torch.arange(len(X), device=X.device))[:4096]


@dataclass(frozen=True)
class BlendConfig:
    n_features: int  # D of the encoded layout (bank rows are stored encoded)
    n_columns: int  # C
    n_blend: int  # numeric units whose imputations are blended
    gaussian: bool  # predictor: the EM Gaussian's conditional mean
    n_bank: int  # predictor: training rows kept for the neighbour mean (0 = none)
    neighbours: int  # k of the neighbour mean
    cat_spans: tuple = ()  # categorical spans (rows of SpanIndex.cat_pos) whose probabilities are blended
    cat_width: int = 1  # the widest of those spans
    classifier: bool = False  # categorical candidate: a softmax classifier per span (tabae/nn/classifier.py)
    n_gauss: int = 0  # G: numeric units, each with N_EDGES step features for the classifier
    forest: bool = False  # categorical candidate: a random forest per span (tabae/nn/forest.py)
    forest_trees: int = 0  # trees per span (known once fitted)
    forest_nodes: int = 0  # nodes of all the forests' trees (known once fitted)
    forest_values: int = 0  # class frequencies stored for their leaves (known once fitted)
    forest_depth: int = 0  # the deepest tree's depth

    def to_dict(self) -> dict:
        return {**asdict(self), "cat_spans": list(self.cat_spans)}

    @classmethod
    def from_dict(cls, d: dict) -> "BlendConfig":
        return cls(**{**d, "cat_spans": tuple(d.get("cat_spans", ()))})


def plan_blend(gaussian: bool, k: int, index, n_rows: int, validation_fraction: float,
               cat_spans: tuple = (), category_models: bool = True) -> BlendConfig | None:
    """The blend a model asks for on this layout, or None (nothing to blend).

    Numbers are blended when the parameters ask for it (``gaussian_blend``,
    ``neighbour_blend``); the categorical spans listed in ``cat_spans`` always are: a
    network whose guess for a hidden category is worse than the column's most frequent
    value (a VAE trained without hidden cells can be) then falls back on it.
    ``category_models`` adds a classifier and a forest per span to their candidates (the
    model's ``category_blend``).
    """
    n_numeric = index.n_gauss
    if gaussian and n_numeric > MAX_GAUSSIAN_COLUMNS:
        # Every row's pattern needs a G x G solve: at this width the blend would cost
        # more than the network itself.
        warnings.warn(
            f"gaussian_blend is off: {n_numeric} numeric columns is more than "
            f"{MAX_GAUSSIAN_COLUMNS}, for which its per-row solves get too slow",
            TabaeWarning, stacklevel=4,  # the caller of fit
        )
        gaussian = False
    gaussian = bool(gaussian) and n_numeric > 0
    cat_spans = tuple(int(p) for p in cat_spans)
    n_train = n_rows - validation_size(n_rows, validation_fraction)
    n_bank = min(n_train, MAX_BANK_ROWS) if k and (n_numeric or cat_spans) else 0
    n_blend = n_numeric if (gaussian or (k and n_numeric)) else 0
    if not (n_blend or cat_spans):
        return None
    width = int(index.cat_valid[list(cat_spans)].sum(1).max()) if cat_spans else 1
    # The classifier is weighed on validation rows it never saw: tiny tables have none.
    # Very wide layouts (thousands of features and class slots) cannot afford its fits.
    n_levels = int(index.cat_valid[list(cat_spans)].sum()) if cat_spans else 0
    classifier = (category_models and bool(cat_spans) and validation_size(n_rows, validation_fraction) > 0
                  and affordable_rows(index.n_features, n_numeric, n_levels) >= min(n_train, 1000))
    # The forests need validation rows to be weighed on, as the classifier does.
    forest = category_models and bool(cat_spans) and validation_size(n_rows, validation_fraction) > 0
    return BlendConfig(index.n_features, index.n_columns, n_blend, gaussian, n_bank, int(k) if n_bank else 0,
                       cat_spans, width, classifier, int(n_numeric), forest)


class ImputationBlend(nn.Module):
    """The fitted predictors beside the network and their per-column stacking weights.

    Numbers: the network, the EM Gaussian and the neighbour mean, mixed with convex
    weights per column fitted on held-out hidden cells (least squares). Categories: the
    network's class probabilities, the column's training frequencies, the neighbours'
    class frequencies, a softmax classifier on the rest of the completed row
    (tabae/nn/classifier.py) and a random forest on it (tabae/nn/forest.py), mixed with
    convex weights per column chosen for log-loss on held-out hidden cells, or the
    column's mode where they do not clearly beat it.

    Buffers (saved with the model): ``pos`` (the blended numeric units' positions),
    ``weights`` ``(n_blend, n_predictors)``, the Gaussian's ``fill_mean`` / ``fill_cov``,
    the neighbour bank ``bank_x`` / ``bank_m`` (encoded training rows), and for
    categories ``cat_marginal`` ``(spans, width)``, ``cat_weights`` ``(spans, predictors)``,
    the classifiers' ``clf_edges``, ``clf_weight``, ``clf_bias`` and the forests'
    ``forest_feature``, ``forest_threshold``, ``forest_children``, ``forest_leaf_start``,
    ``forest_value``, ``forest_roots`` (sized by the fitted trees, which the config records).
    """

    def __init__(self, config: BlendConfig):
        super().__init__()
        self.config = c = config
        self.register_buffer("pos", torch.zeros(c.n_blend, dtype=torch.long))
        self.register_buffer("weights", torch.zeros(c.n_blend, self.n_predictors))
        if c.gaussian:
            self.register_buffer("fill_mean", torch.zeros(c.n_blend))
            self.register_buffer("fill_cov", torch.eye(c.n_blend))
        if c.n_bank:
            self.register_buffer("bank_x", torch.zeros(c.n_bank, c.n_features))
            self.register_buffer("bank_m", torch.zeros(c.n_bank, c.n_columns, dtype=torch.bool))
        if c.cat_spans:
            self.register_buffer("cat_marginal", torch.zeros(len(c.cat_spans), c.cat_width))
            weights = torch.zeros(len(c.cat_spans), 2 + int(c.n_bank > 0) + int(c.classifier) + int(c.forest))
            weights[:, 0] = 1.0  # the network alone until fitted
            self.register_buffer("cat_weights", weights)
        if c.classifier:
            n_class_features = c.n_features + c.n_gauss * N_EDGES
            self.register_buffer("clf_edges", torch.zeros(c.n_gauss, N_EDGES))
            self.register_buffer("clf_weight", torch.zeros(len(c.cat_spans), n_class_features, c.cat_width))
            self.register_buffer("clf_bias", torch.zeros(len(c.cat_spans), c.cat_width))
        if c.forest:
            self._register_forest(c.forest_nodes, c.forest_trees, c.forest_values)
        self._bank_cache = None

    def _register_forest(self, n_nodes: int, n_trees: int, n_values: int) -> None:
        """The forests' buffers (sized by the fitted trees: see tabae/nn/forest.py)."""
        c = self.config
        self.register_buffer("forest_feature", torch.zeros(n_nodes, dtype=torch.long))
        self.register_buffer("forest_threshold", torch.zeros(n_nodes, dtype=torch.float64))
        self.register_buffer("forest_children", torch.zeros(n_nodes, 2, dtype=torch.long))
        self.register_buffer("forest_leaf_start", torch.zeros(n_nodes, dtype=torch.long))
        self.register_buffer("forest_value", torch.zeros(n_values))
        self.register_buffer("forest_roots", torch.zeros(len(c.cat_spans), n_trees, dtype=torch.long))

    @property
    def n_predictors(self) -> int:
        """Predictors of a numeric imputation: the net, then the Gaussian, then the neighbours."""
        return 1 + int(self.config.gaussian) + int(self.config.n_bank > 0)

    def _apply(self, fn, *args, **kwargs):
        self._bank_cache = None  # moved to another device: recompute the completed bank there
        return super()._apply(fn, *args, **kwargs)

    # ------------------------------------------------------------------ fit
    @torch.no_grad()
    def fit(self, model, X: torch.Tensor, M: torch.Tensor, val_idx: torch.Tensor) -> "ImputationBlend":
        """Fit the numeric predictors on the training rows, then their weights on held-out cells.

        ``model`` is the fitted model whose network is blended (its :meth:`heads`). The
        categories are fitted last, by :meth:`fit_categories`.
        """
        index = model.span_index_
        if self.config.n_blend:
            self.pos.copy_(index.gauss_pos)
        train_rows = _training_rows(len(X), val_idx, X.device)
        if self.config.gaussian:
            self._fit_gaussian(index, X, M, train_rows)
        if self.config.n_bank:
            bank = train_rows[torch.randperm(len(train_rows), device=X.device)[: self.config.n_bank]]
            self.bank_x.copy_(X[bank])
            self.bank_m.copy_(M[bank])
        self._bank_cache = None
        if not self.config.n_blend:
            return self
        x, m, hide = held_out_cells(X, M, val_idx)
        m_in = m & ~hide
        mean, _, _ = model.heads(x, m_in)
        predictions = torch.stack(self._predictions(model, x, m_in, mean, self._neighbours(model, x, m_in))).double()
        hidden = hide[:, index.feature_column][:, self.pos]
        if self.config.n_bank and not len(val_idx):
            # A tiny table has no validation rows: the held-out rows are in the bank, where
            # their hidden cells are visible. Weigh the other predictors only.
            weights = fit_stacking_weights(predictions[:-1], x[:, self.pos].double(), hidden)
            weights = torch.cat([weights, torch.zeros_like(weights[:, :1])], dim=1)
        else:
            weights = fit_stacking_weights(predictions, x[:, self.pos].double(), hidden)
        self.weights.copy_(weights.float())
        return self

    @torch.no_grad()
    def fit_categories(self, model, X: torch.Tensor, M: torch.Tensor, val_idx: torch.Tensor) -> "ImputationBlend":
        """The categorical spans' training frequencies, then their mixing weights.

        Per span, on cells hidden from held-out rows: the convex weights (on a grid) with
        the lowest log-loss, kept only if their most likely class beats the column's mode
        on those cells by more than chance would (:func:`_beats_mode`); otherwise the mode. Log-loss, a proper score, picks the
        mixture: accuracy on a few hundred cells is too coarse to rank 66 grid points
        without overfitting (on the real-table benchmark, choosing by accuracy put 12 of
        78 columns below their mode, by log-loss with this guard 7). The guard keeps a
        column that no predictor understands at its most frequent value.
        """
        if not self.config.cat_spans:
            return self
        index = model.span_index_
        pos, valid, cols = self._cat_layout(index)
        train = _training_rows(len(X), val_idx, X.device)
        counts = X[train].sum(0)[pos] * valid  # (P, W): the one-hot slots summed (a (n, P, W) block was GBs)
        self.cat_marginal.copy_(counts / counts.sum(-1, keepdim=True).clamp(min=1))
        if self.config.classifier:
            self._fit_classifiers(model, X, M, train)
        if self.config.forest:
            self._fit_forests(model, X, M, train)
        x, m, hide = held_out_cells(X, M, val_idx)
        m_in = m & ~hide
        mean, _, _ = model.heads(x, m_in)
        neighbours = self._neighbours(model, x, m_in)
        mean = self._with_blended_numbers(model, x, m_in, mean, neighbours)
        probs = self._cat_predictions(model, x, m_in, mean, neighbours)  # (Q, N, P, W)
        if self.config.n_bank and not len(val_idx):
            probs = probs[:-1]  # tiny table: the held-out rows are in the bank (see fit)
        target = (x[:, pos] * valid).argmax(-1)  # (N, P)
        hidden = hide[:, cols]  # (N, P)
        source = torch.arange(len(x), device=X.device) % len(held_out_rows(X, val_idx))  # the row each copies
        grid = _simplex_grid(len(probs)).to(X.device)  # (S, Q)
        mode_weights = torch.zeros(self.cat_weights.shape[1], device=X.device)
        mode_weights[1] = 1.0  # the training frequencies alone: the mode
        for p in range(len(cols)):
            cells = hidden[:, p]
            self.cat_weights[p].copy_(mode_weights)
            if not cells.any():
                continue
            column = probs[:, cells, p].double()  # (Q, n, W)
            truth = target[cells, p]
            # Each mix's probability of the true level (S, n): the grid never meets the
            # level axis, which made an (S, n, W) block of GBs on a 40-level column.
            right = column.gather(2, truth.expand(len(column), -1)[:, :, None])[:, :, 0]  # (Q, n)
            chosen = _posterior_weights(grid, right, source[cells])
            guess = torch.einsum("q,qnw->nw", chosen, column).argmax(-1)
            if _beats_mode(guess, self.cat_marginal[p].argmax(), truth, source[cells]):
                self.cat_weights[p, : len(probs)].copy_(chosen.float())
        if self.config.forest and len(val_idx):
            # Weighed, the forests are grown again on every row, the validation rows too
            # (refitting after validation, as with any model chosen on held-out data):
            # .7234 -> .7253 mean accuracy on the real-table benchmark. Refitting the
            # classifiers the same way measured .7227: they stay as weighed.
            self._fit_forests(model, X, M, torch.arange(len(X), device=X.device))
        return self

    def _fit_classifiers(self, model, X, M, train) -> None:
        """A softmax classifier per span on as many training rows as the budget affords
        (:func:`~tabae.nn.classifier.affordable_rows`), completed by the network."""
        index = model.span_index_
        pos, valid, cols = self._cat_layout(index)
        n_levels = int(valid.sum())
        budget = affordable_rows(index.n_features, index.n_gauss, n_levels)
        rows = train[torch.randperm(len(train), device=X.device)[:budget]]
        x, m = X[rows], M[rows]
        numeric_seen = m[:, index.gauss_col] if index.n_gauss else m[:, :0]
        self.clf_edges.copy_(step_edges(x[:, index.gauss_pos], numeric_seen))
        features = self._class_features(self._completed_rows(model, x, m), index)
        keep = feature_owner(index.feature_column, index.gauss_col)[None, :].to(X.device) != cols[:, None]
        targets = (x[:, pos] * valid).argmax(-1)
        weight, bias = fit_column_classifiers(features, targets, m[:, cols], keep, valid)
        self.clf_weight.copy_(weight)
        self.clf_bias.copy_(bias)

    def _fit_forests(self, model, X, M, train) -> None:
        """A random forest per span on up to :data:`~tabae.nn.forest.MAX_ROWS` training
        rows, completed by the network (tabae/nn/forest.py); sizes the forest buffers."""
        index = model.span_index_
        pos, valid, cols = self._cat_layout(index)
        rows = train[torch.randperm(len(train), device=X.device)[:FOREST_ROWS]]
        x, m = X[rows], M[rows]
        features = forest_features(self._completed_rows(model, x, m), index)
        keep = feature_columns(index)[None, :].to(X.device) != cols[:, None]
        targets = (x[:, pos] * valid).argmax(-1)
        seed = int(torch.randint(0, 2**31 - 1, (1,), device=X.device))
        packed = fit_column_forests(features, targets, m[:, cols], keep, valid, seed)
        roots = packed["roots"]
        self.config = dataclasses.replace(self.config, forest_trees=roots.shape[1], forest_nodes=len(packed["feature"]),
                                          forest_values=len(packed["value"]), forest_depth=packed["depth"])
        self._register_forest(self.config.forest_nodes, self.config.forest_trees, self.config.forest_values)
        for name in ("feature", "threshold", "children", "leaf_start", "value", "roots"):
            getattr(self, f"forest_{name}").copy_(packed[name])

    def _class_features(self, completed: torch.Tensor, index) -> torch.Tensor:
        return class_features(completed, completed[:, index.gauss_pos], self.clf_edges)

    def _fit_gaussian(self, index, X, M, rows) -> None:
        """EM on the training rows (not the validation rows, which weigh it against the net)."""
        pos = self.pos
        # A mean and a covariance need no more than ~20k rows, and each EM pass costs
        # rows x G^3: wide tables use fewer rows (at least 2,000; G=128 -> ~10k).
        budget = max(2_000, min(20_000, int(2e10 / len(pos) ** 3)))
        rows = rows[torch.randperm(len(rows), device=X.device)[:budget]]
        visible = M[rows][:, index.feature_column][:, pos]
        mean, cov = fit_gaussian_em(X[rows][:, pos], visible)
        self.fill_mean.copy_(mean)
        self.fill_cov.copy_(cov)

    # ------------------------------------------------------------------ use
    def blend(self, model, x: torch.Tensor, m_in: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """``mean`` (the network's heads) with the blended numbers replaced by the weighted
        predictors and the blended categories' logits by the log of the mixed probabilities."""
        neighbours = self._neighbours(model, x, m_in, rows=self._rows_needing_neighbours(model, m_in))
        mean = self._with_blended_numbers(model, x, m_in, mean, neighbours)
        if self.config.cat_spans:
            probs = self._cat_predictions(model, x, m_in, mean, neighbours, *self._weighed_spans())  # (Q, N, P, W)
            weights = self.cat_weights[:, : len(probs)].T[:, None, :, None]  # (Q, 1, P, 1)
            mixed = (weights * probs).sum(0)  # (N, P, W)
            pos, valid, _ = self._cat_layout(model.span_index_)
            mean = mean.clone()
            mean[:, pos[valid]] = mixed.clamp(min=1e-12).log()[:, valid]
        return mean

    def _with_blended_numbers(self, model, x, m_in, mean, neighbours) -> torch.Tensor:
        """``mean`` with the blended numeric units replaced by their weighted predictors.

        The categorical candidates (classifier, forest) read a row's missing numbers from
        here, not from the network alone, when fitted and when imputing: on small tables
        the network's numbers are its weakest (83-row msleep, seeds 0-2: NRMSE .765 with
        the network's numbers, .584 blended), and a forest splitting on them inherits the
        error. On the real-table
        benchmark the forest alone went .711 -> .719 mean accuracy (hawks .883 -> .896).
        """
        if not self.config.n_blend:
            return mean
        predictions = self._predictions(model, x, m_in, mean, neighbours)
        mixed = sum(w * p for w, p in zip(self.weights.T, predictions, strict=True))
        return mean.index_copy(1, self.pos, mixed.to(mean.dtype))

    def _completed_rows(self, model, x, m_in) -> torch.Tensor:
        """Training rows completed as an imputation would complete them (numbers blended),
        for fitting the classifiers and forests."""
        mean = _heads_in_blocks(model, x, m_in)
        if self.config.n_blend:
            neighbours = self._neighbours(model, x, m_in, rows=self._rows_needing_neighbours(model, m_in, cats=False))
            mean = self._with_blended_numbers(model, x, m_in, mean, neighbours)
        return _completed(model, x, m_in, mean)

    def _neighbours(self, model, x, m_in, rows: torch.Tensor | None = None):
        """The nearest bank rows of each row (None without a bank).

        ``rows`` (bool ``(N,)``): search only for these; the others get no neighbours
        (zero weights), so the neighbour predictor falls back on the network there.
        """
        if not self.config.n_bank:
            return None
        m_feat = m_in[:, model.span_index_.feature_column].float()
        _, _, bank, _, terms = self._bank(model)
        if rows is None or bool(rows.all()):
            return nearest_rows(x * m_feat, m_feat, bank, self.config.neighbours, terms)
        k = int(min(self.config.neighbours, len(bank)))
        idx = torch.zeros(len(x), k, dtype=torch.long, device=x.device)
        weight = torch.zeros(len(x), k, dtype=x.dtype, device=x.device)
        if bool(rows.any()):
            idx[rows], weight[rows] = nearest_rows((x * m_feat)[rows], m_feat[rows], bank, self.config.neighbours,
                                                   terms)
        return idx, weight

    def _rows_needing_neighbours(self, model, m_in, cats: bool = True) -> torch.Tensor | None:
        """Rows with a hidden cell in a column whose blend gives the neighbours a weight.

        Only hidden cells are filled from the blend, and a predictor with weight 0 adds
        exactly 0 to them: a row whose holes all lie in such columns comes out the same,
        bit for bit, without the search, which is most of an imputation's time. On adult
        the neighbours have no weight in half the columns.
        """
        if not self.config.n_bank:
            return None
        columns = torch.zeros(m_in.shape[1], dtype=torch.bool, device=m_in.device)
        if self.config.n_blend:
            used = self.weights[:, -1] > 0  # the neighbours are the last numeric predictor
            columns[model.span_index_.feature_column[self.pos[used]]] = True
        if cats and self.config.cat_spans:
            columns[self._cat_layout(model.span_index_)[2][self._weighed_spans()[0]]] = True
        return (~m_in & columns).any(1)

    def _predictions(self, model, x, m_in, mean, neighbours) -> list[torch.Tensor]:
        """Each predictor's guess for the blended units ``(N, n_blend)``: net, Gaussian, neighbours."""
        index, pos = model.span_index_, self.pos
        m_feat = m_in[:, index.feature_column].float()
        out = [mean[:, pos]]
        if self.config.gaussian:
            out.append(conditional_mean(x[:, pos], m_feat[:, pos], self.fill_mean, self.fill_cov))
        if self.config.n_bank:
            bank_values, bank_observed = self._bank(model)[:2]
            near, found = neighbour_means(neighbours, bank_values, bank_observed)
            out.append(torch.where(found, near, mean[:, pos]))
        return out

    def _cat_layout(self, index):
        """Positions ``(P, W)``, valid slots ``(P, W)`` and owning columns ``(P,)`` of the blended spans."""
        spans = list(self.config.cat_spans)
        width = self.config.cat_width
        return index.cat_pos[spans][:, :width], index.cat_valid[spans][:, :width], index.cat_col[spans]

    def _forest_candidate(self) -> int:
        """The forests' place among the categorical candidates (see :meth:`_cat_predictions`)."""
        return 2 + bool(self.config.n_bank) + bool(self.config.classifier)

    def _weighed_spans(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The spans whose fitted blend gives the neighbours' votes, and the forests, a weight
        (bool ``(P,)`` each; None without that candidate). A candidate with weight 0 adds
        exactly 0, so imputation skips its work for the other spans."""
        neighbours = self.cat_weights[:, 2] > 0 if self.config.n_bank else None  # net, frequencies, neighbours, ...
        forests = self.cat_weights[:, self._forest_candidate()] > 0 if self.config.forest else None
        return neighbours, forests

    def _cat_predictions(self, model, x, m_in, mean, neighbours, neighbour_spans=None, forest_spans=None):
        """Class probabilities ``(Q, N, P, W)``: the network, the training frequencies, the
        neighbours (with a bank), the classifiers and the forests (with validation rows).

        ``neighbour_spans``, ``forest_spans`` (bool ``(P,)``): count the neighbours' votes,
        walk the forests, for these spans only (the others get the network's probabilities
        and zeros: for spans where those candidates have no weight).
        """
        pos, valid, cols = self._cat_layout(model.span_index_)
        net = torch.softmax(mean[:, pos].masked_fill(~valid, float("-inf")), dim=-1)
        out = [net, self.cat_marginal.expand_as(net)]
        if self.config.n_bank:
            onehot = self._bank(model)[3]
            if neighbour_spans is None or bool(neighbour_spans.all()):
                votes = neighbour_frequencies(neighbours, onehot)
            else:  # each span's votes are its own: counting a subset gives the same values
                votes = onehot.new_zeros(len(net), *onehot.shape[1:])
                if bool(neighbour_spans.any()):
                    votes[:, neighbour_spans] = neighbour_frequencies(neighbours, onehot[:, neighbour_spans])
            out.append(torch.where(votes.sum(-1, keepdim=True) > 0, votes, net))
        index = model.span_index_
        if self.config.classifier or self.config.forest:
            completed = _completed(model, x, m_in, mean)
        if self.config.classifier:
            out.append(class_probabilities(self._class_features(completed, index), self.clf_weight, self.clf_bias,
                                           valid))
        if self.config.forest and not self.config.forest_trees:
            out.append(net)  # not fitted yet (the categories are fitted last); weighed 0 until then
        elif self.config.forest:
            hidden = ~m_in[:, cols]  # the cells an imputation fills: the only ones walked
            wanted = hidden if forest_spans is None else hidden & forest_spans[None, :]
            trees = forest_probabilities(forest_features(completed, index), self.forest_feature,
                                         self.forest_threshold, self.forest_children, self.forest_leaf_start,
                                         self.forest_value, self.forest_roots, self.config.forest_depth, valid,
                                         wanted=wanted).to(net.dtype)
            out.append(torch.where(hidden[..., None], trees, net))
        return torch.stack(out)

    def _bank(self, model):
        """The bank's values and observed flags at the blended units, its completed rows,
        its categories one-hot and the completed rows' distance terms (computed once: the
        network is fixed after fit)."""
        if self._bank_cache is None:
            index, x, m = model.span_index_, self.bank_x, self.bank_m
            m_feat = m[:, index.feature_column].float()
            with torch_threads(1):  # as every inference block: the same bank whatever the caller's threads
                mean = _heads_in_blocks(model, x, m)
            onehot = None
            if self.config.cat_spans:
                pos, valid, _ = self._cat_layout(index)
                onehot = x[:, pos] * valid  # missing cells are all-zero rows
            completed = completed_rows(x, m_feat, mean, index)
            self._bank_cache = (x[:, self.pos], m_feat[:, self.pos] > 0, completed, onehot, distance_terms(completed))
        return self._bank_cache


def _heads_in_blocks(model, x, m_in) -> torch.Tensor:
    """The network's heads (means) of many rows, in blocks of :data:`_BANK_BATCH`."""
    return torch.cat([model.heads(x[s : s + _BANK_BATCH], m_in[s : s + _BANK_BATCH])[0]
                      for s in range(0, len(x), _BANK_BATCH)])


def _completed(model, x, m_in, mean=None) -> torch.Tensor:
    """Rows completed by the network (:func:`~tabae.nn.neighbours.completed_rows`); its
    heads are computed in blocks unless given."""
    index = model.span_index_
    if mean is None:
        mean = _heads_in_blocks(model, x, m_in)
    return completed_rows(x, m_in[:, index.feature_column].float(), mean, index)


def _simplex_grid(n: int) -> torch.Tensor:
    """Convex weights over ``n`` predictors on a grid (steps of 0.05 for two, 0.1 for three)."""
    steps = 20 if n <= 2 else 10
    points = [w for w in itertools.product(range(steps + 1), repeat=n) if sum(w) == steps]
    return torch.tensor(points, dtype=torch.float64) / steps


def _cell_votes(source: torch.Tensor) -> torch.Tensor:
    """Each held-out cell's vote (float64): a validation cell hidden in several repeats
    (``source``: the validation row each cell copies) is one vote, split between its copies."""
    _, copy_of, copies = torch.unique(source, return_inverse=True, return_counts=True)
    return 1.0 / copies[copy_of].double()


def _posterior_weights(grid: torch.Tensor, right: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Mixing weights ``(Q,)``: the mean of the grid's points ``(S, Q)`` under a tempered
    posterior, each point weighed by ``exp(-T * log-loss)`` on the held-out cells.

    ``right`` ``(Q, n)``: each candidate's probability of the true level of each cell;
    ``source``: the validation row each cell copies (:func:`_cell_votes`).

    Why not the grid point of lowest log-loss: with the few dozen held-out cells of a
    small table, which of 1,001 points wins is mostly chance, and the winner is often a
    corner (one candidate alone) that the next table's cells do not favour. Averaging the
    points by how well they explain the cells keeps every candidate that the evidence
    cannot rule out; with thousands of cells the posterior narrows to the best point.
    On the real-table benchmark (8 tables x 3 seeds, forest features from blended
    numbers): lowest loss .7247 mean accuracy, 5 (column, seed) pairs below the mode;
    posterior at T = 3 / 1 / 0.4 / 0.25 / 0.15: .7253 / .7267 / .7282 / .7286 / .7285,
    below the mode 7 / 8 / 8 / 8 / 7 (T = 1 is the untempered posterior of the distinct
    cells; the MissForest-style imputer: .7290, 19 below). Weights
    under :data:`_MIN_WEIGHT` are dropped, so that a candidate the evidence rules out is
    not computed when imputing.
    """
    log_loss = -((grid @ right).clamp(min=1e-12).log() * _cell_votes(source)).sum(1)
    weights = torch.softmax(-_EVIDENCE_TEMPERATURE * log_loss, 0) @ grid
    weights = torch.where(weights < _MIN_WEIGHT, torch.zeros_like(weights), weights)
    return weights / weights.sum()


def _training_rows(n: int, val_idx: torch.Tensor, device) -> torch.Tensor:
    keep = torch.ones(n, dtype=torch.bool, device=device)
    keep[val_idx] = False
    return torch.nonzero(keep).squeeze(1)


def _beats_mode(guess: torch.Tensor, mode: torch.Tensor, truth: torch.Tensor, source: torch.Tensor) -> bool:
    """Whether ``guess`` beats always guessing ``mode`` on held-out cells by more than
    chance: of the cells where exactly one of them is right, the guess must win by more
    than half a standard deviation of a fair coin (``wins - losses > sqrt(wins + losses) / 2``,
    a one-sided sign test at about 69%). A validation cell hidden in several repeats
    (``source``: the row each held-out row copies) is one vote, split between its copies:
    the repeats add hiding patterns, not evidence. With a few dozen held-out cells a
    column whose mode is right 90% of the time is otherwise handed to a model that beat
    the mode by luck, and falls below it on new cells. Replayed on the held-out cells of the
    real-table benchmark's fits (3 seeds, forests in the blend), the bar at 0 / 0.5 / 1
    standard deviation put 7 / 6 / 2 of 117 (column, seed) pairs below their mode, at
    mean accuracy .726 / .725 / .713."""
    vote = _cell_votes(source)
    wins = float((vote * ((guess == truth) & (mode != truth))).sum())
    losses = float((vote * ((guess != truth) & (mode == truth))).sum())
    return wins - losses > 0.5 * (wins + losses) ** 0.5
