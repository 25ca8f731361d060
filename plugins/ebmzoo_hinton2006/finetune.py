"""Backprop fine-tuning of a deep autoencoder, with a checkpoint after every epoch.

The same loop trains the unrolled, pretrained network and the randomly initialised baseline,
so both get the same optimiser, schedule and number of updates. The learning rate is a pure
function of the step number, so a resumed run needs only the weights, the optimiser moments
and the generator state to continue exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ebmzoo import distributed
from ebmzoo.errors import ConfigError
from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
from ebmzoo_hinton2006.checkpoint import (
    load_checkpoint,
    optimizer_from_flat,
    optimizer_to_flat,
    save_checkpoint,
)
from ebmzoo_hinton2006.config import FinetuneConfig
from ebmzoo_hinton2006.metrics import batched

__all__ = ["finetune", "learning_rate_at", "loss_from_logits", "reconstruction_loss"]

logger = logging.getLogger(__name__)

Track = Callable[..., Iterator[Any]]


def learning_rate_at(step: int, total_steps: int, config: FinetuneConfig) -> float:
    """Learning rate of update ``step`` (0-based) out of ``total_steps``.

    ``"one-cycle"`` rises linearly from a tenth of the peak to the peak over the warm-up
    fraction, then follows a half cosine down to a ten-thousandth of the peak; ``"cosine"``
    is the same without warm-up; ``"constant"`` stays at the peak.
    """
    peak = config.learning_rate
    if config.schedule == "constant" or total_steps <= 1:
        return peak
    warmup = int(config.warmup_fraction * total_steps) if config.schedule == "one-cycle" else 0
    if step < warmup:
        return peak * (0.1 + 0.9 * step / warmup)
    progress = (step - warmup) / max(total_steps - warmup - 1, 1)
    floor = peak * 1e-4
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def reconstruction_loss(
    model: DeepAutoencoder, x: torch.Tensor, config: FinetuneConfig
) -> torch.Tensor:
    """Training loss of a batch ``x``, ``(batch, n_pixels)``: summed over pixels, mean over
    images.

    ``"bce"`` is the cross-entropy of the paper's MNIST experiments, computed from logits;
    ``"mse"`` is the squared error; ``"mixed"`` adds ``mse_weight`` times the squared error to
    the cross-entropy.
    """
    return loss_from_logits(model.reconstruction_logits(x), x, config, x.shape[0])


def loss_from_logits(
    logits: torch.Tensor, x: torch.Tensor, config: FinetuneConfig, n: float
) -> torch.Tensor:
    """The loss of :func:`reconstruction_loss` from the output ``logits`` of ``x``, both
    ``(batch, n_pixels)``, summed over pixels and images and divided by ``n``.

    Under data parallelism ``n`` is the global batch size over the number of processes, so
    that the gradients DistributedDataParallel averages are those of the whole batch.
    """
    if config.loss == "mse":
        return ((torch.sigmoid(logits) - x) ** 2).sum() / n
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    if config.loss == "mixed" and config.mse_weight:
        loss = loss + config.mse_weight * ((torch.sigmoid(logits) - x) ** 2).sum() / n
    return loss


class _Logits(torch.nn.Module):
    """The autoencoder with its reconstruction logits as ``forward``, which DDP wraps."""

    def __init__(self, model: DeepAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.reconstruction_logits(x)


def _data_parallel(model: DeepAutoencoder, world_size: int) -> torch.nn.Module | None:
    """``model``'s logits wrapped in DistributedDataParallel, or ``None`` on one process."""
    if world_size == 1:
        return None
    device = next(model.parameters()).device
    return torch.nn.parallel.DistributedDataParallel(
        _Logits(model), device_ids=[device.index] if device.type == "cuda" else None
    )


def _make_optimizer(model: torch.nn.Module, config: FinetuneConfig) -> torch.optim.Optimizer:
    params = list(model.parameters())
    # The fused kernels update all parameters in one pass; on a CPU this is several times
    # faster than the per-tensor loop and as deterministic.
    if config.optimizer == "adam":
        return torch.optim.AdamW(
            params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
        )
    return torch.optim.SGD(
        params,
        lr=config.learning_rate,
        momentum=0.9,
        nesterov=True,
        weight_decay=config.weight_decay,
        fused=True,
    )


