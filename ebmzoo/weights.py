"""Saving and loading registered models as safetensors files.

A weights file holds the model's tensors and, in its metadata, everything needed to rebuild
the model with no other argument: the registered model name, its config (JSON), the format
version and the ebmzoo version. Loading is strict: a file that is truncated, corrupt, foreign,
or whose tensors do not match the config fails with one :class:`~ebmzoo.errors.WeightsError`
and never returns a half-loaded model. Writes are atomic. No pickle is involved anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from ebmzoo.errors import EbmzooError, WeightsError
from ebmzoo.io import atomic_write_bytes
from ebmzoo.model import Model

__all__ = [
    "FORMAT_VERSION",
    "KEY_CONFIG",
    "KEY_MODEL",
    "check_tensors",
    "load_model",
    "read_tensors",
    "save_model",
    "write_tensors",
]

FORMAT_VERSION = "1"
KEY_FORMAT = "ebmzoo.format"
KEY_VERSION = "ebmzoo.version"
KEY_MODEL = "ebmzoo.model"
KEY_CONFIG = "ebmzoo.config"


def write_tensors(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write tensors and string metadata to a safetensors file, atomically.

    Tensors are made contiguous and moved to the CPU first; tensors sharing memory are copied
    (safetensors refuses shared storage). Used for weights and for checkpoints alike.
    """
    from ebmzoo import __version__

    meta = {KEY_FORMAT: FORMAT_VERSION, KEY_VERSION: __version__}
    meta.update(metadata or {})
    cpu = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    path = Path(path)
    atomic_write_bytes(path, save_bytes(cpu, metadata=meta))
    return path


def read_tensors(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read every tensor and the metadata of an ebmzoo safetensors file.

    Raises:
        WeightsError: the file is missing, not safetensors, truncated, or not written by ebmzoo.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"weights file {str(path)!r} does not exist; check the path") from None
    except IsADirectoryError:
        raise WeightsError(f"{str(path)!r} is a folder, not a weights file") from None
    metadata = _header_metadata(path, data)
    try:
        tensors = load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise WeightsError(
            f"{str(path)!r} is corrupt or truncated ({_first_line(err)}); download or save it again"
        ) from None
    if metadata.get(KEY_FORMAT) is None:
        raise WeightsError(
            f"{str(path)!r} is a safetensors file but not one written by ebmzoo (no "
            f"{KEY_FORMAT!r} metadata); save it with ebmzoo.save_model"
        )
    if metadata[KEY_FORMAT] != FORMAT_VERSION:
        raise WeightsError(
            f"{str(path)!r} uses weights format {metadata[KEY_FORMAT]!r}, this ebmzoo reads "
            f"{FORMAT_VERSION!r}; upgrade ebmzoo"
        )
    return tensors, metadata


def save_model(
    model: Model,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, str] | None = None,
    registry: Any = None,
) -> Path:
    """Save a registered model to ``path`` (``.safetensors``), atomically.

    Args:
        model: an instance of a class registered through ``ebmzoo_models``.
        path: where to write; the folder is created.
        metadata: extra string metadata (e.g. the recipe that produced the weights).
        registry: the registry to name the model with (default: the process-wide one).

    Returns:
        The path written.
    """
    from ebmzoo.registry import get_registry

    registry = registry or get_registry()
    name = registry.model_name_of(model)
    meta = dict(metadata or {})
    meta[KEY_MODEL] = name
    meta[KEY_CONFIG] = json.dumps(model.config, sort_keys=True)
    return write_tensors(path, model.state_dict(), meta)


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    registry: Any = None,
) -> Model:
    """Rebuild the model saved in ``path`` through the registry and load its tensors strictly.

    Raises:
        WeightsError: the file is unreadable, names an unknown model, or its tensors do not
            match the shapes and dtypes its config implies.
    """
    from ebmzoo.registry import get_registry

    registry = registry or get_registry()
    tensors, metadata = read_tensors(path)
    model_name = metadata.get(KEY_MODEL)
    if model_name is None or KEY_CONFIG not in metadata:
        raise WeightsError(
            f"{str(path)!r} holds tensors but no model name or config; it is a checkpoint, "
            "not model weights"
        )
    try:
        config = json.loads(metadata[KEY_CONFIG])
    except ValueError:
        raise WeightsError(f"{str(path)!r} has an unreadable config in its metadata") from None
    try:
        entry = registry.model(model_name)
    except EbmzooError as err:
        raise WeightsError(
            f"{str(path)!r} holds a {model_name!r} model, which no installed plugin provides "
            f"({err}); install the plugin that registers it"
        ) from None
    try:
        model = entry.factory.from_config(config)
    except EbmzooError:
        raise
    except Exception as err:
        raise WeightsError(
            f"{str(path)!r}: cannot rebuild {model_name!r} from its config {config}: "
            f"{_first_line(err)}"
        ) from None

    check_tensors(path, model, tensors)
    model.load_state_dict(tensors, strict=True)
    return model.to(device)


def check_tensors(path: Any, model: torch.nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Raise WeightsError unless ``tensors`` match ``model``'s names, shapes and dtypes."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{str(path)!r} does not match its config: missing tensors {missing}, "
            f"unexpected tensors {unexpected}"
        )
    for name, want in expected.items():
        got = tensors[name]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise WeightsError(
                f"{str(path)!r}: tensor {name!r} is {tuple(got.shape)} {got.dtype}, but the config "
                f"implies {tuple(want.shape)} {want.dtype}; the file does not match its config"
            )


def _header_metadata(path: Path, data: bytes) -> dict[str, str]:
    """Parse the safetensors header ourselves, to tell foreign files from corrupt ones."""
    if len(data) < 8:
        raise WeightsError(f"{str(path)!r} is empty or truncated; download or save it again")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise WeightsError(
            f"{str(path)!r} is not a safetensors file or is truncated (header of {size} bytes in "
            f"a {len(data)}-byte file); download or save it again"
        )
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError:
        raise WeightsError(f"{str(path)!r} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{str(path)!r} is not a safetensors file (unreadable header)")
    metadata = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in metadata.items()}


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
