"""``ebmzoo run`` under torchrun: two gloo processes on 127.0.0.1 against one, and a crash.

The runs read the first 301 images of the real MNIST from ``../shared/data``. The batch sizes
leave uneven last batches: 301 = 10 x 30 + 1 in pretraining, so rank 0's part of the last batch
is empty, and 301 = 6 x 45 + 31 in fine-tuning (15 + 16 rows).

Tolerance: two processes train the same weights as one up to float rounding. In float32 the
sums over the rows of a batch are split differently between the processes, which changes
results by about 1e-7; on this slice, with 2 epochs per layer, the largest differences
measured were 3.6e-7 (RBMs and the pretrained autoencoder) and 3.1e-7 (naive autoencoder),
and 1.8e-6 with three processes. The test allows ``atol=1e-5``. A Bernoulli draw compares a
uniform with a probability, so a rounding difference flips a hidden state if a uniform falls
within ~1e-7 of its probability; the runs then follow different trajectories and differ by
more than 1e-3. On this slice that has a chance of roughly 1e-3 over 2 epochs (it did happen
over 50 epochs per layer), and the seeds are fixed, so the outcome does not change from run
to run. The float64 tests in ``test_data_parallel.py`` check the same code to 1e-10.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file

from .helpers import free_port

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ATOL = 1e-5

SMALL = [
    "hinton2006-mnist-2d",
    "--data-root",
    str(DATA_ROOT),
    "--seed",
    "3",
    "--set",
    "data.train_limit=301",
    "--set",
    "data.test_limit=100",
    "--set",
    "model.layer_sizes=[784,32,8,2]",
    "--set",
    "pretrain.epochs=2",
    "--set",
    "finetune.epochs=2",
    "--set",
    "pretrain.batch_size=30",
    "--set",
    "pretrain.monitor_size=100",
    "--set",
    "finetune.batch_size=45",
]

pytestmark = pytest.mark.skipif(
    not (DATA_ROOT / "MNIST" / "raw").is_dir(), reason=f"MNIST is not in {DATA_ROOT}"
)


def _env() -> dict[str, str]:
    # One thread per process, as torchrun would choose, so that both runs round alike.
    return dict(os.environ, OMP_NUM_THREADS="1")


def _torchrun(port: int, nproc: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        str(nproc),
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        "-m",
        "ebmzoo",
    ]


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=180, env=_env())


def _only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _max_differences(one: Path, two: Path) -> dict[str, float]:
    """Largest absolute difference per weights file between two run directories."""
    differences = {}
    for path in sorted(one.glob("*.safetensors")):
        a, b = load_file(path), load_file(two / path.name)
        assert a.keys() == b.keys(), path.name
        differences[path.name] = max((a[k] - b[k]).abs().max().item() for k in a)
    return differences


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """One run with one process and one with two, from the same seed and config."""
    base = tmp_path_factory.mktemp("torchrun")
    alone = _run([sys.executable, "-m", "ebmzoo", "run", *SMALL, "--out", str(base / "one")])
    assert alone.returncode == 0, alone.stderr
    together = _run([*_torchrun(free_port()), "run", *SMALL, "--out", str(base / "two")])
    assert together.returncode == 0, together.stderr
    return {
        "one": _only_run_dir(base / "one"),
        "two": _only_run_dir(base / "two"),
        "stdout": together.stdout,
        "stderr": together.stderr,
    }


def test_two_processes_train_the_weights_of_one_process(runs):
    differences = _max_differences(runs["one"], runs["two"])
    assert set(differences) == {
        "rbm1.safetensors",
        "rbm2.safetensors",
        "rbm3.safetensors",
        "autoencoder-pretrained.safetensors",
        "autoencoder-naive.safetensors",
    }
    assert max(differences.values()) < ATOL, differences

    one = json.loads((runs["one"] / "metrics.json").read_text())
    two = json.loads((runs["two"] / "metrics.json").read_text())
    for method in ("pretrained", "naive", "pca"):
        assert two[method]["test_mse"] == pytest.approx(one[method]["test_mse"], rel=1e-4)


def test_only_rank_0_writes_files_logs_and_results(runs):
    names = {p.relative_to(runs["one"]) for p in runs["one"].rglob("*")}
    assert {p.relative_to(runs["two"]) for p in runs["two"].rglob("*")} == names
    log = (runs["two"] / "log.txt").read_text()
    assert "RBM 1 (784-32) epoch 2/2" in log
    assert "rank 1" not in log
    assert "rank 1" not in runs["stderr"], runs["stderr"]
    assert runs["stdout"].count("run directory:") == 1


def test_resume_with_two_processes_continues_a_one_process_run(runs, tmp_path):
    run_dir = tmp_path / "resumed"
    shutil.copytree(runs["one"], run_dir)
    # Keep the first two RBMs' checkpoints; the third RBM and fine-tuning start over.
    for name in ("rbm3.safetensors", "finetune-pretrained.safetensors"):
        (run_dir / "checkpoints" / name).unlink()
    resume = ["run", "--resume", str(run_dir), "--data-root", str(DATA_ROOT)]
    result = _run([*_torchrun(free_port()), *resume])
    assert result.returncode == 0, result.stderr
    assert "RBM 1: resuming after epoch 2" in (run_dir / "log.txt").read_text()
    differences = _max_differences(runs["one"], run_dir)
    assert max(differences.values()) < ATOL, differences


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name in parentheses may hold spaces; the parent follows the state.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _rank_of(pid: int) -> int | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"RANK="):
            return int(item[5:])
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds workers through /proc")
def test_a_killed_process_ends_the_run_with_a_report_naming_its_rank(tmp_path):
    out = tmp_path / "crash"
    command = [
        *_torchrun(free_port()),
        "run",
        *SMALL,
        "--out",
        str(out),
        "--set",
        "pretrain.epochs=5000",
    ]
    launcher = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        # Wait until both workers train, so that the kill lands mid-run.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            logs = list(out.glob("*/log.txt"))
            if logs and "RBM 1 (784-32) epoch 3/" in logs[0].read_text():
                break
            assert launcher.poll() is None, launcher.communicate()[1]
            time.sleep(0.2)
        else:
            pytest.fail("the two-process run did not start training within 90 s")
        workers = {_rank_of(pid): pid for pid in _children(launcher.pid)}
        assert set(workers) == {0, 1}, workers

        os.kill(workers[1], signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = launcher.communicate(timeout=60)
        seconds = time.monotonic() - killed
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.communicate()

    assert launcher.returncode != 0
    assert seconds < 60
    # torchrun's report: the killed rank, its signal, and that the run failed.
    assert "ebmzoo FAILED" in stderr, stderr
    assert re.search(r"rank\s*:\s*1 \(local_rank: 1\)\s*\n\s*exitcode\s*:\s*-9", stderr), stderr
    assert "SIGKILL" in stderr
