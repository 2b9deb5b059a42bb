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
* ``leaf_start`` ``(K,)`` and ``value`` ``(V,)``: a leaf's class frequencies are
  ``value[leaf_start : leaf_start + k]`` for its column's ``k`` levels (inner nodes
  store none), so that a 2-level column's trees do not store a 40-level column's width;
* ``roots`` ``(P, T)``: the first node of each of a column's ``T`` trees.

A row's probabilities are the mean over its column's trees of the leaf it lands in: a
function of that row alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["N_TREES", "MAX_LEAVES", "MAX_ROWS", "MAX_VALUES", "forest_features", "feature_columns",
           "leaf_budget", "fit_column_forests", "forest_probabilities"]

#: Trees per column (MissForest's benchmark setting is 50; past ~30 the held-out
#: accuracy moves by less than the seeds do, and the model file grows with every tree).
N_TREES = 32
#: Leaves per tree at most: unlimited trees on tens of thousands of rows would make the
#: model file hundreds of MB; small tables never reach it.
MAX_LEAVES = 256
#: Training rows per column's forest.
MAX_ROWS = 8192
#: Class frequencies stored for all the forests (4M floats, 16 MB): tables with many
#: many-level columns get smaller trees (:func:`leaf_budget`), not a model file of GBs.
MAX_VALUES = 4_000_000
_PAIR_BLOCK = 4096  # (row, column) pairs walked down their trees at once (x T x W leaf values: ~50 MB at 40 levels)


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


def leaf_budget(widths) -> int:
    """Leaves per tree that keep the stored class frequencies within :data:`MAX_VALUES`
    (``widths``: the levels of each column), between 16 and :data:`MAX_LEAVES`."""
    per_leaf = N_TREES * max(1, int(sum(int(w) for w in widths)))
    return int(min(MAX_LEAVES, max(16, MAX_VALUES // per_leaf)))


def fit_column_forests(features: torch.Tensor, targets: torch.Tensor, observed: torch.Tensor,
                       keep: torch.Tensor, valid: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """One random forest per column; the packed tensors described in the module docstring.

    features : (N, F); targets : (N, P) class slots; observed : (N, P) rows where column
    ``p`` is known; keep : (P, F) the features column ``p`` may use; valid : (P, W) the
    slots of each column. A column with fewer than 10 known rows or one class gets a
    single leaf holding its smoothed frequencies.
    """
    from sklearn.ensemble import RandomForestClassifier  # imported when a model is fitted

    widths = valid.sum(1).cpu().numpy()
    max_leaves = leaf_budget(widths)
    x_all = features.detach().cpu().numpy().astype(np.float32)
    y_all, seen_all = targets.cpu().numpy(), observed.cpu().numpy()
    feature, threshold, children, leaf_start, value = [], [], [], [], []
    roots = np.zeros((len(widths), N_TREES), dtype=np.int64)
    depth, offset, stored = 0, 0, 0
    for p, k in enumerate(widths.tolist()):
        rows = np.flatnonzero(seen_all[:, p])
        y = y_all[rows, p]
        columns = np.flatnonzero(keep[p].cpu().numpy())
        if len(y) < 10 or len(np.unique(y)) < 2 or not len(columns):
            counts = np.bincount(y, minlength=k)[:k].astype(np.float64) + 1.0
            feature.append(np.zeros(1, np.int64))
            threshold.append(np.full(1, np.inf))
            children.append(np.full((1, 2), offset, np.int64))
            leaf_start.append(np.full(1, stored, np.int64))
            value.append(counts / counts.sum())
            roots[p] = offset
            offset, stored = offset + 1, stored + k
            continue
        forest = RandomForestClassifier(
            n_estimators=N_TREES, max_features="sqrt", max_leaf_nodes=max_leaves,
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
            counts = tree.value[leaf, 0, :]
            frequencies = np.zeros((int(leaf.sum()), k))
            frequencies[:, forest.classes_] = counts / counts.sum(1, keepdims=True)
            starts = np.zeros(n, np.int64)
            starts[leaf] = stored + k * np.arange(int(leaf.sum()))
            leaf_start.append(starts)
            value.append(frequencies.reshape(-1))
            roots[p, t] = offset
            depth = max(depth, tree.max_depth)
            offset, stored = offset + n, stored + frequencies.size
    device = features.device
    return {
        "feature": torch.from_numpy(np.concatenate(feature)).to(device),
        "threshold": torch.from_numpy(np.concatenate(threshold)).to(device),
        "children": torch.from_numpy(np.concatenate(children)).to(device),
        "leaf_start": torch.from_numpy(np.concatenate(leaf_start)).to(device),
        "value": torch.from_numpy(np.concatenate(value)).to(device=device, dtype=features.dtype),
        "roots": torch.from_numpy(roots).to(device),
        "depth": depth,
    }


def forest_probabilities(features: torch.Tensor, feature: torch.Tensor, threshold: torch.Tensor,
                         children: torch.Tensor, leaf_start: torch.Tensor, value: torch.Tensor,
                         roots: torch.Tensor, depth: int, valid: torch.Tensor,
                         wanted: torch.Tensor | None = None) -> torch.Tensor:
    """``(N, P, W)`` class probabilities: each column's trees' leaf frequencies, averaged.

    ``valid`` ``(P, W)``: the slots of each column. ``wanted`` ``(N, P)``: the (row,
    column) pairs to predict (the cells an imputation fills: a fifth of them or fewer);
    the others are left zero. Walking every tree for every cell cost more than the rest
    of an imputation.
    """
    n_spans, width = valid.shape
    slots = torch.arange(width, device=features.device)
    out = value.new_zeros(len(features), n_spans, width)
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
        slot_valid = valid[span]  # (n, W): a column's frequencies fill its own slots
        index = (leaf_start[node][..., None] + slots).clamp(max=len(value) - 1)  # (n, T, W)
        out[row, span] = (value[index] * slot_valid[:, None, :]).mean(1)
    return out
