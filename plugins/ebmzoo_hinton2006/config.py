"""The typed config of the Hinton & Salakhutdinov (2006) pipeline.

Every key here can be overridden from a recipe file, a ``--config`` file or
``--set section.key=value``. The dataclass defaults are the 30-d MNIST recipe; the recipe files
in ``ebmzoo_recipes`` override what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ebmzoo.errors import ConfigError

__all__ = [
    "BaselineConfig",
    "DataConfig",
    "EvalConfig",
    "FinetuneConfig",
    "Hinton2006Config",
    "ModelConfig",
    "PretrainConfig",
]


@dataclass
class DataConfig:
    """Which data set, and how much of it."""

    name: str = "mnist"
    """Registered data set, e.g. ``"mnist"`` or ``"digits"``."""

    train_limit: int | None = None
    """Use only the first this many training images (``None``: all), e.g. ``2000``."""

    test_limit: int | None = None
    """Use only the first this many test images (``None``: all), e.g. ``500``."""

    download: bool = True
    """Whether a missing data set may be downloaded into the cache."""


@dataclass
class ModelConfig:
    """The shape of the autoencoder."""

    layer_sizes: tuple[int, ...] = (784, 1000, 500, 250, 30)
    """Encoder widths from the input to the code, e.g. ``(784, 1000, 500, 250, 2)``."""


@dataclass
class PretrainConfig:
    """Greedy layer-wise RBM training (Hinton & Salakhutdinov 2006, supporting notes)."""

    epochs: int = 50
    """Passes through the training set for each RBM."""

    batch_size: int = 100
    """Mini-batch size of the contrastive-divergence updates."""

    learning_rate: float = 0.1
    """Learning rate of the RBMs with binary hidden units."""

    top_learning_rate: float = 0.001
    """Learning rate of the top RBM, whose hidden (code) units are linear with Gaussian noise."""

    weight_cost: float = 0.0002
    """L2 penalty on the weights."""

    initial_momentum: float = 0.5
    """Momentum of the first epochs."""

    final_momentum: float = 0.9
    """Momentum from :attr:`momentum_switch_epoch` on."""

    momentum_switch_epoch: int = 5
    """First epoch (0-based) that uses :attr:`final_momentum`."""

    cd_k: int = 1
    """Gibbs steps of contrastive divergence."""

    init_std: float = 0.1
    """Standard deviation of the initial weights."""

    monitor_size: int = 1000
    """Training images on which each RBM's per-epoch statistics are measured."""


@dataclass
class FinetuneConfig:
    """Backprop fine-tuning, shared by the pretrained network and the naive baseline."""

    epochs: int = 60
    """Passes through the training set."""

    batch_size: int = 200
    """Mini-batch size."""

    optimizer: Literal["adam", "sgd"] = "adam"
    """``"adam"`` or ``"sgd"`` (with Nesterov momentum 0.9)."""

    learning_rate: float = 0.003
    """Peak learning rate of the schedule."""

    schedule: Literal["one-cycle", "cosine", "constant"] = "one-cycle"
    """Learning-rate schedule over all steps: warm-up then cosine decay, cosine, or flat."""

    warmup_fraction: float = 0.3
    """Fraction of the steps spent warming up under ``"one-cycle"``."""

    weight_decay: float = 0.1
    """Decoupled weight decay (AdamW: each step shrinks weights by ``lr * weight_decay``) or
    L2 (SGD)."""

    loss: Literal["bce", "mse", "mixed"] = "bce"
    """Cross-entropy on the output logits, squared error, or their sum weighted by
    :attr:`mse_weight`."""

    mse_weight: float = 0.0
    """Weight of the squared-error term under ``loss="mixed"`` (summed over pixels)."""


@dataclass
class BaselineConfig:
    """Which baselines run beside the pretrained autoencoder."""

    naive: bool = True
    """Fine-tune the same architecture from random weights with the same budget."""

    naive_init: Literal["default", "rbm"] = "default"
    """Random weights of the naive network: PyTorch's default or the RBMs' ``N(0, init_std)``."""

    pca: bool = True
    """Fit PCA with the code size on the training set."""


@dataclass
class EvalConfig:
    """Evaluation on the test set and pictures."""

    knn_k: int = 5
    """Neighbours of the k-NN classifier on codes."""

    n_pictures: int = 10
    """Test images shown in the reconstruction picture."""

    n_filters: int = 100
    """First-layer filters shown."""

    scatter_points: int = 5000
    """Test codes drawn in the 2-d code pictures."""


@dataclass
class Hinton2006Config:
    """The whole pipeline: data, model, pretraining, fine-tuning, baselines, evaluation."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        sizes = self.model.layer_sizes
        if len(sizes) < 2 or any(int(n) < 1 for n in sizes):
            raise ConfigError(
                f"model.layer_sizes={list(sizes)} needs at least two positive widths, "
                "e.g. --set model.layer_sizes=[784,1000,500,250,30]"
            )
        for key, value in [
            ("pretrain.epochs", self.pretrain.epochs),
            ("finetune.epochs", self.finetune.epochs),
        ]:
            if value < 0:
                raise ConfigError(f"{key}={value} is negative; use 0 or more")
        for key, value in [
            ("pretrain.batch_size", self.pretrain.batch_size),
            ("finetune.batch_size", self.finetune.batch_size),
            ("eval.knn_k", self.eval.knn_k),
        ]:
            if value < 1:
                raise ConfigError(f"{key}={value} must be at least 1")
        if not 0.0 <= self.finetune.warmup_fraction < 1.0:
            raise ConfigError(
                f"finetune.warmup_fraction={self.finetune.warmup_fraction} must be in [0, 1)"
            )
