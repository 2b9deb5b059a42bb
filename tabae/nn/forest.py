"""A random forest per categorical column, kept as plain tensors.

The imputation blend's other categorical candidates (the network, the column's
frequencies, the neighbours' votes, a softmax classifier) are smooth or local. Where a
category is an *interaction* of thresholds (a hawk is female when it is large for its
species; a mammal's diet follows its order), forests find the cells exactly and a
MissForest-style imputer beat all of them (hawks' ``Sex`` .938 against .902, msleep's
``vore`` .73 against .53 on the real-table benchmark). The blend weighs this candidate per
column on held-out cells like the others, so it only takes the columns it predicts better.

The forests are fitted with scikit-learn's :class:`~sklearn.ensemble.RandomForestClassifier`
on the network's completion of the training rows (the column's own features left out),
then flattened into tensors, so that the model file stays free of pickle and the
prediction runs on the model's device:

* ``feature`` ``(K,)`` and ``threshold`` ``(K,)`` (float64, compared as scikit-learn does:
  the float32 feature promoted to double) of every node of every tree;
* ``children`` ``(K, 2)``: left, right; a leaf is its own child on both sides, so
  ``depth`` steps walk every row down every tree at once;
* ``value`` ``(K, W)``: each leaf's class frequencies (zero on inner nodes);
* ``roots`` ``(P, T)``: the first node of each of a column's ``T`` trees.

A row's probabilities are the mean over its column's trees of the leaf it lands in: a
function of that row alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["N_TREES", "MAX_LEAVES", "MAX_ROWS", "forest_features", "feature_columns", "fit_column_forests",
           "forest_probabilities"]

#: Trees per column (MissForest's benchmark setting is 50; past ~30 the held-out
#: accuracy moves by less than the seeds do, and the model file grows with every tree).
N_TREES = 32
#: Leaves per tree at most: unlimited trees on tens of thousands of rows would make the
#: model file hundreds of MB; small tables never reach it.
MAX_LEAVES = 256
#: Training rows per column's forest.
MAX_ROWS = 8192
_PAIR_BLOCK = 16384  # (row, column) pairs walked down their trees at once


def forest_features(completed: torch.Tensor, index) -> torch.Tensor:
    """``(N, G + B + P)``: one feature per column of a completed encoded row, as
    MissForest sees a table: numbers and flags as they are, each category as the code of
    its most likely level. One-hot slots would let a 20-level column crowd the few
    numbers out of every tree's random feature subsets (``sqrt`` of the features)."""
    parts = [completed[:, index.gauss_pos], completed[:, index.bin_pos]]
    if index.cat_pos.numel():
        probs = completed[:, index.cat_pos].masked_fill(~index.cat_valid, -1.0)
        parts.append(probs.argmax(-1).to(completed.dtype))
    return torch.cat(parts, dim=1)


def feature_columns(index) -> torch.Tensor:
    """The column each feature of :func:`forest_features` comes from."""
    return torch.cat([index.gauss_col, index.bin_col, index.cat_col])


