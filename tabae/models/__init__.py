"""The model classes: one shared base and its variants."""

from tabae.models.base import BaseAutoencoder
from tabae.models.variants import Autoencoder, DenoisingAE, TabularVAE

__all__ = ["BaseAutoencoder", "Autoencoder", "DenoisingAE", "TabularVAE"]