def finetune(
    model: DeepAutoencoder,
    train_x: torch.Tensor,
    test_x: torch.Tensor,
    config: FinetuneConfig,
    generator: torch.Generator,
    *,
    checkpoint: Path | None = None,
    resume: bool = False,
    track: Track | None = None,
    name: str = "finetune",
    rank: int = 0,
    world_size: int = 1,
) -> tuple[list[dict[str, float]], float]:
    """Fine-tune ``model`` in place; return its per-epoch curve and the seconds spent.

    Under torch.distributed every rank passes the same arguments and takes its contiguous
    part of each global mini-batch (:func:`ebmzoo.distributed.shard_rows`); the model is
    wrapped in DistributedDataParallel, every rank ends with the same weights, and only rank 0
    writes the checkpoint.

    Args:
        model: the autoencoder, already initialised (unrolled or random).
        train_x: training images, ``(n_train, n_pixels)`` in ``[0, 1]``.
        test_x: test images, ``(n_test, n_pixels)``, only to record the test error per
            epoch (no decision depends on it).
        config: optimiser, schedule, loss and budget.
        generator: shuffles the mini-batches; its state is saved with each checkpoint.
        checkpoint: file written after every epoch; ``None`` writes none.
        resume: continue from ``checkpoint`` if it exists.
        track: wraps the epoch loop (``RunContext.track``) for a progress bar.
        name: what the log and the progress bar call this run.
        rank: this process's rank under torch.distributed (0 alone).
        world_size: number of processes (1 alone); ``config.batch_size`` is the global batch.

    Returns:
        ``(curve, seconds)``: one ``{"epoch", "train_loss", "test_mse", "learning_rate",
        "seconds"}`` per epoch, and the training time including any time before a resume.
    """
    optimizer = _make_optimizer(model, config)
    steps_per_epoch = math.ceil(len(train_x) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    curve: list[dict[str, float]] = []
    seconds = 0.0
    start_epoch = 0
    settings = asdict(config)

    if resume and checkpoint is not None and checkpoint.exists():
        tensors, state = load_checkpoint(checkpoint)
        if state["config"] != settings or state["n_train"] != len(train_x):
            raise ConfigError(
                f"checkpoint {str(checkpoint)!r} was made with another fine-tuning config or "
                "data size; resume with the config of that run, or run without --resume"
            )
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer_from_flat(optimizer, tensors, state["optimizer"], "optim")
        generator.set_state(tensors["generator"])
        curve, seconds, start_epoch = state["curve"], state["seconds"], state["epoch"]
        logger.info("%s: resuming after epoch %d of %d", name, start_epoch, config.epochs)
    if resume:
        distributed.agree(start_epoch, f"the epoch {name} resumes after")
    parallel = _data_parallel(model, world_size)

    epochs: Iterable[int] = range(start_epoch, config.epochs)
    if track is not None:
        epochs = track(epochs, desc=name, total=config.epochs - start_epoch)
    for epoch in epochs:
        began = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = torch.zeros((), dtype=torch.float64, device=train_x.device)
        step = epoch * steps_per_epoch
        for start in range(0, len(train_x), config.batch_size):
            lr = learning_rate_at(step, total_steps, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[start : start + config.batch_size]
            if parallel is None:
                batch = train_x[index]
                loss = reconstruction_loss(model, batch, config)
                share = len(batch)
            else:
                first, last = distributed.shard_rows(len(index), rank, world_size)
                batch = train_x[index[first:last]]
                share = len(index) / world_size
                loss = loss_from_logits(parallel(batch), batch, config, share)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.detach() * share
            step += 1
        distributed.all_reduce_sum_(total_loss)

        model.eval()
        test_mse = float(((batched(model, test_x) - test_x) ** 2).mean()) if len(test_x) else 0.0
        elapsed = time.perf_counter() - began
        seconds += elapsed
        curve.append(
            {
                "epoch": epoch + 1,
                "train_loss": float(total_loss) / len(train_x),
                "test_mse": test_mse,
                "learning_rate": lr,
                "seconds": elapsed,
            }
        )
        logger.info(
            "%s epoch %d/%d: train loss %.4f, test mse %.5f (%.1f s)",
            name,
            epoch + 1,
            config.epochs,
            curve[-1]["train_loss"],
            test_mse,
            elapsed,
        )
        if checkpoint is not None and rank == 0:
            opt_tensors, opt_settings = optimizer_to_flat(optimizer, "optim")
            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            tensors.update(opt_tensors)
            tensors["generator"] = generator.get_state()
            save_checkpoint(
                checkpoint,
                tensors,
                {
                    "epoch": epoch + 1,
                    "config": settings,
                    "n_train": len(train_x),
                    "curve": curve,
                    "seconds": seconds,
                    "optimizer": opt_settings,
                },
            )
    model.eval()
    return curve, seconds
