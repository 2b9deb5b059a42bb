"""The model classes: one shared base and its variants, and ``load`` for their files."""

from tabae.models.base import BaseAutoencoder
from tabae.models.loading import load
from tabae.models.variants import Autoencoder, DenoisingAE, TabularVAE

__all__ = ["BaseAutoencoder", "Autoencoder", "DenoisingAE", "TabularVAE", "load"]
