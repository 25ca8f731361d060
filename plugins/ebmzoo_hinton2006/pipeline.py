"""The Hinton & Salakhutdinov (2006) pipeline: pretrain, unroll, fine-tune, compare, report.

:func:`run` is the run function of every recipe of this plugin. It pretrains the RBM stack,
fine-tunes the unrolled autoencoder, trains the same architecture from random weights with the
same budget ("naive"), fits PCA with the same code size, and evaluates all three on the same
test images. Everything it writes lands in the run directory; each training epoch ends with a
checkpoint, so a killed run continues with ``resume`` and ends with the same weights.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from ebmzoo import distributed
from ebmzoo.config import to_mapping
from ebmzoo.datasets import Dataset, DatasetRequest
from ebmzoo.errors import ConfigError
from ebmzoo.recipes import RunContext
from ebmzoo_hinton2006 import figures
from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
from ebmzoo_hinton2006.baselines import fit_pca
from ebmzoo_hinton2006.config import Hinton2006Config
from ebmzoo_hinton2006.data import limit
from ebmzoo_hinton2006.finetune import finetune
from ebmzoo_hinton2006.metrics import batched, knn_accuracy, reconstruction_errors
from ebmzoo_hinton2006.pretrain import pretrain_stack
from ebmzoo_hinton2006.seeding import generator_for
from ebmzoo_hinton2006.stacker import AutoencoderStacker

__all__ = ["load_data", "run"]

logger = logging.getLogger(__name__)


def load_data(config: Hinton2006Config, ctx: RunContext) -> Dataset:
    """The registered data set ``config.data.name``, cut to the configured limits."""
    from ebmzoo.registry import get_registry

    entry = get_registry().dataset(config.data.name)
    dataset = entry.load(DatasetRequest(root=ctx.data_root, download=config.data.download))
    dataset = limit(dataset, config.data.train_limit, config.data.test_limit)
    width = dataset.train_x.shape[1]
    if config.model.layer_sizes[0] != width:
        raise ConfigError(
            f"model.layer_sizes starts with {config.model.layer_sizes[0]}, but {dataset.name} "
            f"images have {width} pixels; set model.layer_sizes=[{width},...]"
        )
    return dataset


def _save_model(model: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    from ebmzoo.weights import save_model

    save_model(model, path, metadata=metadata)


def run(config: Hinton2006Config, ctx: RunContext) -> dict[str, Any]:
    """Run the whole pipeline in ``ctx.out_dir``; return the metrics written to metrics.json.

    Files written: ``rbm{i}.safetensors`` (each pretrained layer),
    ``autoencoder-pretrained.safetensors`` and ``autoencoder-naive.safetensors``,
    ``curves.json`` and ``curves.png``, ``reconstructions.png``, ``filters.png``,
    ``codes.png`` (2-d codes only), ``metrics.json``, and ``checkpoints/`` for resuming.

    Under torch.distributed (``ctx.world_size`` > 1) rank 0 loads the data first (it may
    download it), then the others; each RBM step and each fine-tuning step is shared between
    the ranks, which end with the same weights as one process would, up to float rounding.
    Every rank evaluates the models on its own copy of the data, and only rank 0 writes files.

    Limitation: the RBMs are always trained on the CPU (their generators are CPU generators);
    only fine-tuning and evaluation use ``ctx.device``.

    Limitation: under torch.distributed the evaluation (PCA, k-NN, test errors) is repeated
    on every rank rather than shared, so it takes as long as on one process.
    """
    began = time.perf_counter()
    seconds: dict[str, float] = {}
    sizes = [int(n) for n in config.model.layer_sizes]
    checkpoints = ctx.out_dir / "checkpoints"
    track = ctx.track

    t = time.perf_counter()
    with distributed.main_first():
        dataset = load_data(config, ctx)
    device = ctx.device
    train_x, test_x = dataset.train_x.to(device), dataset.test_x.to(device)
    seconds["load_data"] = time.perf_counter() - t
    logger.info(
        "%s: %d training and %d test images of %d pixels",
        dataset.name,
        len(train_x),
        len(test_x),
        train_x.shape[1],
    )
    metadata = {
        "recipe_config": _json(to_mapping(config)),
        "dataset": dataset.name,
        "dataset_licence": dataset.licence,
    }

    # Greedy pretraining, then the unrolled network.
    rbms, rbm_curves, rbm_seconds = pretrain_stack(
        train_x,
        sizes,
        config.pretrain,
        ctx.seed,
        checkpoint_dir=checkpoints,
        resume=ctx.resume,
        track=track,
        rank=ctx.rank,
        world_size=ctx.world_size,
    )
    seconds["pretrain"] = sum(rbm_seconds)
    if ctx.is_main:
        for depth, rbm in enumerate(rbms):
            _save_model(rbm, ctx.path(f"rbm{depth + 1}.safetensors"), metadata)
    autoencoders: dict[str, DeepAutoencoder] = {
        "pretrained": AutoencoderStacker().unroll(rbms).to(device)
    }

    # The naive baseline starts from random weights drawn from its own stream.
    if config.baselines.naive:
        naive = DeepAutoencoder(sizes).to(device)
        init = generator_for(ctx.seed, "naive-init")
        if config.baselines.naive_init == "rbm":
            naive.reset_normal_(config.pretrain.init_std, init)
        else:
            naive.reset_uniform_(init)
        autoencoders["naive"] = naive

    ft_curves: dict[str, list[dict[str, float]]] = {}
    for method, model in autoencoders.items():
        ft_curves[method], seconds[f"finetune_{method}"] = finetune(
            model,
            train_x,
            test_x,
            config.finetune,
            generator_for(ctx.seed, "finetune", method),
            checkpoint=checkpoints / f"finetune-{method}.safetensors",
            resume=ctx.resume,
            track=track,
            name=f"fine-tune {method}",
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
        if ctx.is_main:
            _save_model(model, ctx.path(f"autoencoder-{method}.safetensors"), metadata)

    # Evaluation: every method on the same test images, codes judged by k-NN.
    reconstructions: dict[str, torch.Tensor] = {}
    codes: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    metrics: dict[str, Any] = {}
    for method, model in autoencoders.items():
        t = time.perf_counter()
        test_codes = batched(model.encode, test_x)
        reconstructions[method] = batched(model.decode, test_codes)
        codes[method] = (batched(model.encode, train_x), test_codes)
        metrics[method] = reconstruction_errors(test_x, reconstructions[method])
        metrics[method]["seconds"] = {"finetune": seconds[f"finetune_{method}"]}
        metrics[method]["seconds"]["evaluate"] = time.perf_counter() - t
    metrics["pretrained"]["seconds"]["pretrain"] = seconds["pretrain"]

    if config.baselines.pca:
        t = time.perf_counter()
        pca = fit_pca(train_x.cpu(), sizes[-1])
        seconds["pca"] = time.perf_counter() - t
        t = time.perf_counter()
        pca_test = pca.encode(test_x.cpu())
        reconstructions["pca"] = pca.decode(pca_test)
        codes["pca"] = (pca.encode(train_x.cpu()), pca_test)
        metrics["pca"] = reconstruction_errors(test_x.cpu(), reconstructions["pca"])
        metrics["pca"]["seconds"] = {"fit": seconds["pca"], "evaluate": time.perf_counter() - t}

    for method, (train_codes, test_codes) in codes.items():
        metrics[method]["knn_accuracy"] = knn_accuracy(
            train_codes.cpu(),
            dataset.train_y,
            test_codes.cpu(),
            dataset.test_y,
            config.eval.knn_k,
        )

    seconds["total"] = time.perf_counter() - began
    metrics["run"] = {
        "dataset": dataset.name,
        "dataset_licence": dataset.licence,
        # What `ebmzoo zoo publish` takes when no --file is given.
        "primary_weights": "autoencoder-pretrained.safetensors",
        "n_train": len(train_x),
        "n_test": len(test_x),
        "n_pixels": int(train_x.shape[1]),
        "layer_sizes": sizes,
        "knn_k": config.eval.knn_k,
        "seconds": seconds,
    }
    for method in ("pretrained", "naive", "pca"):
        if method in metrics:
            logger.info(
                "%s: test MSE %.5f, SSE per image %.3f, %d-NN accuracy %.4f",
                method,
                metrics[method]["test_mse"],
                metrics[method]["test_sse_per_image"],
                config.eval.knn_k,
                metrics[method]["knn_accuracy"],
            )

    if ctx.is_main:
        _write_figures(ctx, config, dataset, rbms, autoencoders, reconstructions, codes)
        ctx.write_json(
            "curves.json",
            {"pretrain": rbm_curves, "finetune": ft_curves},
        )
        figures.plot_curves(ctx.path("curves.png"), rbm_curves, ft_curves)
        ctx.write_json("metrics.json", metrics)
    return metrics


def _write_figures(
    ctx: RunContext,
    config: Hinton2006Config,
    dataset: Dataset,
    rbms: list[Any],
    autoencoders: dict[str, DeepAutoencoder],
    reconstructions: dict[str, torch.Tensor],
    codes: dict[str, tuple[torch.Tensor, torch.Tensor]],
) -> None:
    n = min(config.eval.n_pictures, len(dataset.test_x))
    figures.plot_reconstructions(
        ctx.path("reconstructions.png"),
        dataset.test_x[:n],
        {method: images[:n].cpu() for method, images in reconstructions.items()},
        dataset.image_shape,
    )
    n_filters = min(config.eval.n_filters, config.model.layer_sizes[1])
    filters = {"RBM 1 (pretrained)": rbms[0].weight.detach().T[:n_filters].cpu()}
    for method, model in autoencoders.items():
        filters[f"encoder 1 ({method}, fine-tuned)"] = (
            model.encoder[0].weight.detach()[:n_filters].cpu()
        )
    figures.plot_filters(ctx.path("filters.png"), filters, dataset.image_shape)
    if config.model.layer_sizes[-1] == 2:
        m = min(config.eval.scatter_points, len(dataset.test_x))
        figures.plot_codes(
            ctx.path("codes.png"),
            {method: test[:m].cpu() for method, (_, test) in codes.items()},
            dataset.test_y[:m],
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
