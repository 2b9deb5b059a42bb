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
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    raise TabaeError(f"random_state={random_state!r}; pass None, a non-negative int or a numpy Generator")


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
