"""The one training loop: shuffled mini-batches, a validation split, early stopping on it,
the best weights kept, and a progress bar.

The model supplies two hooks, so that every variant trains with this same loop:
``corrupt(m) -> hide`` (which observed cells to hide from the input) and
``loss(x, m, hide, progress, training) -> (loss, parts)``.
"""

from __future__ import annotations

import copy
import math
import sys
from typing import Callable

import torch

__all__ = ["resolve_device", "train_network", "auto_epochs", "validation_size"]


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``/``"cuda"`` as given."""
    from tabae.exceptions import TabaeError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise TabaeError(f"device={device!r} is not one of 'auto', 'cpu', 'cuda'")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise TabaeError(f"device={device!r} but CUDA is not available here; use device='cpu' or 'auto'")
    return torch.device(device)


def auto_epochs(n_rows: int, batch_size: int, target_steps: int = 3000, validation_fraction: float | None = None) -> int:
    """Enough epochs for about ``target_steps`` optimiser steps, within [20, 1000].

    With ``validation_fraction`` the steps are counted as training takes them: on the
    rows left after the validation split, in the smaller batches small tables get
    (:func:`effective_batch_size`). Without it, as ``ceil(n_rows / batch_size)`` steps an
    epoch, which overcounts small tables' epochs (the imputer's budgets were measured so).
    """
    if validation_fraction is None:
        per_epoch = max(1, math.ceil(n_rows / batch_size))
    else:
        per_epoch = steps_per_epoch(n_rows, batch_size, validation_fraction)
    return int(min(1000, max(20, math.ceil(target_steps / per_epoch))))


def steps_per_epoch(n_rows: int, batch_size: int, validation_fraction: float) -> int:
    """Optimiser steps an epoch of :func:`train_network` takes on a table of ``n_rows``."""
    n_train = max(1, n_rows - validation_size(n_rows, validation_fraction))
    return max(1, math.ceil(n_train / effective_batch_size(n_train, batch_size)))


def effective_batch_size(n_train: int, batch_size: int) -> int:
    """The batch training uses: small tables get smaller batches (at least ~8 steps an
    epoch), since a few hundred rows in one batch would give one noisy step per epoch
    and stop early for lack of steps."""
    return max(1, min(batch_size, max(32, n_train // 8), n_train))


def validation_size(n_rows: int, validation_fraction: float) -> int:
    """Rows held out for early stopping. Tiny tables have no rows to spare: they train on
    all of them and stop on the training loss."""
    return int(round(validation_fraction * n_rows)) if n_rows >= 50 else 0


def train_network(
    net: torch.nn.Module,
    X: torch.Tensor,
    M: torch.Tensor,
    *,
    corrupt: Callable,
    loss: Callable,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    validation_fraction: float,
    patience: int,
    warmup_epochs: int = 0,
    lr_schedule: str = "constant",
    max_grad_norm: float = 10.0,
    verbose: bool = True,
    desc: str = "fit",
    on_epoch: Callable[[dict], None] | None = None,
    stream: Callable | None = None,
) -> tuple[list[dict], torch.Tensor]:
    """Train ``net`` in place; return the per-epoch history (train and validation loss)
    and the indices of the validation rows (empty for tiny tables).

    ``on_epoch(record)`` is called after every epoch with that epoch's history record
    (``epoch``, ``train_loss`` and, with a validation split, ``val_loss``); the tuner
    reports it to Optuna, whose pruner may stop the trial by raising from it.

    ``stream(val_idx, batch_size, device)``, when given, supplies the training
    minibatches ``(x, m)`` instead of ``X``'s training rows (an input larger than memory:
    tabae/batch/training_stream.py); ``X`` and ``M`` are then an in-memory sample of it,
    which gives the validation rows (left out of the stream) and the size of an epoch.
    """
    n = X.shape[0]
    order = torch.randperm(n, device=X.device)
    n_val = validation_size(n, validation_fraction)
    val_idx, train_idx = order[:n_val], order[n_val:]
    batch_size = effective_batch_size(len(train_idx), batch_size)
    if n_val:
        X_val, M_val = X[val_idx], M[val_idx]
        hide_val = corrupt(M_val)  # drawn once, so validation losses compare across epochs

    optimizer = adamw(net.parameters(), learning_rate, weight_decay)
    best, best_state, bad_epochs, history = math.inf, None, 0, []
    total_steps = epochs * max(1, math.ceil(len(train_idx) / batch_size))
    step = 0
    bar = _progress(epochs, verbose, desc)
    streamed = stream(val_idx, batch_size, X.device) if stream is not None else None
    for epoch in range(epochs):
        net.train()
        total, count = 0.0, 0
        for xb, mb in _epoch_batches(X, M, train_idx, batch_size, streamed):
            value, _ = loss(xb, mb, corrupt(mb), epoch, True)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), max_grad_norm)
            optimizer.step(learning_rate * _rate_factor(lr_schedule, step, total_steps))
            step += 1
            total += float(value.detach()) * len(xb)
            count += len(xb)
        record = {"epoch": epoch + 1, "train_loss": total / max(count, 1)}
        monitored = record["train_loss"]
        if n_val:
            net.eval()
            with torch.no_grad():
                val = sum(
                    float(loss(X_val[s : s + 4096], M_val[s : s + 4096], hide_val[s : s + 4096], None, False)[0])
                    * len(X_val[s : s + 4096])
                    for s in range(0, n_val, 4096)
                ) / n_val
            record["val_loss"] = monitored = val
        history.append(record)
        if on_epoch is not None:
            on_epoch(dict(record))
        if bar is not None:
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k != "epoch"}, refresh=False)
            bar.update()
        if monitored < best - 1e-4 * abs(best) or best_state is None:
            best, best_state, bad_epochs = monitored, copy.deepcopy(net.state_dict()), 0
        elif epoch >= warmup_epochs:
            bad_epochs += 1
            if bad_epochs > patience:
                break
    if bar is not None:
        bar.close()
    net.load_state_dict(best_state)
    net.eval()
    return history, val_idx


def _epoch_batches(X, M, train_idx, batch_size, streamed):
    """One epoch's minibatches: the training rows reshuffled, or as many batches from the
    stream (an epoch is then the in-memory sample's worth of steps)."""
    if streamed is not None:
        for _ in range(max(1, math.ceil(len(train_idx) / batch_size))):
            yield next(streamed)
        return
    perm = train_idx[torch.randperm(len(train_idx), device=X.device)]
    for start in range(0, len(perm), batch_size):
        idx = perm[start : start + batch_size]
        if len(idx) < 2 and len(perm) > 1:
            continue  # a lone leftover row makes a noisy step; it is seen next epoch
        yield X[idx], M[idx]


def _rate_factor(lr_schedule: str, step: int, total_steps: int) -> float:
    """The learning rate of step ``step`` as a share of the initial one.

    ``"cosine"`` decays to 0 over the planned steps (early stopping may end sooner): a
    cosine decay from a high rate beat a constant low one on the imputation benchmark
    (docs/benchmarks.md).
    """
    if lr_schedule != "cosine":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(1.0, step / total_steps)))


