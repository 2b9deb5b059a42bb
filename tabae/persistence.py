"""Model files: one zip holding ``model.json`` (metadata) and ``.npy`` tensors. No pickle.

Loading reads JSON and raw arrays (``allow_pickle=False``) only, so opening a model file
never runs code from it. Every array is listed in the metadata with its SHA-256, so a
truncated or edited file is reported as such instead of loading garbage.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from tabae._version import __version__
from tabae.exceptions import ModelFileError

__all__ = ["save_model", "load"]

FORMAT = "tabae-model"
FORMAT_VERSION = 2  # 2: blend buffers (blend_pos/blend_weights/bank_*), autoregressive decoder


def _model_classes() -> dict:
    from tabae.models import Autoencoder, DenoisingAE, TabularVAE

    return {c.__name__: c for c in (Autoencoder, DenoisingAE, TabularVAE)}


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` atomically (a temporary file renamed at the end)."""
    tensors = {f"net/{k}": v for k, v in model.net_.state_dict().items()}
    tensors.update({f"extra/{k}": v for k, v in model._extra_tensors().items()})
    arrays = {name: t.detach().cpu().numpy() for name, t in tensors.items()}
    params = model.get_params(deep=False)
    params["hidden_dims"] = list(params["hidden_dims"])
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tabae_version": __version__,
        "class": type(model).__name__,
        "params": params,
        "net_config": model.net_.config.to_dict(),
        "encoder": model.encoder_.get_state(),
        "fitted": {"history": model.history_, "epochs": model.epochs_, "score_offsets": model.score_offsets_},
        "arrays": {},
    }
    blobs = {}
    for name, array in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
        blobs[name] = buf.getvalue()
        meta["arrays"][name] = hashlib.sha256(blobs[name]).hexdigest()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("model.json", json.dumps(meta, allow_nan=True))
            for name, blob in blobs.items():
                zf.writestr(f"arrays/{name}.npy", blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path, device: str = "auto"):
    """Load a model saved with ``model.save(path)``; tensors go to ``device``.

    Examples
    --------
    >>> import tabae, tempfile, os
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> path = os.path.join(tempfile.mkdtemp(), "adult.tabae")
    >>> model.save(path)
    >>> tabae.load(path).score(df.head(3)).shape
    (3,)
    """
    from tabae.encoding import TableEncoder
    from tabae.nn.losses import SpanIndex
    from tabae.nn.network import NetConfig, TabularNet
    from tabae.nn.training import resolve_device

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"no model file at {str(path)!r}")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise ModelFileError(f"{str(path)!r} is not a tabae model file (not a zip archive)") from err
    with zf:
        try:
            meta = json.loads(zf.read("model.json"))
        except (KeyError, ValueError) as err:
            raise ModelFileError(f"{str(path)!r} has no readable model.json; is it a tabae model file?") from err
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{str(path)!r} is not a tabae model file (format {meta.get('format')!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{str(path)!r} was written in model format {meta.get('format_version')} by tabae "
                f"{meta.get('tabae_version')}; this tabae {__version__} reads format {FORMAT_VERSION}. "
                "Load it with that version and refit, or refit with this one"
            )
        classes = _model_classes()
        if meta.get("class") not in classes:
            raise ModelFileError(f"{str(path)!r} holds an unknown model class {meta.get('class')!r}")
        arrays = {}
        for name, digest in meta["arrays"].items():
            try:
                blob = zf.read(f"arrays/{name}.npy")
            except KeyError as err:
                raise ModelFileError(f"{str(path)!r} is missing tensor {name!r}; the file is damaged") from err
            if hashlib.sha256(blob).hexdigest() != digest:
                raise ModelFileError(f"{str(path)!r}: tensor {name!r} does not match its checksum; the file was altered")
            arrays[name] = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)

    try:
        params = dict(meta["params"])
        params["hidden_dims"] = tuple(params["hidden_dims"])
        params["device"] = device
        model = classes[meta["class"]](**params)
        dev = resolve_device(device)
        encoder = TableEncoder.from_state(meta["encoder"])
        net = TabularNet(NetConfig.from_dict(meta["net_config"]))
        net.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("net/")})
    except (KeyError, TypeError, RuntimeError) as err:
        raise ModelFileError(f"{str(path)!r} is inconsistent ({err}); the file is damaged or from another tabae") from err
    model.encoder_ = encoder
    model.net_ = net.to(dev).eval()
    model.device_ = dev
    model.span_index_ = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_).to(dev)
    model.missing_rates_ = torch.tensor(encoder.missing_rates_, dtype=torch.float32, device=dev)
    model.history_ = meta["fitted"]["history"]
    model.epochs_ = meta["fitted"]["epochs"]
    model.score_offsets_ = meta["fitted"]["score_offsets"]
    model.n_features_in_ = len(encoder.schema_)
    model.feature_names_in_ = np.asarray(encoder.schema_.names, dtype=object)
    model._n_features_out = model.latent_dim
    model._set_extra_tensors({k[6:]: torch.from_numpy(v).to(dev) for k, v in arrays.items() if k.startswith("extra/")})
    return model
