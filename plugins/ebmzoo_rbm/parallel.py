"""Data-parallel RBM training: each process steps on its rows of every global mini-batch.

:class:`DataParallelRBMTrainer` is the :class:`~ebmzoo_rbm.training.RBMTrainer` for runs under
``torchrun``. Every process holds the whole training set and the same generator state, draws
the same permutation, and takes its contiguous part of each global mini-batch
(:func:`ebmzoo.distributed.shard_rows`). Its statistics are divided by
``global_rows / world_size`` instead of its own row count, so that the mean over processes of
the momentum increments, taken by one all-reduce per step, is the increment one process would
compute from the whole batch.

Sampling noise is drawn for the whole global batch, ``(global_rows, n_hidden)`` uniforms or
normals per hidden draw and ``(global_rows, n_visible)`` per visible draw, and each process
keeps its rows. The generator therefore advances identically on every process, and the noise
that a data row sees does not depend on the number of processes: two processes train the same
weights as one, up to float rounding.
"""

from __future__ import annotations

import torch

from ebmzoo import distributed
from ebmzoo.errors import ConfigError
from ebmzoo.sampling import NegativePhase, Sampler
from ebmzoo_rbm.models import RBM, bernoulli_into
from ebmzoo_rbm.samplers import ContrastiveDivergence, _hidden_mean_into, _visible_mean_into
from ebmzoo_rbm.training import RBMTrainer, TrainConfig

__all__ = ["DataParallelRBMTrainer"]

_ALIGN = 16
"""Elements each increment is aligned to inside the flat buffer."""


