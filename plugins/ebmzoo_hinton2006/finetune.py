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

__all__ = ["finetune", "learning_rate_at", "reconstruction_loss"]

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
    logits = model.reconstruction_logits(x)
    n = x.shape[0]
    if config.loss == "mse":
        return ((torch.sigmoid(logits) - x) ** 2).sum() / n
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    if config.loss == "mixed" and config.mse_weight:
        loss = loss + config.mse_weight * ((torch.sigmoid(logits) - x) ** 2).sum() / n
    return loss


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
) -> tuple[list[dict[str, float]], float]:
    """Fine-tune ``model`` in place; return its per-epoch curve and the seconds spent.

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

    epochs: Iterable[int] = range(start_epoch, config.epochs)
    if track is not None:
        epochs = track(epochs, desc=name, total=config.epochs - start_epoch)
    for epoch in epochs:
        began = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = torch.zeros((), dtype=torch.float64)
        step = epoch * steps_per_epoch
        for start in range(0, len(train_x), config.batch_size):
            lr = learning_rate_at(step, total_steps, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = train_x[order[start : start + config.batch_size]]
            loss = reconstruction_loss(model, batch, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.detach() * len(batch)
            step += 1

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
        if checkpoint is not None:
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
