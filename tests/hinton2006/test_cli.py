"""The Hinton 2006 recipes through the real ``ebmzoo run`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

SMALL = [
    "--set",
    "data.train_limit=200",
    "--set",
    "data.test_limit=50",
    "--set",
    "model.layer_sizes=[64,16,2]",
    "--set",
    "pretrain.epochs=2",
    "--set",
    "finetune.epochs=2",
]


def _ebmzoo(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ebmzoo", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_digits_recipe_runs_from_the_command_line_and_resumes(tmp_path):
    result = _ebmzoo("run", "hinton2006-digits", "--out", str(tmp_path), "--seed", "5", *SMALL)
    assert result.returncode == 0, result.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"pretrained", "naive", "pca"} <= metrics.keys()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["model"]["layer_sizes"] == [64, 16, 2]

    # Resuming a finished run redoes no training and reports the same numbers.
    again = _ebmzoo("run", "--resume", str(run_dir))
    assert again.returncode == 0, again.stderr
    resumed = json.loads((run_dir / "metrics.json").read_text())
    for method in ("pretrained", "naive", "pca"):
        assert resumed[method]["test_mse"] == metrics[method]["test_mse"]


def test_missing_mnist_without_network_says_to_pass_data_root(tmp_path):
    import os

    env = dict(os.environ, EBMZOO_CACHE=str(tmp_path / "cache"))
    result = _ebmzoo(
        "run",
        "hinton2006-mnist-2d",
        "--out",
        str(tmp_path),
        "--set",
        "data.download=false",
        env=env,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "--data-root DIR" in last, result.stderr
    assert "Traceback" not in result.stderr
