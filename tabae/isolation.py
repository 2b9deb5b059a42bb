"""An isolation forest kept as plain arrays, so that a detector's file holds no pickle.

The trees are grown by scikit-learn's :class:`~sklearn.ensemble.IsolationForest` and
then flattened (as :mod:`tabae.nn.forest` does for the imputation forests): every node
of every tree in one set of arrays,

* ``feature`` and ``threshold``: the cut (the feature already mapped back from the
  tree's own feature subset to the table's columns); a row goes left when
  ``x[feature] <= threshold``, the float32 value promoted to double as scikit-learn
  compares it;
* ``left`` and ``right``: the children; a leaf is its own child on both sides, so a
  fixed number of steps walks every row to its leaf in every tree at once;
* ``path``: at a leaf, the row's path length there: the leaf's depth plus the average
  path length of an unsuccessful search among the training rows that reached it
  (Liu et al., 2008), as scikit-learn counts it;
* ``roots``: each tree's first node.

The score of a row is ``2 ** (-mean path length / c(max_samples))``, in (0, 1], higher
for rows that are isolated sooner: scikit-learn's ``-score_samples``. The path lengths
are summed tree by tree for each row, so a row's score depends on that row alone.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["IsolationTrees"]

_ROW_BLOCK = 8192  # rows walked down every tree at once: (rows, trees) node numbers


def _average_path_length(n: np.ndarray) -> np.ndarray:
    """``c(n)``: the average path length of an unsuccessful search in a binary tree of ``n`` rows."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class IsolationTrees:
    """An isolation forest's trees as arrays: fit with scikit-learn, scored with numpy."""

    def fit(self, X: np.ndarray, random_state=None) -> IsolationTrees:
        from sklearn.ensemble import IsolationForest

        X = np.asarray(X, dtype=np.float32)
        forest = IsolationForest(random_state=random_state).fit(X)
        features, thresholds, lefts, rights, paths, roots = [], [], [], [], [], []
        offset = 0
        for tree, columns in zip(forest.estimators_, forest.estimators_features_, strict=True):
            t = tree.tree_
            n_nodes = t.node_count
            leaf = t.children_left < 0
            depth = np.zeros(n_nodes)
            for node in range(n_nodes):  # children always come after their parent
                if not leaf[node]:
                    depth[t.children_left[node]] = depth[t.children_right[node]] = depth[node] + 1
            features.append(np.where(leaf, 0, np.asarray(columns)[np.maximum(t.feature, 0)]))
            thresholds.append(np.where(leaf, 0.0, t.threshold))
            own = np.arange(n_nodes) + offset
            lefts.append(np.where(leaf, own, t.children_left + offset))
            rights.append(np.where(leaf, own, t.children_right + offset))
            paths.append(np.where(leaf, depth + _average_path_length(t.n_node_samples), 0.0))
            roots.append(offset)
            offset += n_nodes
        self.feature_ = np.concatenate(features).astype(np.int64)
        self.threshold_ = np.concatenate(thresholds).astype(np.float64)
        self.left_ = np.concatenate(lefts).astype(np.int64)
        self.right_ = np.concatenate(rights).astype(np.int64)
        self.path_ = np.concatenate(paths).astype(np.float64)
        self.roots_ = np.asarray(roots, dtype=np.int64)
        self.max_depth_ = max(int(tree.tree_.max_depth) for tree in forest.estimators_)
        self.max_samples_ = int(forest.max_samples_)
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        """``(n,)`` isolation scores in (0, 1]; higher = isolated sooner = stranger."""
        X = np.asarray(X, dtype=np.float32)
        denominator = len(self.roots_) * float(_average_path_length(np.array([self.max_samples_]))[0])
        out = np.empty(len(X))
        for start in range(0, len(X), _ROW_BLOCK):
            block = X[start:start + _ROW_BLOCK].astype(np.float64)
            rows = np.arange(len(block))[:, None]
            node = np.broadcast_to(self.roots_, (len(block), len(self.roots_))).copy()
            for _ in range(self.max_depth_):
                go_left = block[rows, self.feature_[node]] <= self.threshold_[node]
                node = np.where(go_left, self.left_[node], self.right_[node])
            lengths = self.path_[node]
            total = np.zeros(len(block))
            for t in range(lengths.shape[1]):  # tree by tree: the same sum whatever the rows
                total += lengths[:, t]
            out[start:start + len(block)] = total
        if denominator <= 0:  # one training row: nothing to isolate it from
            return np.ones(len(X))
        return 2.0 ** (-out / denominator)

    # ------------------------------------------------------------------ model files
    def get_state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        meta = {"max_depth": self.max_depth_, "max_samples": self.max_samples_}
        names = ("feature", "threshold", "left", "right", "path", "roots")
        return meta, {name: torch.from_numpy(np.ascontiguousarray(getattr(self, f"{name}_"))) for name in names}

    @classmethod
    def from_state(cls, meta: dict, tensors: dict[str, torch.Tensor]) -> IsolationTrees:
        trees = cls()
        for name in ("feature", "threshold", "left", "right", "path", "roots"):
            setattr(trees, f"{name}_", tensors[name].numpy())
        trees.max_depth_, trees.max_samples_ = int(meta["max_depth"]), int(meta["max_samples"])
        n_nodes = len(trees.feature_)
        if not all(len(getattr(trees, f"{n}_")) == n_nodes for n in ("threshold", "left", "right", "path")) or \
                n_nodes == 0 or trees.left_.min() < 0 or max(trees.left_.max(), trees.right_.max()) >= n_nodes:
            raise ValueError("isolation trees: node arrays of different lengths or children out of range")
        return trees
