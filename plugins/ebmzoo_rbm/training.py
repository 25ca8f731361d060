"""The RBM trainer: Hinton's update rule with momentum, weight cost and per-epoch monitoring.

:class:`RBMTrainer` runs epochs of mini-batch training of a model from
:mod:`ebmzoo_rbm.models` with a sampler from :mod:`ebmzoo_rbm.samplers`. One step follows the
code released with Hinton & Salakhutdinov (2006): positive statistics from hidden
probabilities, hidden states sampled to drive the reconstruction, and negative statistics from
the sampler's probabilities; then, per parameter group,

    increment <- momentum * increment + rate * (<v h>_data - <v h>_model - cost * weight)
    parameter <- parameter + increment,

with the weight cost on the weights only and the momentum raised after a few epochs. The step
writes into buffers allocated once, so that its time goes to the five matrix products.

References:
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data with neural
    networks", Science 313 (2006), 504-507; code ``rbm.m`` and ``rbmhidlinear.m``.
    G. E. Hinton, "A practical guide to training restricted Boltzmann machines", UTML TR
    2010-003 (2010), section 6 (monitoring with free energies).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass

import torch

from ebmzoo.errors import ConfigError, DataError
from ebmzoo.sampling import NegativePhase, Sampler
from ebmzoo_rbm.evaluation import pseudo_log_likelihood_given
from ebmzoo_rbm.models import RBM

__all__ = ["EpochStats", "RBMTrainer", "TrainConfig"]

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Hyperparameters of :class:`RBMTrainer`; the defaults are the paper's for binary layers.

    For the Gaussian code layer of the paper, set ``learning_rate=0.001``.
    """

    epochs: int = 50
    """Number of passes over the training data a caller should run (the trainer runs one per
    :meth:`RBMTrainer.train_epoch` call)."""

    batch_size: int = 100
    """Rows per mini-batch; a last, smaller batch is used as it is."""

    learning_rate: float = 0.1
    """Step size of the weights (and of the biases unless set below)."""

    visible_bias_learning_rate: float | None = None
    """Step size of the visible biases; ``None`` uses :attr:`learning_rate`."""

    hidden_bias_learning_rate: float | None = None
    """Step size of the hidden biases; ``None`` uses :attr:`learning_rate`."""

    weight_cost: float = 0.0002
    """L2 penalty coefficient on the weights (not the biases)."""

    initial_momentum: float = 0.5
    """Momentum of the first :attr:`momentum_switch_epoch` epochs."""

    final_momentum: float = 0.9
    """Momentum from epoch :attr:`momentum_switch_epoch` (counting from 0) on."""

    momentum_switch_epoch: int = 5
    """Number of epochs trained with :attr:`initial_momentum`."""

    monitor_size: int = 1000
    """Rows of the training (and held-out) data the per-epoch statistics are computed on: the
    first ``monitor_size`` rows, so that numbers are comparable between epochs."""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}={value!r} must be an integer >= 1, e.g. 100")
        for name in ("momentum_switch_epoch", "monitor_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name}={value!r} must be an integer >= 0, e.g. 5")
        for name in (
            "learning_rate",
            "visible_bias_learning_rate",
            "hidden_bias_learning_rate",
            "weight_cost",
        ):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name}={value!r} must be a finite number >= 0, e.g. 0.1")
        for name in ("initial_momentum", "final_momentum"):
            value = getattr(self, name)
            if not (0 <= value < 1):
                raise ConfigError(f"{name}={value!r} must lie in [0, 1), e.g. 0.9")

    def momentum(self, epoch: int) -> float:
        """The momentum of epoch ``epoch`` (counting from 0)."""
        return self.initial_momentum if epoch < self.momentum_switch_epoch else self.final_momentum


