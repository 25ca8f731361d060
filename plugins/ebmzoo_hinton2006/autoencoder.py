"""The deep autoencoder that an unrolled RBM stack initialises.

Encoder and decoder are mirror images: logistic units in every hidden layer, a linear code
layer, and logistic output units whose logits are exposed so that fine-tuning can use a
cross-entropy loss without computing ``log(sigmoid(.))`` twice. Encoder and decoder weights
are separate parameters, as in the paper, so fine-tuning may move them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ebmzoo.errors import ConfigError
from ebmzoo.model import Model

__all__ = ["DeepAutoencoder"]


class DeepAutoencoder(Model):
    """A symmetric deep autoencoder with a linear code layer.

    Args:
        layer_sizes: widths from the input to the code, e.g. ``(784, 1000, 500, 250, 30)``.
        linear_code: whether the code units are linear (True, as in the paper) or logistic.

    Shapes: inputs and reconstructions are ``(batch, layer_sizes[0])``, codes are
    ``(batch, layer_sizes[-1])``.

    Parameters: ``encoder.{i}.weight`` is ``(layer_sizes[i+1], layer_sizes[i])`` (the RBM's
    ``weight`` transposed) and ``decoder.{i}.weight`` mirrors it, where decoder layer ``i``
    maps the code side back towards the input, so ``decoder.{L-1}`` produces the output.
    """

    def __init__(self, layer_sizes: Sequence[int], linear_code: bool = True) -> None:
        super().__init__()
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError(
                f"layer_sizes={sizes} needs at least two positive widths, e.g. [784, 500, 30]"
            )
        self.layer_sizes = sizes
        self.linear_code = bool(linear_code)
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        self.encoder = torch.nn.ModuleList(torch.nn.Linear(n_in, n_out) for n_in, n_out in pairs)
        self.decoder = torch.nn.ModuleList(
            torch.nn.Linear(n_out, n_in) for n_in, n_out in reversed(pairs)
        )

    @property
    def config(self) -> dict[str, Any]:
        """``{"layer_sizes": [...], "linear_code": bool}``."""
        return {"layer_sizes": list(self.layer_sizes), "linear_code": self.linear_code}

    @property
    def code_size(self) -> int:
        """Width of the code layer."""
        return self.layer_sizes[-1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of inputs ``x``: ``(batch, n_input)`` in, ``(batch, code_size)`` out."""
        h = x
        last = len(self.encoder) - 1
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if i < last or not self.linear_code:
                h = torch.sigmoid(h)
        return h

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        """Output logits of codes: ``(batch, code_size)`` in, ``(batch, n_input)`` out."""
        h = code
        last = len(self.decoder) - 1
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < last:
                h = torch.sigmoid(h)
        return h

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Reconstructions in ``[0, 1]`` of codes, ``(batch, n_input)``."""
        return torch.sigmoid(self.decode_logits(code))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions in ``[0, 1]`` of inputs ``x``, ``(batch, n_input)``."""
        return self.decode(self.encode(x))

    def reconstruction_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Output logits of the reconstruction of ``x``, for a cross-entropy loss."""
        return self.decode_logits(self.encode(x))

    @torch.no_grad()
    def reset_normal_(self, std: float, generator: torch.Generator) -> None:
        """Draw every weight from ``N(0, std)`` and zero every bias, in place."""
        for layer in [*self.encoder, *self.decoder]:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)
            layer.bias.zero_()

    @torch.no_grad()
    def reset_uniform_(self, generator: torch.Generator) -> None:
        """Draw weights and biases from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, in place.

        This is the distribution of PyTorch's default ``Linear`` initialisation, drawn from
        ``generator`` instead of the global random state.
        """
        for layer in [*self.encoder, *self.decoder]:
            bound = layer.in_features**-0.5
            for p in (layer.weight, layer.bias):
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
