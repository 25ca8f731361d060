"""Stacking for Hinton & Salakhutdinov (2006): hidden probabilities up, an autoencoder out.

Each trained RBM passes the means of its hidden units to the next one. Unrolling puts every
RBM twice into a :class:`~ebmzoo_hinton2006.autoencoder.DeepAutoencoder`: once in the encoder
(weights ``W``, hidden biases) and once, mirrored, in the decoder (weights ``W^T``, visible
biases). The copies are independent parameters from then on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ebmzoo.energy import EnergyModel
from ebmzoo.errors import ConfigError
from ebmzoo.stacking import Stacker
from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
from ebmzoo_hinton2006.metrics import batched

__all__ = ["AutoencoderStacker"]


class AutoencoderStacker(Stacker):
    """Hidden means as next-layer data; an RBM stack unrolled into a deep autoencoder.

    The stack must hold RBMs with a ``weight`` of shape ``(n_visible, n_hidden)``, a
    ``visible_bias`` and a ``hidden_bias``, and logistic visible units. Every layer but the
    top must have binary (logistic) hidden units; the top layer's hidden units become the
    code layer, linear if its hidden units are real-valued (``hidden_is_binary = False``).

    Args:
        batch_size: rows per matrix product in :meth:`next_layer_data`, to bound memory.
    """

    def __init__(self, batch_size: int = 10000) -> None:
        self.batch_size = batch_size

    def next_layer_data(self, model: EnergyModel, visible: torch.Tensor) -> torch.Tensor:
        """Hidden means ``E[h | v]`` of ``visible``: ``(batch, n_visible)`` in, ``(batch,
        n_hidden)`` out."""
        return batched(model.hidden_mean, visible, self.batch_size)

    def unroll(self, models: Sequence[EnergyModel]) -> DeepAutoencoder:
        """The autoencoder whose encoder and decoder are initialised from ``models``.

        Args:
            models: the trained stack, bottom first.

        Raises:
            ConfigError: the stack is empty, layer widths do not chain, or a layer below the
                top has real-valued hidden units.
        """
        if not models:
            raise ConfigError("cannot unroll an empty stack; train at least one RBM first")
        for below, above in zip(models[:-1], models[1:], strict=False):
            if below.n_hidden != above.n_visible:
                raise ConfigError(
                    f"stack does not chain: a layer with {below.n_hidden} hidden units is "
                    f"followed by one with {above.n_visible} visible units; match the widths"
                )
        for depth, model in enumerate(models[:-1]):
            if not getattr(model, "hidden_is_binary", True):
                raise ConfigError(
                    f"layer {depth} has real-valued hidden units, but only the top layer may; "
                    "use binary hidden units below the code layer"
                )
        sizes = [models[0].n_visible, *(m.n_hidden for m in models)]
        linear_code = not getattr(models[-1], "hidden_is_binary", True)
        autoencoder = DeepAutoencoder(sizes, linear_code=linear_code)

        with torch.no_grad():
            for depth, model in enumerate(models):
                weight = model.weight.detach().to(torch.float32)
                encoder = autoencoder.encoder[depth]
                decoder = autoencoder.decoder[len(models) - 1 - depth]
                encoder.weight.copy_(weight.T)
                encoder.bias.copy_(model.hidden_bias.detach())
                decoder.weight.copy_(weight)
                decoder.bias.copy_(model.visible_bias.detach())
        return autoencoder
