"""The trainer's update rule, schedule, checks and checkpoints, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM
from ebmzoo_rbm.samplers import ContrastiveDivergence, PersistentContrastiveDivergence
from ebmzoo_rbm.training import RBMTrainer, TrainConfig
from safetensors.torch import load_file, save_file

from ebmzoo.errors import ConfigError, DataError

from .rbm_helpers import DEVICES, generator_on, params, tiny_rbm


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def hand_cd1_steps(model, batches, uniforms, config, momenta):
    """Hinton's rbm.m / rbmhidlinear.m update, written out in numpy for each batch in turn.

    ``uniforms[t]`` are the draws the trainer's generator makes for the hidden states of step
    ``t`` (uniforms for binary units, standard normals for Gaussian ones).
    """
    w, b, c = params(model)
    w_inc, b_inc, c_inc = np.zeros_like(w), np.zeros_like(b), np.zeros_like(c)
    rate_b = config.visible_bias_learning_rate or config.learning_rate
    rate_c = config.hidden_bias_learning_rate or config.learning_rate
    for data, noise, momentum in zip(batches, uniforms, momenta, strict=True):
        n = data.shape[0]
        if model.hidden_is_binary:
            pos_hid = sigmoid(data @ w + c)
            hid_states = (noise < pos_hid).astype(float)
        else:
            pos_hid = data @ w + c
            hid_states = pos_hid + noise
        neg_data = sigmoid(hid_states @ w.T + b)
        neg_hid = sigmoid(neg_data @ w + c) if model.hidden_is_binary else neg_data @ w + c

        pos_prods = data.T @ pos_hid
        neg_prods = neg_data.T @ neg_hid
        w_inc = momentum * w_inc + config.learning_rate * (
            (pos_prods - neg_prods) / n - config.weight_cost * w
        )
        b_inc = momentum * b_inc + rate_b / n * (data.sum(0) - neg_data.sum(0))
        c_inc = momentum * c_inc + rate_c / n * (pos_hid.sum(0) - neg_hid.sum(0))
        w, b, c = w + w_inc, b + b_inc, c + c_inc
    return w, b, c


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianHiddenRBM])
def test_training_steps_equal_the_hand_derived_update(cls, device):
    model = tiny_rbm(cls, n_visible=5, n_hidden=3, std=0.5)
    config = TrainConfig(
        learning_rate=0.3,
        visible_bias_learning_rate=0.2,
        hidden_bias_learning_rate=0.1,
        weight_cost=0.01,
    )
    generator = torch.Generator().manual_seed(8)
    batches = [torch.rand(4, 5, generator=generator, dtype=torch.float64) for _ in range(3)]
    momenta = [0.5, 0.9, 0.9]

    # Replay the trainer's random stream: one (batch, n_hidden) draw per step.
    replay = generator_on(device, 9)
    draw = torch.rand if cls is BernoulliRBM else torch.randn
    noise = [
        draw(4, 3, generator=replay, dtype=torch.float64, device=device).cpu().numpy()
        for _ in batches
    ]
    expected = hand_cd1_steps(model, [x.numpy() for x in batches], noise, config, momenta)

    model.to(device)
    trainer = RBMTrainer(model, ContrastiveDivergence(k=1), config, generator_on(device, 9))
    for batch, momentum in zip(batches, momenta, strict=True):
        trainer.step(batch.to(device), momentum)
    for got, want in zip(params(model), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_momentum_switches_after_the_configured_epoch():
    config = TrainConfig(initial_momentum=0.5, final_momentum=0.9, momentum_switch_epoch=5)
    assert [config.momentum(e) for e in range(7)] == [0.5] * 5 + [0.9] * 2


def test_paper_defaults():
    config = TrainConfig()
    assert (config.epochs, config.batch_size, config.learning_rate, config.weight_cost) == (
        50,
        100,
        0.1,
        0.0002,
    )


def test_an_epoch_visits_each_row_once_in_generator_order(monkeypatch):
    model = tiny_rbm(n_visible=3, n_hidden=2)
    trainer = RBMTrainer(
        model, ContrastiveDivergence(), TrainConfig(batch_size=4), torch.Generator().manual_seed(1)
    )
    seen = []
    monkeypatch.setattr(trainer, "step", lambda batch, momentum: seen.append(batch.clone()))
    data = torch.arange(10, dtype=torch.float64).div(10).repeat(3, 1).T.contiguous()
    trainer.train_epoch(data)
    rows = torch.cat(seen)[:, 0]
    order = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(rows, data[order, 0])
    assert [len(b) for b in seen] == [4, 4, 2]


def test_epoch_stats_report_monitoring_numbers():
    generator = torch.Generator().manual_seed(2)
    model = BernoulliRBM(12, 6, generator=generator)
    data = (torch.rand(300, 12, generator=generator) < 0.3).float()
    trainer = RBMTrainer(model, ContrastiveDivergence(), TrainConfig(), generator)
    first = trainer.train_epoch(data, held_out=data[:50])
    second = trainer.train_epoch(data)
    assert (first.epoch, second.epoch, trainer.epoch) == (1, 2, 2)
    assert first.reconstruction_error > 0 and first.pseudo_log_likelihood < 0
    assert first.free_energy_gap is not None and second.free_energy_gap is None
    assert first.seconds > 0
    assert set(first.as_dict()) == {
        "epoch",
        "reconstruction_error",
        "pseudo_log_likelihood",
        "free_energy_gap",
        "seconds",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (torch.zeros(4, 5), r"data: .*shape \(4, 5\)"),
        (torch.full((4, 6), float("inf")), "inf"),
        (torch.full((4, 6), 1.5), r"\[1.5, 1.5\]"),
    ],
)
def test_bad_training_data_is_rejected_with_a_clear_error(data, message):
    trainer = RBMTrainer(BernoulliRBM(6, 2), ContrastiveDivergence())
    with pytest.raises(DataError, match=message):
        trainer.train_epoch(data)


def test_data_changed_in_place_is_validated_again():
    trainer = RBMTrainer(BernoulliRBM(6, 2), ContrastiveDivergence())
    data = torch.full((4, 6), 0.5)
    trainer.train_epoch(data)
    data[0, 0] = 3.0
    with pytest.raises(DataError, match="data"):
        trainer.train_epoch(data)


def test_bad_config_values_are_named_in_the_error():
    with pytest.raises(ConfigError, match="batch_size=0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="final_momentum=1.0"):
        TrainConfig(final_momentum=1.0)
    with pytest.raises(ConfigError, match="learning_rate=-0.1"):
        TrainConfig(learning_rate=-0.1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "sampler", [lambda: ContrastiveDivergence(k=2), lambda: PersistentContrastiveDivergence(7)]
)
def test_resuming_from_a_checkpoint_is_bit_identical(tmp_path, sampler, device):
    def build():
        model = BernoulliRBM(10, 5, generator=torch.Generator().manual_seed(3), device=device)
        trainer = RBMTrainer(
            model,
            sampler(),
            TrainConfig(batch_size=16, momentum_switch_epoch=2),
            generator_on(device, 4),
        )
        return model, trainer

    data = torch.rand(80, 10, generator=torch.Generator().manual_seed(5))
    model, trainer = build()
    for _ in range(2):
        trainer.train_epoch(data)
    save_file(model.state_dict(), tmp_path / "model.safetensors")
    save_file(trainer.state_dict(), tmp_path / "trainer.safetensors")
    uninterrupted = [trainer.train_epoch(data, data[:20]) for _ in range(2)]

    resumed_model, resumed = build()
    resumed_model.load_state_dict(load_file(tmp_path / "model.safetensors", device=device))
    resumed.load_state_dict(load_file(tmp_path / "trainer.safetensors"))
    assert resumed.epoch == 2
    again = [resumed.train_epoch(data, data[:20]) for _ in range(2)]

    for name, value in model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    for a, b in zip(uninterrupted, again, strict=True):
        assert a.reconstruction_error == b.reconstruction_error
        assert a.free_energy_gap == b.free_energy_gap


def test_trainer_state_from_another_model_is_refused():
    trainer = RBMTrainer(BernoulliRBM(6, 2), ContrastiveDivergence())
    state = RBMTrainer(BernoulliRBM(6, 3), ContrastiveDivergence()).state_dict()
    with pytest.raises(ConfigError, match="weight_increment has shape"):
        trainer.load_state_dict(state)
