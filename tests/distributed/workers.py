"""What each process of the spawned two-process groups runs, and the cases both sides share.

The test module starts two processes with :func:`torch.multiprocessing.spawn` (gloo on
127.0.0.1) that train with the data-parallel code and save their results; the test computes
the one-process results itself and compares.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import torch

RBM_CASES = [
    # (model class name, CD steps, training rows, batch size): 53 rows in batches of 10 end
    # with 3 rows (1 + 2 on two ranks, 1 + 1 + 1 on three); 51 rows end with 1 row, so that
    # all ranks but the last get an empty part.
    ("BernoulliRBM", 1, 53, 10),
    ("BernoulliRBM", 3, 51, 10),
    ("GaussianHiddenRBM", 1, 51, 10),
    ("GaussianHiddenRBM", 2, 53, 10),
]

FINETUNE_CASES = [
    # (training rows, batch size): the last batches have 7 rows (3 + 4, or 2 + 2 + 3) and
    # 1 row (empty parts on all ranks but the last).
    (37, 10),
    (31, 10),
]


def rbm_case(
    index: int, rank: int = 0, world_size: int = 1, *, parallel: bool | None = None
) -> dict[str, torch.Tensor]:
    """Train case ``index`` of :data:`RBM_CASES` for 3 epochs; parameters and generator state.

    ``parallel`` chooses the data-parallel trainer over the plain one; by default it is used
    when ``world_size`` > 1.
    """
    from ebmzoo_rbm import models
    from ebmzoo_rbm.parallel import DataParallelRBMTrainer
    from ebmzoo_rbm.samplers import ContrastiveDivergence
    from ebmzoo_rbm.training import RBMTrainer, TrainConfig

    name, k, n, batch_size = RBM_CASES[index]
    cls = getattr(models, name)
    data = torch.rand(n, 9, generator=torch.Generator().manual_seed(index), dtype=torch.float64)
    model = cls(9, 5, init_std=0.5, dtype="float64", generator=torch.Generator().manual_seed(1))
    config = TrainConfig(
        batch_size=batch_size,
        learning_rate=0.05 if name == "GaussianHiddenRBM" else 0.3,
        momentum_switch_epoch=1,
        monitor_size=20,
    )
    generator = torch.Generator().manual_seed(2)
    sampler = ContrastiveDivergence(k=k)
    if not (world_size > 1 if parallel is None else parallel):
        trainer = RBMTrainer(model, sampler, config, generator)
    else:
        trainer = DataParallelRBMTrainer(
            model, sampler, config, generator, rank=rank, world_size=world_size
        )
    for _ in range(3):
        trainer.train_epoch(data)
    result = {key: value.detach().clone() for key, value in model.state_dict().items()}
    result["generator"] = generator.get_state()
    return result


def finetune_case(index: int, rank: int = 0, world_size: int = 1) -> dict[str, torch.Tensor]:
    """Fine-tune case ``index`` of :data:`FINETUNE_CASES` in float64 for 3 epochs."""
    from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
    from ebmzoo_hinton2006.config import FinetuneConfig
    from ebmzoo_hinton2006.finetune import finetune

    n, batch_size = FINETUNE_CASES[index]
    data = torch.rand(n, 12, generator=torch.Generator().manual_seed(index), dtype=torch.float64)
    model = DeepAutoencoder([12, 6, 3]).double()
    model.reset_uniform_(torch.Generator().manual_seed(3))
    config = FinetuneConfig(epochs=3, batch_size=batch_size, learning_rate=0.01)
    generator = torch.Generator().manual_seed(4)
    curve, _ = finetune(model, data, data[:5], config, generator, rank=rank, world_size=world_size)
    result = {key: value.detach().clone() for key, value in model.state_dict().items()}
    result["train_loss"] = torch.tensor([epoch["train_loss"] for epoch in curve])
    return result


def worker(rank: int, world_size: int, port: int, out: str) -> None:
    """Join a gloo group on 127.0.0.1, run every case data-parallel, save this rank's results."""
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=dt.timedelta(seconds=60),
    )
    try:
        results: dict[str, torch.Tensor] = {}
        for index in range(len(RBM_CASES)):
            for key, value in rbm_case(index, rank, world_size).items():
                results[f"rbm{index}.{key}"] = value
        for index in range(len(FINETUNE_CASES)):
            for key, value in finetune_case(index, rank, world_size).items():
                results[f"finetune{index}.{key}"] = value
        save_file(results, str(Path(out) / f"rank{rank}.safetensors"))
    finally:
        torch.distributed.destroy_process_group()
