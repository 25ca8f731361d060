"""Safetensors weights: exact round trips, and a one-line error for every bad file."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from ebmzoo import testing
from ebmzoo.errors import PluginError, WeightsError
from ebmzoo.weights import load_model, read_tensors, save_model

from .conftest import TinyModel


def test_round_trip_is_exact_and_rebuilds_from_the_file_alone(registry, tmp_path):
    model = TinyModel(3, 5)
    loaded = testing.check_save_load_round_trip(model, tmp_path, registry=registry)
    assert loaded.n_in == 3 and loaded.n_out == 5


def test_metadata_records_name_config_and_versions(registry, tmp_path):
    path = save_model(
        TinyModel(2, 4),
        tmp_path / "m.safetensors",
        registry=registry,
        metadata={"recipe": "unit-test"},
    )
    _, meta = read_tensors(path)
    assert meta["ebmzoo.model"] == "tiny"
    assert json.loads(meta["ebmzoo.config"]) == {"n_in": 2, "n_out": 4}
    assert meta["ebmzoo.format"] == "1" and meta["ebmzoo.version"]
    assert meta["recipe"] == "unit-test"


def test_writes_leave_no_temporary_files(registry, tmp_path):
    save_model(TinyModel(2, 2), tmp_path / "m.safetensors", registry=registry)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def _saved(registry, tmp_path):
    return save_model(TinyModel(3, 4), tmp_path / "m.safetensors", registry=registry)


def _assert_one_line_error(path, registry, match):
    with pytest.raises(WeightsError, match=match) as err:
        load_model(path, registry=registry)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("keep", [0, 5, 9, 40, -3])
def test_truncated_file_is_a_clear_error(registry, tmp_path, keep):
    path = _saved(registry, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    _assert_one_line_error(path, registry, "truncated|not a safetensors|corrupt")


def test_garbage_file_is_a_clear_error(registry, tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00this is not json at all")
    _assert_one_line_error(path, registry, "not a safetensors file")


def test_foreign_safetensors_file_is_refused(registry, tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3, 4), "bias": torch.zeros(4)}, str(path))
    _assert_one_line_error(path, registry, "not one written by ebmzoo")


def test_shapes_that_do_not_match_the_config_are_refused(registry, tmp_path):
    path = _saved(registry, tmp_path)
    tensors, meta = read_tensors(path)
    meta["ebmzoo.config"] = json.dumps({"n_in": 3, "n_out": 7})
    save_file(tensors, str(path), metadata=meta)
    _assert_one_line_error(path, registry, "does not match its config")


def test_unknown_model_name_is_refused(registry, tmp_path):
    path = _saved(registry, tmp_path)
    tensors, meta = read_tensors(path)
    meta["ebmzoo.model"] = "no-such-model"
    save_file(tensors, str(path), metadata=meta)
    _assert_one_line_error(path, registry, "no installed plugin provides")


def test_missing_tensor_is_refused(registry, tmp_path):
    path = _saved(registry, tmp_path)
    tensors, meta = read_tensors(path)
    del tensors["bias"]
    save_file(tensors, str(path), metadata=meta)
    _assert_one_line_error(path, registry, "missing tensors \\['bias'\\]")


def test_missing_file_is_a_clear_error(registry, tmp_path):
    _assert_one_line_error(tmp_path / "absent.safetensors", registry, "does not exist")


def test_a_failed_save_keeps_the_previous_file(registry, tmp_path):
    path = _saved(registry, tmp_path)
    before = path.read_bytes()

    class Unsavable(TinyModel):
        pass

    with pytest.raises(PluginError, match="not a registered model"):
        save_model(Unsavable(3, 4), path, registry=registry)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