class DataParallelRBMTrainer(RBMTrainer):
    """An :class:`RBMTrainer` whose steps are shared by the ``world_size`` processes of a group.

    Every process must construct it with the same model parameters, config and generator state
    and call :meth:`train_epoch` with the same data; the process group must be up
    (:func:`ebmzoo.distributed.setup`). Checkpoints (:meth:`state_dict`) are identical on every
    process, so one process may write them and all may read them back.

    Args:
        model: the RBM to train; its parameters are changed in place, identically everywhere.
        sampler: a :class:`~ebmzoo_rbm.samplers.ContrastiveDivergence`; only its ``k`` is
            used, since the trainer runs the chains itself to draw their noise for the whole
            global batch.
        config: hyperparameters; ``batch_size`` is the global batch, split between processes.
        generator: source of all randomness, in the same state on every process.
        rank: this process's rank, ``0 <= rank < world_size``.
        world_size: number of processes; 1 trains exactly like :class:`RBMTrainer`.

    Limitation: persistent contrastive divergence is refused. Its chains would have to be
    split between processes and gathered after every step to keep the replicas identical,
    which is not written yet; train PCD in one process.

    Limitation: every process keeps the whole training set in memory and computes the
    per-epoch monitoring on it, which is repeated rather than shared work.
    """

    def __init__(
        self,
        model: RBM,
        sampler: Sampler,
        config: TrainConfig | None = None,
        generator: torch.Generator | None = None,
        *,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not isinstance(sampler, ContrastiveDivergence):
            raise ConfigError(
                f"data-parallel RBM training supports CD-k only, got {sampler!r}; train "
                "persistent CD in one process (without torchrun), or use ContrastiveDivergence"
            )
        if not (0 <= rank < world_size):
            raise ConfigError(f"rank={rank} must lie in [0, world_size={world_size})")
        if world_size > 1 and (
            not distributed.is_distributed() or torch.distributed.get_world_size() != world_size
        ):
            raise ConfigError(
                f"world_size={world_size}, but no process group of that size is up; start the "
                "processes with torchrun and call ebmzoo.distributed.setup first"
            )
        super().__init__(model, sampler, config, generator)
        self.rank = rank
        self.world_size = world_size

        # One flat buffer behind the three increments lets one all-reduce combine them. Each
        # starts on a 16-element boundary: BLAS rounds differently at other alignments, and
        # one process should reproduce RBMTrainer bit for bit.
        weight = model.weight
        n_visible, n_hidden = model.n_visible, model.n_hidden
        sizes = [n_visible * n_hidden, n_visible, n_hidden]
        padded = [-(-size // _ALIGN) * _ALIGN for size in sizes]
        self._increments = torch.zeros(sum(padded), dtype=weight.dtype, device=weight.device)
        w_inc, vb_inc, hb_inc = (
            part[:size] for part, size in zip(self._increments.split(padded), sizes, strict=True)
        )
        self.weight_increment = w_inc.view(n_visible, n_hidden)
        self.visible_bias_increment = vb_inc
        self.hidden_bias_increment = hb_inc
        self._global: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def step(self, batch: torch.Tensor, momentum: float) -> None:
        """One update from a global ``batch`` ``(batch, n_visible)``, validated by the caller.

        Every process passes the whole batch and steps on its own rows of it.
        """
        rows = batch.shape[0]
        start, stop = distributed.shard_rows(rows, self.rank, self.world_size)
        self._shard_step(batch[start:stop], start, rows, momentum)

    def _step_on_rows(self, data: torch.Tensor, index: torch.Tensor, momentum: float) -> None:
        """Gather this process's part of the global batch ``index`` ``(batch,)`` and step."""
        rows = index.shape[0]
        start, stop = distributed.shard_rows(rows, self.rank, self.world_size)
        batch = self._buffer("batch", stop - start, self.model.n_visible)
        torch.index_select(data, 0, index[start:stop], out=batch)
        self._shard_step(batch, start, rows, momentum)

    def _shard_step(self, batch: torch.Tensor, start: int, rows: int, momentum: float) -> None:
        """One update from rows ``[start, start + len(batch))`` of a global batch of ``rows``.

        Local tensors are row slices of global-batch buffers, so that the model's own sampling
        rule draws noise for all ``rows`` and this process's rows get their share in place.
        """
        model = self.model
        stop = start + batch.shape[0]

        # Positive phase: hidden probabilities, and sampled states to drive the chain.
        hidden_mean_all = self._global_buffer("hidden_mean", rows, model.n_hidden)
        hidden_mean = hidden_mean_all[start:stop]
        torch.addmm(model.hidden_bias, batch, model.weight, out=hidden_mean)
        model._hidden_mean_(hidden_mean)
        hidden_sample_all = self._global_buffer("hidden_sample", rows, model.n_hidden)
        model._hidden_sample_into(hidden_mean_all, hidden_sample_all, self.generator)
        hidden_sample = hidden_sample_all[start:stop]

        negative = self._contrastive_divergence(hidden_sample, start, rows)
        divisor = rows / self.world_size
        self._update_(batch, hidden_mean, negative, momentum, divisor, divisor)

    def _contrastive_divergence(
        self, hidden_sample: torch.Tensor, start: int, rows: int
    ) -> NegativePhase:
        """CD-k as :class:`ContrastiveDivergence` runs it, with global-batch noise.

        Args:
            hidden_sample: this process's hidden states ``(part, n_hidden)``.
            start: the first global row of this process's part.
            rows: the global batch size.

        Returns:
            Visible probabilities ``(part, n_visible)`` and hidden means ``(part, n_hidden)``.
        """
        model = self.model
        stop = start + hidden_sample.shape[0]
        visible_all = self._global_buffer("neg_visible", rows, model.n_visible)
        hidden_mean_all = self._global_buffer("neg_hidden_mean", rows, model.n_hidden)
        neg_visible, neg_hidden = visible_all[start:stop], hidden_mean_all[start:stop]
        hidden = hidden_sample
        k = self.sampler.k
        for step in range(k):
            _visible_mean_into(model, hidden, neg_visible)
            if step + 1 < k:
                state_all = self._global_buffer("visible_state", rows, model.n_visible)
                bernoulli_into(visible_all, state_all, self.generator)
                _hidden_mean_into(model, state_all[start:stop], neg_hidden)
                hidden_all = self._global_buffer("hidden_state", rows, model.n_hidden)
                model._hidden_sample_into(hidden_mean_all, hidden_all, self.generator)
                hidden = hidden_all[start:stop]
        _hidden_mean_into(model, neg_visible, neg_hidden)
        return NegativePhase(visible=neg_visible, hidden_mean=neg_hidden)

    def reduce_increments_(
        self, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor
    ) -> None:
        """Replace the increments by their mean over the processes (one all-reduce)."""
        distributed.all_reduce_mean_(self._increments)

    def _global_buffer(self, name: str, rows: int, cols: int) -> torch.Tensor:
        """A zeroed ``(rows, cols)`` buffer for a whole global batch, reused between steps.

        A process computes means only in its own rows; the other rows stay zero, so that
        drawing noise for them is harmless.
        """
        key = f"{name}:{rows}"
        buf = self._global.get(key)
        if buf is None or buf.shape[1] != cols:
            weight = self.model.weight
            buf = torch.zeros(rows, cols, dtype=weight.dtype, device=weight.device)
            self._global[key] = buf
        return buf
