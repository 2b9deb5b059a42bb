"""Randomness without global state: seeds from ``random_state`` and a seeded torch scope.

Every random draw in tabae comes from a generator made here from the caller's
``random_state``; the process-wide torch and numpy states are left as the caller had
them (a library that reseeds the global state silently changes its users' results).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from tabae.exceptions import TabaeError

__all__ = ["seed_from", "seeded", "torch_generator"]


def seed_from(random_state) -> int:
    """An int seed from None / a non-negative int / a numpy Generator, without touching global state.

    ``None`` draws fresh entropy, so unseeded calls differ from one another as users expect.
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and 0 <= random_state < 2**63:
        return int(random_state)
    raise TabaeError(f"random_state={random_state!r}; pass None, an int in [0, 2**63) or a numpy Generator")


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Seed torch inside a fork of its RNG state, so the caller's global state is untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def torch_generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch generator of its own on ``device``, seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(int(seed))


# ---------------------------------------------------------------------- per-row streams
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective mix of 64-bit integers (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        return x ^ (x >> np.uint64(31))


class RowRandom:
    """Random numbers keyed by (seed, row key, stream): a row's draws never depend on
    which other rows share the call, so chunked, streamed and Dask runs give the same
    values as one call.

    ``keys`` are one uint64 per row: the row's global number when generating, a hash of
    the row (its index label and values) when imputing. Each use of randomness asks for
    its own ``stream`` number, so the draws of different uses are independent.

    Examples
    --------
    >>> import numpy as np
    >>> rows = RowRandom(7, np.arange(5, dtype=np.uint64))
    >>> part = RowRandom(7, np.arange(3, 5, dtype=np.uint64))
    >>> bool((rows.uniform(0, 2)[3:] == part.uniform(0, 2)).all())
    True
    """

    def __init__(self, seed: int, keys: np.ndarray, device: torch.device | str = "cpu"):
        keys = np.asarray(keys, dtype=np.uint64)
        self.device = torch.device(device)
        self.n = len(keys)
        self._row = _splitmix64(_splitmix64(np.full(len(keys), seed, dtype=np.uint64)) ^ keys)

    def _bits(self, stream: int, width: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            offsets = _splitmix64(np.uint64(stream) * np.uint64(1 << 32) + np.arange(width, dtype=np.uint64))
            return _splitmix64(self._row[:, None] ^ offsets[None, :])  # (N, width)

    def uniform_np(self, stream: int, width: int) -> np.ndarray:
        """``(N, width)`` float64 uniforms in the open interval (0, 1)."""
        return ((self._bits(stream, width) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def uniform(self, stream: int, width: int) -> torch.Tensor:
        """``(N, width)`` float32 uniforms in (0, 1) on the device."""
        u = np.clip(self.uniform_np(stream, width), 2.0**-24, 1 - 2.0**-24).astype(np.float32)
        return torch.from_numpy(u).to(self.device)

    def normal(self, stream: int, width: int) -> torch.Tensor:
        """``(N, width)`` float32 standard normals on the device (inverse CDF of uniforms)."""
        from scipy.special import ndtri

        return torch.from_numpy(ndtri(self.uniform_np(stream, width)).astype(np.float32)).to(self.device)

    def subset(self, rows: np.ndarray | torch.Tensor) -> "RowRandom":
        """The streams of some of the rows (same draws as in the full set)."""
        out = RowRandom.__new__(RowRandom)
        out.device = self.device
        rows = rows.cpu().numpy() if torch.is_tensor(rows) else np.asarray(rows)
        out._row = self._row[rows]
        out.n = len(out._row)
        return out


def row_keys(index, x: torch.Tensor, m: torch.Tensor) -> np.ndarray:
    """One uint64 key per row: a hash of its index label and its encoded cells.

    The encoded cells do not depend on the column order or on how a hole is written
    (NaN, None, ``pd.NA``), so neither changes a row's draws; identical rows with
    identical labels share a key, and nothing else about the call (chunking, the other
    rows) enters it. Arrays get their positions as labels.
    """
    import pandas as pd

    cells = np.concatenate([x.cpu().numpy(), m.cpu().numpy().astype(np.float32)], axis=1)
    content = pd.util.hash_pandas_object(pd.DataFrame(cells), index=False).to_numpy(dtype=np.uint64)
    labels = pd.util.hash_pandas_object(pd.Series(index, dtype=object) if len(index) else pd.Series([], dtype=object),
                                        index=False).to_numpy(dtype=np.uint64)
    with np.errstate(over="ignore"):
        return content ^ (labels * _GOLDEN)
