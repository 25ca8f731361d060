"""`ebmzoo run` as a user runs it: a subprocess on a slice of the real MNIST in ../shared/data.

Checks the run directory (config with seed, log, weights that load, pictures, metrics), that a
run interrupted with Ctrl-C resumes to the same weights as an uninterrupted run, and that bad
input gets a one-line error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from ebmzoo.weights import load_model, read_tensors

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SLICE = [
    "--data-root", str(DATA_ROOT),
    "--set", "data.train_limit=600",
    "--set", "data.test_limit=200",
    "--set", "model.layer_sizes=[784,64,32,2]",
    "--set", "pretrain.epochs=2",
    "--set", "finetune.epochs=3",
]  # fmt: skip

_EMPTY_CACHE = tempfile.mkdtemp(prefix="ebmzoo-empty-cache-")

pytestmark = pytest.mark.skipif(
    not (DATA_ROOT / "MNIST" / "raw").is_dir(), reason=f"no MNIST in {DATA_ROOT}"
)


def _env() -> dict[str, str]:
    # One thread makes the arithmetic, and so the weights, repeat exactly from run to run; an
    # empty cache proves the runs read MNIST from --data-root alone.
    return dict(os.environ, OMP_NUM_THREADS="1", EBMZOO_CACHE=_EMPTY_CACHE)


def _ebmzoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ebmzoo", *args], capture_output=True,
                          text=True, timeout=300, env=_env())  # fmt: skip


def _only_run_dir(base: Path) -> Path:
    (run_dir,) = [p for p in base.iterdir() if p.is_dir()]
    return run_dir


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for path in sorted(run_dir.glob("*.safetensors")):
        for key, value in read_tensors(path)[0].items():
            tensors[f"{path.name}:{key}"] = value
    return tensors


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("runs")
    result = _ebmzoo("run", "hinton2006-mnist-2d", "--out", str(base), "--seed", "7", *SLICE)
    assert result.returncode == 0, result.stderr
    run_dir = _only_run_dir(base)
    assert f"run directory: {run_dir}" in result.stdout
    return run_dir


def test_run_directory_holds_config_log_weights_pictures_and_metrics(finished_run):
    config = json.loads((finished_run / "config.json").read_text())
    assert config["recipe"] == "hinton2006-mnist-2d" and config["seed"] == 7
    assert config["config"]["data"]["train_limit"] == 600
    assert "fine-tune pretrained" in (finished_run / "log.txt").read_text()

    for picture in ("reconstructions.png", "codes.png", "filters.png", "curves.png"):
        assert (finished_run / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture

    rbms = [load_model(finished_run / f"rbm{i}.safetensors") for i in (1, 2, 3)]
    assert [(r.n_visible, r.n_hidden) for r in rbms] == [(784, 64), (64, 32), (32, 2)]
    autoencoder = load_model(finished_run / "autoencoder-pretrained.safetensors")
    codes = autoencoder.encode(torch.rand(5, 784))
    assert codes.shape == (5, 2)
    assert autoencoder.decode(codes).shape == (5, 784)


def test_metrics_have_every_method_with_both_error_measures(finished_run):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    for method in ("pretrained", "naive", "pca"):
        values = metrics[method]
        assert 0 < values["test_mse"] < 0.25
        # The paper's measure sums over the 784 pixels what test_mse averages over them.
        assert values["test_sse_per_image"] == pytest.approx(784 * values["test_mse"], rel=1e-9)
        assert 0 <= values["knn_accuracy"] <= 1


def test_metrics_match_the_saved_weights_on_the_test_slice(finished_run):
    import torchvision

    test = torchvision.datasets.MNIST(str(DATA_ROOT), train=False, download=False)
    x = test.data[:200].reshape(200, -1).to(torch.float32) / 255
    autoencoder = load_model(finished_run / "autoencoder-pretrained.safetensors")
    with torch.no_grad():
        mse = ((autoencoder.decode(autoencoder.encode(x)) - x) ** 2).mean().item()
    recorded = json.loads((finished_run / "metrics.json").read_text())["pretrained"]["test_mse"]
    assert mse == pytest.approx(recorded, abs=1e-6)


def test_interrupted_run_resumes_to_the_same_weights(finished_run, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "ebmzoo", "run", "hinton2006-mnist-2d", "--out", str(tmp_path),
         "--seed", "7", *SLICE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run_dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
        if run_dirs and (run_dirs[0] / "checkpoints" / "finetune-pretrained.safetensors").exists():
            break
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    run_dir = _only_run_dir(tmp_path)
    if process.returncode != 0:  # the run may have finished in the instant before the signal
        assert process.returncode == 130
        assert "interrupted; continue with: ebmzoo run --resume" in stderr
        assert "Traceback" not in stderr
        assert not (run_dir / "metrics.json").exists()

    resumed = _ebmzoo("run", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    expected, got = _weights(finished_run), _weights(run_dir)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "finetune.epoch=3"],
            "unknown config key 'finetune.epoch': finetune has no 'epoch'. Did you mean 'epochs'",
        ),
        (["--set", "finetune.epochs=many"], "'finetune.epochs' must be an integer; got 'many'"),
        (["--set", "finetune.optimizer=lbfgs"], "'finetune.optimizer' is 'lbfgs'; choose one of"),
        (["--set", "model.layer_sizes=[100,2]"], "model.layer_sizes starts with 100"),
        (["--data-root", "/no/such/folder"], "--data-root '/no/such/folder' is not a folder"),
        (["--config", "/no/such.toml"], "config file '/no/such.toml' does not exist"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, args, message):
    result = _ebmzoo("run", "hinton2006-mnist-2d", "--out", str(tmp_path),
                     "--data-root", str(DATA_ROOT), *args)  # fmt: skip
    assert result.returncode == 2
    # Errors found once the run has started follow its plain log lines on stderr.
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.stderr


def test_print_config_shows_the_resolved_config_with_its_seed():
    result = _ebmzoo("run", "hinton2006-mnist-30d", "--seed", "3", "--set", "finetune.epochs=9",
                     "--print-config")  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["seed"] == 3 and shown["config"]["finetune"]["epochs"] == 9
    assert shown["config"]["model"]["layer_sizes"] == [784, 1000, 500, 250, 30]
