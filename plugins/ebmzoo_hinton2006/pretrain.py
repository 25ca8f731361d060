"""Greedy layer-wise pretraining of the RBM stack, with a checkpoint after every epoch.

Layer ``i`` is an RBM from ``layer_sizes[i]`` to ``layer_sizes[i+1]`` visible and hidden units
trained by contrastive divergence on the hidden probabilities of the layer below (the images
for the first layer). Hidden units are binary except in the top layer, whose linear units with
Gaussian noise become the code (Hinton & Salakhutdinov 2006, supporting notes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ebmzoo import distributed
from ebmzoo.errors import ConfigError
from ebmzoo_hinton2006.checkpoint import load_checkpoint, save_checkpoint
from ebmzoo_hinton2006.config import PretrainConfig
from ebmzoo_hinton2006.seeding import generator_for
from ebmzoo_hinton2006.stacker import AutoencoderStacker

__all__ = ["build_rbm", "pretrain_stack"]

logger = logging.getLogger(__name__)

Track = Callable[..., Iterator[Any]]


def build_rbm(n_visible: int, n_hidden: int, top: bool, config: PretrainConfig, generator):
    """A fresh RBM for one layer: Gaussian hidden units on top, binary ones below."""
    from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM

    cls = GaussianHiddenRBM if top else BernoulliRBM
    return cls(n_visible, n_hidden, init_std=config.init_std, generator=generator)


def _trainer(
    model, top: bool, config: PretrainConfig, generator: torch.Generator, rank: int, world_size: int
):
    from ebmzoo_rbm.parallel import DataParallelRBMTrainer
    from ebmzoo_rbm.samplers import ContrastiveDivergence
    from ebmzoo_rbm.training import RBMTrainer, TrainConfig

    train_config = TrainConfig(
        epochs=max(config.epochs, 1),
        batch_size=config.batch_size,
        learning_rate=config.top_learning_rate if top else config.learning_rate,
        weight_cost=config.weight_cost,
        initial_momentum=config.initial_momentum,
        final_momentum=config.final_momentum,
        momentum_switch_epoch=config.momentum_switch_epoch,
        monitor_size=config.monitor_size,
    )
    sampler = ContrastiveDivergence(k=config.cd_k)
    if world_size == 1:
        return RBMTrainer(model, sampler, train_config, generator)
    return DataParallelRBMTrainer(
        model, sampler, train_config, generator, rank=rank, world_size=world_size
    )


def pretrain_stack(
    train_x: torch.Tensor,
    layer_sizes: list[int],
    config: PretrainConfig,
    seed: int,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    track: Track | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[list[Any], list[list[dict[str, Any]]], list[float]]:
    """Train one RBM per pair of adjacent ``layer_sizes``, bottom first.

    Under torch.distributed every rank passes the same arguments; each RBM step is shared
    between the ranks (:class:`~ebmzoo_rbm.parallel.DataParallelRBMTrainer`), every rank ends
    with the same RBMs, and only rank 0 writes checkpoints.

    Args:
        train_x: training images, ``(n_train, layer_sizes[0])`` in ``[0, 1]``.
        layer_sizes: widths from the input to the code, e.g. ``[784, 1000, 500, 250, 30]``.
        config: the RBM hyperparameters.
        seed: the run's seed; layer ``i`` draws from ``generator_for(seed, "rbm", i)``.
        checkpoint_dir: folder of ``rbm{i}.safetensors`` checkpoints; ``None`` writes none.
        resume: continue from the checkpoints in ``checkpoint_dir``.
        track: wraps each layer's epoch loop for a progress bar.
        rank: this process's rank under torch.distributed (0 alone).
        world_size: number of processes (1 alone).

    Returns:
        ``(models, curves, seconds)``: the trained RBMs, each layer's per-epoch statistics
        (``EpochStats.as_dict()``), and each layer's training seconds (including time spent
        before a resume).
    """
    stacker = AutoencoderStacker()
    models: list[Any] = []
    curves: list[list[dict[str, Any]]] = []
    seconds: list[float] = []
    settings = asdict(config)
    data = train_x
    n_layers = len(layer_sizes) - 1
    for depth in range(n_layers):
        n_visible, n_hidden = layer_sizes[depth], layer_sizes[depth + 1]
        top = depth == n_layers - 1
        generator = generator_for(seed, "rbm", depth)
        model = build_rbm(n_visible, n_hidden, top, config, generator)
        trainer = _trainer(model, top, config, generator, rank, world_size)
        curve: list[dict[str, Any]] = []
        spent = 0.0

        path = None if checkpoint_dir is None else checkpoint_dir / f"rbm{depth + 1}.safetensors"
        if resume and path is not None and path.exists():
            tensors, state = load_checkpoint(path)
            if state["config"] != settings or state["shape"] != [len(data), n_visible, n_hidden]:
                raise ConfigError(
                    f"checkpoint {str(path)!r} was made with another pretraining config or "
                    "data size; resume with the config of that run, or run without --resume"
                )
            model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            trainer.load_state_dict(
                {k[8:]: v for k, v in tensors.items() if k.startswith("trainer.")}
            )
            curve, spent = state["curve"], state["seconds"]
            logger.info("RBM %d: resuming after epoch %d", depth + 1, trainer.epoch)
        if resume:
            distributed.agree(trainer.epoch, f"the epoch RBM {depth + 1} resumes after")

        epochs: Iterable[int] = range(trainer.epoch, config.epochs)
        if track is not None:
            epochs = track(
                epochs, desc=f"RBM {n_visible}-{n_hidden}", total=config.epochs - trainer.epoch
            )
        for _ in epochs:
            stats = trainer.train_epoch(data)
            curve.append(stats.as_dict())
            spent += stats.seconds
            logger.info(
                "RBM %d (%d-%d) epoch %d/%d: reconstruction error %.4f (%.1f s)",
                depth + 1,
                n_visible,
                n_hidden,
                stats.epoch,
                config.epochs,
                stats.reconstruction_error,
                stats.seconds,
            )
            if path is not None and rank == 0:
                tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
                tensors.update({f"trainer.{k}": v for k, v in trainer.state_dict().items()})
                state = {
                    "config": settings,
                    "shape": [len(data), n_visible, n_hidden],
                    "curve": curve,
                    "seconds": spent,
                }
                save_checkpoint(path, tensors, state)

        models.append(model)
        curves.append(curve)
        seconds.append(spent)
        if not top:
            data = stacker.next_layer_data(model, data)
    return models, curves, seconds