def adamw(params, learning_rate: float, weight_decay: float) -> "FusedAdamW | TorchAdamW":
    """AdamW, fused into one kernel where this torch build and device have it.

    On small networks the per-tensor update loop cost more than the forward and backward
    passes together (a 512-wide step went from 12 to 5 ms on one core with the fused
    kernel).
    """
    params = list(params)
    if FusedAdamW.supports(params):
        return FusedAdamW(params, learning_rate, weight_decay)
    return TorchAdamW(params, learning_rate, weight_decay)


class FusedAdamW:
    """``torch.optim.AdamW(fused=True)``'s update, called directly.

    Same kernel, same state, same arguments, so the same weights bit for bit (tested).
    Why not the class itself: its ``step`` is wrapped to keep ``torch.compile`` out, and
    the first call imports ``torch._dynamo``, which costs about a second in every new
    process (a CLI job, a notebook's first fit: as long as a small table's whole fit);
    the wrappers also cost a little on every step.
    """

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, params, learning_rate: float, weight_decay: float):
        self.params = list(params)
        self.weight_decay = weight_decay
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def supports(params) -> bool:
        return hasattr(torch, "_fused_adamw_") and all(
            p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params
        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update at learning rate ``lr``, of the parameters that have a gradient."""
        live = [p for p in self.params if p.grad is not None]
        if not live:
            return
        for p in live:
            if id(p) not in self.state:  # as torch does: a float32 step count on the device
                self.state[id(p)] = (
                    torch.zeros((), dtype=torch.float32, device=p.device),
                    torch.zeros_like(p, memory_format=torch.preserve_format),
                    torch.zeros_like(p, memory_format=torch.preserve_format),
                )
        steps, exp_avgs, exp_avg_sqs = (list(t) for t in zip(*(self.state[id(p)] for p in live), strict=True))
        torch._foreach_add_(steps, 1)
        torch._fused_adamw_(
            live, [p.grad for p in live], exp_avgs, exp_avg_sqs, [], steps,
            amsgrad=False, lr=lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay,
            eps=self.eps, maximize=False, grad_scale=None, found_inf=None,
        )


class TorchAdamW:
    """``torch.optim.AdamW`` behind :class:`FusedAdamW`'s interface (older torch, other devices)."""

    def __init__(self, params, learning_rate: float, weight_decay: float):
        self.optimizer = torch.optim.AdamW(list(params), lr=learning_rate, weight_decay=weight_decay)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()


def _progress(total: int, verbose: bool, desc: str):
    if not verbose or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", leave=False)
