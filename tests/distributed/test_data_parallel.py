"""The data-parallel RBM trainer and fine-tuning in gloo groups of 2 and 3 processes, against
one process.

In float64 the results of a group differ from the one-process results only by the order in
which sums are rounded (~1e-16 relative), so a Bernoulli draw (a uniform compared with a
probability) would flip only if a uniform fell within ~1e-16 of its probability: the results
must agree to 1e-10 (measured: at most 7e-16 with 2 processes). Any mistake in splitting the
batches, scaling the statistics or slicing the noise changes them by more than 1e-3. Three
processes split batches of 10 rows into 3 + 3 + 4 and divide the all-reduced sums by 3,
which is not exact in binary.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from ebmzoo.errors import ConfigError

from . import workers
from .helpers import free_port

TOLERANCE = 1e-10


@pytest.fixture(scope="module", params=[2, 3], ids=["2-processes", "3-processes"])
def group_results(request, tmp_path_factory) -> list[dict[str, torch.Tensor]]:
    """What every process of a spawned group saved after running all the cases."""
    world_size = request.param
    out = tmp_path_factory.mktemp(f"data-parallel-{world_size}")
    torch.multiprocessing.spawn(
        workers.worker, args=(world_size, free_port(), str(out)), nprocs=world_size, join=True
    )
    return [load_file(out / f"rank{rank}.safetensors") for rank in range(world_size)]


def test_every_process_ends_with_identical_parameters(group_results):
    first, *others = group_results
    for other in others:
        assert other.keys() == first.keys()
        for key in first:
            assert torch.equal(other[key], first[key]), key


@pytest.mark.parametrize("index", range(len(workers.RBM_CASES)))
def test_rbm_training_in_a_group_equals_one_process(group_results, index):
    alone = workers.rbm_case(index)
    together = group_results[0]
    # The generator advanced exactly as in one process: noise was drawn for the whole batch.
    assert torch.equal(together[f"rbm{index}.generator"], alone["generator"])
    for key in ("weight", "visible_bias", "hidden_bias"):
        difference = (together[f"rbm{index}.{key}"] - alone[key]).abs().max().item()
        assert difference < TOLERANCE, (workers.RBM_CASES[index], key, difference)


@pytest.mark.parametrize("index", range(len(workers.FINETUNE_CASES)))
def test_finetuning_in_a_group_equals_one_process(group_results, index):
    alone = workers.finetune_case(index)
    together = group_results[0]
    for key, value in alone.items():
        difference = (together[f"finetune{index}.{key}"] - value).abs().max().item()
        assert difference < TOLERANCE, (workers.FINETUNE_CASES[index], key, difference)


@pytest.mark.parametrize("index", range(len(workers.RBM_CASES)))
def test_data_parallel_trainer_in_one_process_is_the_plain_trainer_bit_for_bit(index):
    plain = workers.rbm_case(index, parallel=False)
    sharded = workers.rbm_case(index, parallel=True)
    for key, value in plain.items():
        assert torch.equal(sharded[key], value), key


def test_persistent_cd_is_refused_with_a_clear_error():
    from ebmzoo_rbm.models import BernoulliRBM
    from ebmzoo_rbm.parallel import DataParallelRBMTrainer
    from ebmzoo_rbm.samplers import PersistentContrastiveDivergence

    with pytest.raises(ConfigError, match="CD-k only"):
        DataParallelRBMTrainer(BernoulliRBM(4, 2), PersistentContrastiveDivergence(n_chains=3))


def test_more_processes_than_the_group_holds_are_refused():
    from ebmzoo_rbm.models import BernoulliRBM
    from ebmzoo_rbm.parallel import DataParallelRBMTrainer
    from ebmzoo_rbm.samplers import ContrastiveDivergence

    with pytest.raises(ConfigError, match="no process group"):
        DataParallelRBMTrainer(BernoulliRBM(4, 2), ContrastiveDivergence(), rank=1, world_size=2)


@pytest.mark.parametrize(("rows", "world_size"), [(10, 2), (7, 2), (1, 2), (5, 3), (2, 4)])
def test_shards_cover_the_batch_in_rank_order(rows, world_size):
    from ebmzoo.distributed import shard_rows

    parts = [shard_rows(rows, rank, world_size) for rank in range(world_size)]
    assert parts[0][0] == 0 and parts[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(parts[:-1], parts[1:], strict=True))
    assert max(b - a for a, b in parts) - min(b - a for a, b in parts) <= 1
