"""Model files: a zip of ``model.json`` (metadata) and ``.npy`` tensors, sealed by a SHA-256. No pickle.

Loading reads JSON and raw arrays (``allow_pickle=False``) only, so opening a model file
never runs code from it. The zip's archive comment holds ``tabae-sha256:`` and the
SHA-256 of every byte before the digest, checked before anything is parsed: any
corruption or edit of any byte (metadata, tensors or the zip structure itself) is
reported as :class:`~tabae.exceptions.ModelFileError`, never loaded as something else.
The file stays an ordinary zip (``unzip -l model.tabae`` lists it).

This module only reads and writes files; which model a file holds is decided by
:func:`tabae.load` (tabae/models/loading.py).
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

from tabae.exceptions import ModelFileError, TabaeError
from tabae.version import VERSION

__all__ = ["write_model_file", "read_model_file", "check_writable", "FORMAT_VERSION"]

FORMAT = "tabae-model"
# 3: whole-file SHA-256; the imputation blend outside the network; datetime encoders
FORMAT_VERSION = 3
_TAG = b"tabae-sha256:"
_DIGEST_LEN = 64  # hex characters


def check_writable(path) -> Path:
    """Refuse, before any work, an output path whose folder is missing or not writable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise TabaeError(f"cannot write to {str(path)!r}: it is a folder; give a file name, e.g. {str(path / 'model.tabae')!r}")
    if not folder.is_dir():
        raise TabaeError(f"cannot write to {str(path)!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise TabaeError(f"cannot write to {str(path)!r}: the folder {str(folder)!r} is not writable")
    return path


def write_model_file(path, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write ``meta`` and ``tensors`` to ``path`` atomically (a temporary file renamed at the end)."""
    path = check_writable(path)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "tabae_version": VERSION, **meta}
    try:
        text = json.dumps(meta, allow_nan=True)
    except TypeError as err:  # a value the schema check let through: a tabae bug, said plainly
        raise TabaeError(f"cannot save the model: its metadata is not JSON ({err})") from err
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", text)
        for name, tensor in tensors.items():
            blob = io.BytesIO()
            array = np.ascontiguousarray(tensor.detach().cpu().numpy())
            np.lib.format.write_array(blob, array, allow_pickle=False)
            zf.writestr(f"arrays/{name}.npy", blob.getvalue())
        zf.comment = _TAG + b"0" * _DIGEST_LEN  # placeholder, sealed below
    body = buf.getvalue()[:-_DIGEST_LEN]
    data = body + hashlib.sha256(body).hexdigest().encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_model_file(path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata and tensors of a model file, after checking its seal and format."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"no model file at {str(path)!r}")
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a folder, not a tabae model file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelFileError(f"cannot read {str(path)!r}: {err.strerror}") from err
    sealed = data[-_DIGEST_LEN - len(_TAG) : -_DIGEST_LEN] == _TAG
    if not sealed or hashlib.sha256(data[:-_DIGEST_LEN]).hexdigest().encode() != data[-_DIGEST_LEN:]:
        raise ModelFileError(_unsealed_reason(path, data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta = json.loads(zf.read("model.json"))
            _check_format(path, meta)
            tensors = {}
            for item in zf.namelist():
                if item.startswith("arrays/") and item.endswith(".npy"):
                    array = np.lib.format.read_array(io.BytesIO(zf.read(item)), allow_pickle=False)
                    tensors[item[len("arrays/") : -len(".npy")]] = torch.from_numpy(np.array(array))
    except ModelFileError:
        raise
    except Exception as err:  # sealed by tabae yet unreadable: written by a broken or foreign tool
        raise ModelFileError(f"{str(path)!r} is sealed but unreadable ({type(err).__name__}: {err})") from err
    return meta, tensors


def _unsealed_reason(path: Path, data: bytes) -> str:
    """Why a file without a valid seal is refused: an older format, damage, or not a model at all."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta = json.loads(zf.read("model.json"))
    except Exception:
        if not data.startswith(b"PK"):
            return f"{str(path)!r} is not a tabae model file (not a zip archive)"
        return f"{str(path)!r} is damaged: its SHA-256 seal does not match its bytes"
    if isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("format_version") != FORMAT_VERSION:
        return _version_message(path, meta)
    return f"{str(path)!r} was altered or damaged: its SHA-256 seal does not match its bytes"


def _check_format(path: Path, meta) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a tabae model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(_version_message(path, meta))


def _version_message(path: Path, meta: dict) -> str:
    return (
        f"{str(path)!r} was written in model format {meta.get('format_version')} by tabae "
        f"{meta.get('tabae_version')}; this tabae {VERSION} reads format {FORMAT_VERSION}. "
        "Load it with that version and refit, or refit with this one"
    )
