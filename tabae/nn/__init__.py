"""Neural pieces: the network, the span-vectorised losses and the training loop."""

from tabae.nn.losses import SpanIndex, cell_nll, kl_normal
from tabae.nn.network import NetConfig, TabularNet
from tabae.nn.training import resolve_device, train_network

__all__ = ["NetConfig", "TabularNet", "SpanIndex", "cell_nll", "kl_normal", "resolve_device", "train_network"]
