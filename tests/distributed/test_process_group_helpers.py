"""The helpers of ``ebmzoo.distributed`` in a single process: no-ops, timeout, peer errors."""

from __future__ import annotations

import datetime as dt

import pytest
import torch

from ebmzoo import distributed
from ebmzoo.errors import ConfigError


def test_collectives_are_no_ops_in_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    tensor = torch.tensor([1.0, 2.0])
    assert distributed.all_reduce_mean_(tensor) is tensor
    assert distributed.all_reduce_sum_(tensor).tolist() == [1.0, 2.0]
    distributed.barrier()
    distributed.agree(3, "anything")
    with distributed.main_first():
        pass
    assert distributed.setup(torch.device("cpu")) == (0, 1)


def test_timeout_defaults_to_five_minutes_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("EBMZOO_DIST_TIMEOUT", raising=False)
    assert distributed.timeout() == dt.timedelta(seconds=300)
    monkeypatch.setenv("EBMZOO_DIST_TIMEOUT", "12.5")
    assert distributed.timeout() == dt.timedelta(seconds=12.5)


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan"])
def test_a_bad_timeout_is_named_in_the_error(monkeypatch, value):
    monkeypatch.setenv("EBMZOO_DIST_TIMEOUT", value)
    with pytest.raises(ConfigError, match=f"EBMZOO_DIST_TIMEOUT='{value}'"):
        distributed.timeout()


def test_a_lost_peer_becomes_one_line_naming_the_rank():
    error = RuntimeError(
        "[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
        "[127.0.0.1]:19090: Connection reset by peer. This is typically caused by a remote "
        "worker hanging"
    )
    lost = distributed.peer_failure(error, 0)
    assert str(lost) == (
        "rank 0 lost contact with the other processes (Read error [127.0.0.1]:19090: "
        "Connection reset by peer); another process failed or was killed, and torchrun's "
        "report names its rank"
    )


def test_other_errors_are_not_taken_for_a_lost_peer():
    assert distributed.peer_failure(RuntimeError("shape mismatch"), 0) is None
    assert distributed.peer_failure(ValueError("gloo"), 0) is None


def test_local_device_picks_the_gpu_of_the_local_rank(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert distributed.local_device(torch.device("cuda")) == torch.device("cuda", 3)
    assert distributed.local_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert distributed.local_device(torch.device("cpu")) == torch.device("cpu")