@dataclass(frozen=True)
class EpochStats:
    """What :meth:`RBMTrainer.train_epoch` measured; all numbers are means per image."""

    epoch: int
    """Number of epochs finished, this one included (1 after the first)."""

    reconstruction_error: float
    """Summed squared difference between the data and ``p(v | h)``, ``h`` sampled from
    ``p(h | v)``, per image of the monitored training rows, e.g. ``12.3``."""

    pseudo_log_likelihood: float
    """Stochastic pseudo-log-likelihood per image of the monitored training rows, in nats."""

    free_energy_gap: float | None
    """Mean free energy of the monitored held-out rows minus that of the monitored training
    rows; a growing gap signals overfitting. ``None`` without held-out data."""

    seconds: float
    """Wall-clock time of the epoch, monitoring included."""

    def as_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-able dict."""
        return asdict(self)


class RBMTrainer:
    """Trains an RBM epoch by epoch; its state can be checkpointed and resumed bit for bit.

    Args:
        model: the RBM to train; its parameters are changed in place.
        sampler: the negative phase, e.g. ``ContrastiveDivergence(k=1)``.
        config: hyperparameters; defaults to ``TrainConfig()``.
        generator: source of all randomness (shuffling, sampling, monitoring); it must live on
            the model's device. ``None`` makes one seeded with 0.

    Limitation: the whole training set is moved to the model's device and dtype at the start of
    each epoch (a no-op when it is already there), so it has to fit in that device's memory.
    """

    def __init__(
        self,
        model: RBM,
        sampler: Sampler,
        config: TrainConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if not isinstance(model, RBM):
            raise ConfigError(
                f"RBMTrainer trains the RBMs of ebmzoo_rbm, got {type(model).__name__}; "
                "pass a BernoulliRBM or GaussianHiddenRBM"
            )
        self.model = model
        self.sampler = sampler
        self.config = config if config is not None else TrainConfig()
        device = model.weight.device
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(0)
        elif generator.device.type != device.type:
            raise ConfigError(
                f"the generator lives on {generator.device}, the model on {device}; "
                f"pass torch.Generator(device={str(device)!r})"
            )
        self.generator = generator
        self.epoch = 0
        """Number of epochs finished."""

        weight = model.weight
        self.weight_increment = torch.zeros_like(weight, requires_grad=False)
        self.visible_bias_increment = torch.zeros_like(model.visible_bias, requires_grad=False)
        self.hidden_bias_increment = torch.zeros_like(model.hidden_bias, requires_grad=False)
        self._buffers: dict[str, torch.Tensor] = {}
        self._validated: dict[str, tuple[torch.Tensor, int]] = {}

    # -- training ------------------------------------------------------------------------------

    def train_epoch(self, data: torch.Tensor, held_out: torch.Tensor | None = None) -> EpochStats:
        """Run one epoch over ``data`` in an order drawn from the trainer's generator.

        Args:
            data: training rows ``(n, n_visible)``, values in ``[0, 1]``.
            held_out: optional validation rows ``(m, n_visible)`` for the free-energy gap.

        Returns:
            The statistics of the epoch, computed after its last update.
        """
        start = time.perf_counter()
        data = self._checked(data, "data")
        if held_out is not None:
            held_out = self._checked(held_out, "held_out")
        cfg = self.config
        momentum = cfg.momentum(self.epoch)
        n = data.shape[0]

        with torch.no_grad():
            order = torch.randperm(n, generator=self.generator, device=data.device)
            for begin in range(0, n, cfg.batch_size):
                self._step_on_rows(data, order[begin : begin + cfg.batch_size], momentum)
            self.epoch += 1
            error, pll, gap = self._monitor(data, held_out)
        stats = EpochStats(
            epoch=self.epoch,
            reconstruction_error=error,
            pseudo_log_likelihood=pll,
            free_energy_gap=gap,
            seconds=time.perf_counter() - start,
        )

        logger.debug(
            "epoch %d: reconstruction error %.4f, pseudo-log-likelihood %.4f, "
            "free-energy gap %s, %.2f s",
            stats.epoch,
            stats.reconstruction_error,
            stats.pseudo_log_likelihood,
            "n/a" if stats.free_energy_gap is None else f"{stats.free_energy_gap:.4f}",
            stats.seconds,
        )
        return stats

    @torch.no_grad()
    def step(self, batch: torch.Tensor, momentum: float) -> None:
        """One update from ``batch`` ``(batch, n_visible)``; the caller has validated it."""
        model = self.model
        rows = batch.shape[0]

        # Positive phase: hidden probabilities, and sampled states to drive the chain.
        hidden_mean = self._buffer("hidden_mean", rows, model.n_hidden)
        torch.addmm(model.hidden_bias, batch, model.weight, out=hidden_mean)
        model._hidden_mean_(hidden_mean)
        hidden_sample = self._buffer("hidden_sample", rows, model.n_hidden)
        model._hidden_sample_into(hidden_mean, hidden_sample, self.generator)

        negative = self.sampler.negative_phase(model, batch, hidden_sample, self.generator)
        self._update_(batch, hidden_mean, negative, momentum, rows, negative.visible.shape[0])

    def _step_on_rows(self, data: torch.Tensor, index: torch.Tensor, momentum: float) -> None:
        """Gather the rows ``index`` ``(batch,)`` of ``data`` and take one step on them."""
        batch = self._buffer("batch", index.shape[0], self.model.n_visible)
        torch.index_select(data, 0, index, out=batch)
        self.step(batch, momentum)

    def _update_(
        self,
        batch: torch.Tensor,
        hidden_mean: torch.Tensor,
        negative: NegativePhase,
        momentum: float,
        data_divisor: float,
        model_divisor: float,
    ) -> None:
        """Fold the statistics of one step into the increments and apply them.

        The statistics are folded into the momentum increments by the matrix products
        themselves (``beta=momentum``), which saves a pass over the weights per step.

        Args:
            batch: the data rows ``(batch, n_visible)``.
            hidden_mean: their hidden means ``(batch, n_hidden)``.
            negative: the sampler's fantasy particles, ``(chains, n_visible)`` and
                ``(chains, n_hidden)``.
            momentum: the momentum of this epoch.
            data_divisor: what the summed data statistics are divided by (on one process
                the batch size).
            model_divisor: what the summed model statistics are divided by (on one process
                the number of chains).
        """
        model = self.model
        cfg = self.config
        rows = batch.shape[0]
        chains = negative.visible.shape[0]

        # increment <- momentum * increment + rate * (<v h>_data - <v h>_model).
        rate_w = cfg.learning_rate
        rate_vb = _or(cfg.visible_bias_learning_rate, rate_w)
        rate_hb = _or(cfg.hidden_bias_learning_rate, rate_w)
        w_inc = self.weight_increment
        w_inc.addmm_(batch.T, hidden_mean, beta=momentum, alpha=rate_w / data_divisor)
        w_inc.addmm_(negative.visible.T, negative.hidden_mean, alpha=-rate_w / model_divisor)
        vb_inc = self.visible_bias_increment
        vb_inc.addmv_(batch.T, self._ones(rows), beta=momentum, alpha=rate_vb / data_divisor)
        vb_inc.addmv_(negative.visible.T, self._ones(chains), alpha=-rate_vb / model_divisor)
        hb_inc = self.hidden_bias_increment
        hb_inc.addmv_(hidden_mean.T, self._ones(rows), beta=momentum, alpha=rate_hb / data_divisor)
        hb_inc.addmv_(negative.hidden_mean.T, self._ones(chains), alpha=-rate_hb / model_divisor)
        if cfg.weight_cost:
            w_inc.add_(model.weight, alpha=-rate_w * cfg.weight_cost)

        self.reduce_increments_(w_inc, vb_inc, hb_inc)

        model.weight.add_(w_inc)
        model.visible_bias.add_(vb_inc)
        model.hidden_bias.add_(hb_inc)

    def reduce_increments_(
        self, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor
    ) -> None:
        """Combine the increments of data-parallel replicas in place; a no-op in one process.

        Every replica holds the same parameters and momentum terms, so averaging the increments
        ``momentum * increment + rate * statistics`` over replicas averages exactly the batch
        statistics. A data-parallel trainer overrides this with an all-reduce (mean).
        """

    # -- monitoring ----------------------------------------------------------------------------

    def _monitor(
        self, data: torch.Tensor, held_out: torch.Tensor | None
    ) -> tuple[float, float, float | None]:
        """Reconstruction error, pseudo-log-likelihood and free-energy gap; see EpochStats."""
        model = self.model
        size = self.config.monitor_size or data.shape[0]
        train = data[:size]
        _, hidden = model.sample_hidden(train, self.generator)
        reconstruction = model.visible_mean(hidden)
        error = (train - reconstruction).square_().sum().item() / train.shape[0]
        train_free_energy = model.free_energy(train)
        pll = pseudo_log_likelihood_given(model, train, train_free_energy, self.generator)
        gap = None
        if held_out is not None and held_out.shape[0] > 0:
            gap = (model.free_energy(held_out[:size]).mean() - train_free_energy.mean()).item()
        return error, pll, gap

    # -- checkpointing -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Everything besides the model's parameters that a bit-identical resume needs.

        Keys: ``epoch`` (int64 scalar), ``weight_increment``, ``visible_bias_increment``,
        ``hidden_bias_increment``, ``generator`` (uint8 state) and the sampler's tensors under
        ``sampler.``. All tensors are contiguous CPU copies, ready for safetensors.
        """
        state = {
            "epoch": torch.tensor(self.epoch, dtype=torch.int64),
            "weight_increment": self.weight_increment,
            "visible_bias_increment": self.visible_bias_increment,
            "hidden_bias_increment": self.hidden_bias_increment,
            "generator": self.generator.get_state(),
        }
        for key, value in self.sampler.state_dict().items():
            state[f"sampler.{key}"] = value
        return {key: value.detach().cpu().contiguous().clone() for key, value in state.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (the model's weights are loaded apart)."""
        required = {
            "epoch",
            "weight_increment",
            "visible_bias_increment",
            "hidden_bias_increment",
            "generator",
        }
        missing = required - set(state)
        if missing:
            raise ConfigError(
                f"trainer state lacks {sorted(missing)}; pass what RBMTrainer.state_dict() returned"
            )
        for name in ("weight_increment", "visible_bias_increment", "hidden_bias_increment"):
            target = getattr(self, name)
            value = state[name]
            if value.shape != target.shape:
                raise ConfigError(
                    f"trainer state {name} has shape {tuple(value.shape)}, the model needs "
                    f"{tuple(target.shape)}; resume with the model the state was saved from"
                )
            target.copy_(value)
        device = self.model.weight.device
        self.sampler.load_state_dict(
            {
                key.removeprefix("sampler."): value.to(device=device, dtype=self.model.weight.dtype)
                for key, value in state.items()
                if key.startswith("sampler.")
            }
        )
        self.generator.set_state(state["generator"].cpu())
        self.epoch = int(state["epoch"])

    # -- helpers -------------------------------------------------------------------------------

    def _checked(self, data: torch.Tensor, name: str) -> torch.Tensor:
        """Validate ``data`` (once per unchanged tensor) and move it to the model's device."""
        if not isinstance(data, torch.Tensor):
            raise DataError(f"{name} is a {type(data).__name__}; pass a torch.Tensor")
        # Validation reads the whole tensor; skip it for the tensor validated last time, unless
        # it was modified in place since (which bumps its version counter).
        seen = self._validated.get(name)
        if seen is None or seen[0] is not data or seen[1] != data._version:
            try:
                self.model.validate_visible(data)
            except DataError as error:
                raise DataError(f"{name}: {error}") from None
            self._validated[name] = (data, data._version)
        weight = self.model.weight
        return data.to(device=weight.device, dtype=weight.dtype)

    def _buffer(self, name: str, rows: int, cols: int) -> torch.Tensor:
        weight = self.model.weight
        key = f"{name}:{rows}"
        buf = self._buffers.get(key)
        if buf is None or buf.shape[1] != cols or buf.device != weight.device:
            buf = torch.empty(rows, cols, dtype=weight.dtype, device=weight.device)
            self._buffers[key] = buf
        return buf

    def _ones(self, rows: int) -> torch.Tensor:
        key = f"ones:{rows}"
        ones = self._buffers.get(key)
        if ones is None:
            weight = self.model.weight
            ones = torch.ones(rows, dtype=weight.dtype, device=weight.device)
            self._buffers[key] = ones
        return ones


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
