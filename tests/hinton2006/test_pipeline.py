"""The digits recipe end to end through the pipeline's run function, and resuming a run."""

from __future__ import annotations

import json

import pytest
import torch
from ebmzoo_hinton2006 import finetune as finetune_module
from ebmzoo_hinton2006 import pretrain as pretrain_module
from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
from ebmzoo_hinton2006.pipeline import run

from ebmzoo.errors import ConfigError
from ebmzoo.weights import load_model, read_tensors

from .conftest import build_config, context

SMALL = (
    "data.train_limit=300",
    "data.test_limit=100",
    "model.layer_sizes=[64,32,16,2]",
    "pretrain.epochs=3",
    "finetune.epochs=3",
    "finetune.batch_size=50",
)


def test_digits_recipe_runs_end_to_end_and_beats_pca(tmp_path):
    config = build_config("hinton2006-digits")
    metrics = run(config, context(tmp_path))

    for method in ("pretrained", "naive", "pca"):
        m = metrics[method]
        assert m["test_sse_per_image"] == pytest.approx(64 * m["test_mse"])
        assert 0.0 <= m["knn_accuracy"] <= 1.0
        assert m["seconds"]
    assert metrics["pretrained"]["test_mse"] < metrics["pca"]["test_mse"]
    assert metrics["pretrained"]["test_mse"] < metrics["naive"]["test_mse"]
    assert set(metrics["pretrained"]["seconds"]) >= {"pretrain", "finetune"}

    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["pretrained"]["test_mse"] == metrics["pretrained"]["test_mse"]
    for name in (
        "rbm1.safetensors",
        "rbm4.safetensors",
        "autoencoder-pretrained.safetensors",
        "autoencoder-naive.safetensors",
        "curves.json",
        "curves.png",
        "reconstructions.png",
        "codes.png",
        "filters.png",
    ):
        assert (tmp_path / name).is_file(), name

    # The saved autoencoder rebuilds through the registry and reproduces the test error.
    model = load_model(tmp_path / "autoencoder-pretrained.safetensors")
    assert isinstance(model, DeepAutoencoder)
    assert model.layer_sizes == [64, 256, 128, 64, 2]


def test_layer_sizes_must_fit_the_data(tmp_path):
    config = build_config("hinton2006-digits", "model.layer_sizes=[784,30]")
    with pytest.raises(ConfigError, match="64 pixels"):
        run(config, context(tmp_path))


class Interrupted(Exception):
    """Stands for the run being killed."""


def _interrupt_after(monkeypatch, n_checkpoints: int) -> None:
    """Make the run die right after its ``n_checkpoints``-th checkpoint is written."""
    calls = {"n": 0}
    real = pretrain_module.save_checkpoint

    def save_then_maybe_die(*args, **kwargs):
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == n_checkpoints:
            raise Interrupted

    monkeypatch.setattr(pretrain_module, "save_checkpoint", save_then_maybe_die)
    monkeypatch.setattr(finetune_module, "save_checkpoint", save_then_maybe_die)


def _weights(folder):
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    return {name: read_tensors(folder / name)[0] for name in files}


@pytest.mark.parametrize(
    "interruptions",
    # Checkpoints: 3 RBMs x 3 epochs, then 3 epochs each for pretrained and naive.
    [(4,), (10,), (2, 7, 14)],
    ids=["in-pretraining", "in-fine-tuning", "three-times"],
)
def test_resumed_run_ends_with_the_same_weights(tmp_path, monkeypatch, interruptions):
    config = build_config("hinton2006-digits", *SMALL)
    whole = run(config, context(tmp_path / "whole", seed=3))

    folder = tmp_path / "interrupted"
    done = 0
    for k in interruptions:
        with monkeypatch.context() as patch:
            _interrupt_after(patch, k - done)
            with pytest.raises(Interrupted):
                run(config, context(folder, seed=3, resume=done > 0))
        done = k
    resumed = run(config, context(folder, seed=3, resume=True))

    expected, got = _weights(tmp_path / "whole"), _weights(folder)
    assert sorted(expected) == sorted(got)
    for name in expected:
        for key, tensor in expected[name].items():
            assert torch.equal(tensor, got[name][key]), f"{name}:{key}"
    for method in ("pretrained", "naive", "pca"):
        assert resumed[method]["test_mse"] == whole[method]["test_mse"]
    curves = json.loads((folder / "curves.json").read_text())
    assert len(curves["finetune"]["pretrained"]) == 3
    assert [len(c) for c in curves["pretrain"]] == [3, 3, 3]


def test_resume_refuses_a_changed_config(tmp_path, monkeypatch):
    config = build_config("hinton2006-digits", *SMALL)
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        with pytest.raises(Interrupted):
            run(config, context(tmp_path, seed=3))
    changed = build_config("hinton2006-digits", *SMALL, "pretrain.learning_rate=0.05")
    with pytest.raises(ConfigError, match="another pretraining config"):
        run(changed, context(tmp_path, seed=3, resume=True))