def fit_column_forests(features: torch.Tensor, targets: torch.Tensor, observed: torch.Tensor,
                       keep: torch.Tensor, valid: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """One random forest per column; the packed tensors described in the module docstring.

    features : (N, F); targets : (N, P) class slots; observed : (N, P) rows where column
    ``p`` is known; keep : (P, F) the features column ``p`` may use; valid : (P, W) the
    slots of each column. A column with fewer than 10 known rows or one class gets a
    single leaf holding its smoothed frequencies.
    """
    from sklearn.ensemble import RandomForestClassifier  # imported when a model is fitted

    n_spans, width = valid.shape
    x_all = features.detach().cpu().numpy().astype(np.float32)
    y_all, seen_all = targets.cpu().numpy(), observed.cpu().numpy()
    feature, threshold, children, value = [], [], [], []
    roots = np.zeros((n_spans, N_TREES), dtype=np.int64)
    depth, offset = 0, 0
    for p in range(n_spans):
        rows = np.flatnonzero(seen_all[:, p])
        y = y_all[rows, p]
        columns = np.flatnonzero(keep[p].cpu().numpy())
        if len(y) < 10 or len(np.unique(y)) < 2 or not len(columns):
            counts = np.bincount(y, minlength=width).astype(np.float64) + valid[p].cpu().numpy()
            feature.append(np.zeros(1, np.int64))
            threshold.append(np.full(1, np.inf))
            children.append(np.full((1, 2), offset, np.int64))
            value.append((counts / counts.sum())[None])
            roots[p] = offset
            offset += 1
            continue
        forest = RandomForestClassifier(
            n_estimators=N_TREES, max_features="sqrt", max_leaf_nodes=MAX_LEAVES,
            random_state=(seed + p) % (2**31), n_jobs=1,
        )
        with warnings.catch_warnings():
            # "more unique classes than half the samples": a many-level column on a small
            # table is still a classification; the blend weighs what the forest makes of it.
            warnings.simplefilter("ignore", UserWarning)
            forest.fit(x_all[rows][:, columns], y)
        for t, estimator in enumerate(forest.estimators_):
            tree = estimator.tree_
            n = tree.node_count
            leaf = tree.children_left < 0
            own = np.arange(n)
            feature.append(np.where(leaf, 0, columns[np.maximum(tree.feature, 0)]))
            threshold.append(np.where(leaf, np.inf, tree.threshold))
            children.append(offset + np.stack([np.where(leaf, own, tree.children_left),
                                               np.where(leaf, own, tree.children_right)], axis=1))
            frequencies = np.zeros((n, width))
            counts = tree.value[:, 0, :]
            frequencies[:, forest.classes_] = counts / counts.sum(1, keepdims=True)
            value.append(np.where(leaf[:, None], frequencies, 0.0))
            roots[p, t] = offset
            depth = max(depth, tree.max_depth)
            offset += n
    device = features.device
    return {
        "feature": torch.from_numpy(np.concatenate(feature)).to(device),
        "threshold": torch.from_numpy(np.concatenate(threshold)).to(device),
        "children": torch.from_numpy(np.concatenate(children)).to(device),
        "value": torch.from_numpy(np.concatenate(value)).to(device=device, dtype=features.dtype),
        "roots": torch.from_numpy(roots).to(device),
        "depth": depth,
    }


def forest_probabilities(features: torch.Tensor, feature: torch.Tensor, threshold: torch.Tensor,
                         children: torch.Tensor, value: torch.Tensor, roots: torch.Tensor,
                         depth: int, wanted: torch.Tensor | None = None) -> torch.Tensor:
    """``(N, P, W)`` class probabilities: each column's trees' leaf frequencies, averaged.

    ``wanted`` ``(N, P)``: the (row, column) pairs to predict (the cells an imputation
    fills: a fifth of them or fewer); the others are left zero. Walking every tree for
    every cell cost more than the rest of an imputation.
    """
    n_spans, n_trees = roots.shape
    out = value.new_zeros(len(features), n_spans, value.shape[1])
    pairs = torch.nonzero(wanted) if wanted is not None else torch.cartesian_prod(
        torch.arange(len(features), device=features.device), torch.arange(n_spans, device=features.device))
    for s in range(0, len(pairs), _PAIR_BLOCK):
        row, span = pairs[s : s + _PAIR_BLOCK].unbind(1)
        x = features[row].double()  # (n, F)
        node = roots[span]  # (n, T)
        for step in range(depth):
            if step % 4 == 0 and bool((children[node, 0] == node).all()):
                break  # every walk has reached its leaf (leaves are their own children)
            goes_left = x.gather(1, feature[node]) <= threshold[node]
            node = torch.where(goes_left, children[node, 0], children[node, 1])
        out[row, span] = value[node].mean(1)
    return out
