"""The zoo's Python API: publish a run, load it back exactly, fetch over HTTP safely."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch

import ebmzoo
from ebmzoo import hookimpl
from ebmzoo import zoo as zoo_module
from ebmzoo.errors import UnknownNameError, WeightsError, ZooError
from ebmzoo.registry import Registry
from ebmzoo.weights import load_model, save_model
from ebmzoo.zoo import Zoo, ZooEntry, ZooFile, cache_dir, user_zoo_dir

from .conftest import TinyAutoencoder, TinyPlugin, make_run

LICENCE = "CC BY-SA 3.0"


def _publish(zoo, tmp_path, name="tiny-ae", **options):
    model = make_run(tmp_path / "run", zoo.registry)
    entry = zoo.publish(tmp_path / "run", name, licence=LICENCE, **options)
    return model, entry


def _remote(zoo, entry, server, name="remote-ae", payload=None):
    """Serve ``entry``'s weights (or ``payload``) over HTTP under a new entry name."""
    local = entry.weights_file
    data = payload if payload is not None else Path(local.sources[0]).read_bytes()
    (server.root / local.name).write_bytes(data)
    url = f"{server.url}/{local.name}"
    remote = dataclasses.replace(
        entry, name=name, files=(dataclasses.replace(local, sources=(url,)),)
    )
    path = zoo.user_dir / f"{name}.json"
    path.write_text(json.dumps(remote.to_json()))
    return url


def _assert_same(model, loaded):
    assert type(loaded) is type(model)
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, tensor in model.state_dict().items():
        got = loaded.state_dict()[key]
        assert got.dtype == tensor.dtype and torch.equal(got, tensor), key


def test_published_run_records_every_fact_and_loads_back_exactly(zoo, tmp_path):
    model, entry = _publish(zoo, tmp_path, summary="a tiny autoencoder")

    data = (zoo.user_dir / "tiny-ae.safetensors").read_bytes()
    assert entry.weights_file.sha256 == hashlib.sha256(data).hexdigest()
    assert entry.weights_file.size == len(data)
    assert entry.model == "tiny-autoencoder" and entry.model_config == model.config
    assert entry.metrics == {"test_mse": 0.031, "test_sse_per_image": 24.3}
    assert (entry.recipe, entry.seed, entry.ebmzoo_version) == ("tiny-recipe", 3, "0.1.0")
    assert entry.recipe_config["finetune"] == {"epochs": 1}
    assert (entry.dataset, entry.dataset_licence) == ("mnist", LICENCE)

    loaded = zoo.load("tiny-ae")
    _assert_same(model, loaded)
    assert not loaded.training
    x = torch.rand(4, 6)
    assert torch.equal(loaded.decode(loaded.encode(x)), model.decode(model.encode(x)))


def test_entry_file_is_self_contained_and_uses_a_relative_source(zoo, tmp_path):
    _, entry = _publish(zoo, tmp_path)
    raw = json.loads((zoo.user_dir / "tiny-ae.json").read_text())
    assert raw["ebmzoo_zoo_entry"] == 1
    assert raw["files"][0]["sources"] == ["tiny-ae.safetensors"]

    moved = tmp_path / "moved"
    (zoo.user_dir).rename(moved)
    again = ZooEntry.from_json_file(moved / "tiny-ae.json")
    assert again.weights_file.sources == (str((moved / "tiny-ae.safetensors").resolve()),)
    assert again.to_json(relative_to=moved.resolve()) == raw


def test_default_weights_file_is_the_one_that_is_not_an_rbm(zoo, tmp_path):
    _, entry = _publish(zoo, tmp_path)
    assert entry.model == "tiny-autoencoder"

    # A second autoencoder makes the choice ambiguous.
    other = TinyAutoencoder(6, 2)
    save_model(other, tmp_path / "run" / "autoencoder-naive.safetensors", registry=zoo.registry)
    with pytest.raises(ZooError, match="pass --file") as err:
        zoo.publish(tmp_path / "run", "second", licence=LICENCE)
    assert "autoencoder-naive.safetensors" in str(err.value)
    assert "autoencoder-pretrained.safetensors" in str(err.value)

    rbm = zoo.publish(tmp_path / "run", "rbm", file="rbm1.safetensors", licence=LICENCE)
    assert rbm.model == "rbm-tiny" and rbm.metrics == {}
    naive = zoo.publish(
        tmp_path / "run",
        "naive",
        file="autoencoder-naive.safetensors",
        licence=LICENCE,
        metrics_key="pca",
    )
    assert naive.metrics == {"test_mse": 0.05, "test_sse_per_image": 39.2}
    _assert_same(other, zoo.load("naive"))


def test_half_precision_storage_loads_as_the_models_float32(zoo, tmp_path):
    model, entry = _publish(zoo, tmp_path, storage_dtype="float16")
    assert entry.storage_dtype == "float16"

    loaded = zoo.load("tiny-ae")
    for key, tensor in model.state_dict().items():
        got = loaded.state_dict()[key]
        assert got.dtype == tensor.dtype
        want = tensor.half().float() if tensor.is_floating_point() else tensor
        assert torch.equal(got, want), key
    # Outside the zoo, loading stays strict about dtypes.
    with pytest.raises(WeightsError, match="float16"):
        load_model(zoo.path("tiny-ae"), registry=zoo.registry)


def test_pull_over_http_verifies_caches_and_then_needs_no_network(zoo, tmp_path, server):
    model, entry = _publish(zoo, tmp_path)
    url = _remote(zoo, entry, server)

    paths = zoo.fetch("remote-ae")
    assert server.requests == [url.removeprefix(server.url)]
    assert paths == {entry.weights_file.name: zoo.cache_path(entry.weights_file)}
    _assert_same(model, zoo.load("remote-ae"))
    assert len(server.requests) == 1
    assert [c.status for c in zoo.verify("remote-ae")] == ["ok"]


def test_tampered_download_is_rejected_naming_url_and_both_hashes_and_not_cached(
    zoo, tmp_path, server
):
    _, entry = _publish(zoo, tmp_path)
    good = Path(entry.weights_file.sources[0]).read_bytes()
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    url = _remote(zoo, entry, server, payload=bytes(bad))

    with pytest.raises(ZooError) as err:
        zoo.load("remote-ae")
    message = str(err.value)
    assert url in message
    assert hashlib.sha256(bytes(bad)).hexdigest() in message
    assert entry.weights_file.sha256 in message
    assert "\n" not in message
    cache = zoo.cache
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_offline_switch_blocks_every_request(zoo, tmp_path, server, monkeypatch):
    _, entry = _publish(zoo, tmp_path)
    _remote(zoo, entry, server)
    monkeypatch.setenv("EBMZOO_OFFLINE", "1")

    with pytest.raises(ZooError, match="EBMZOO_OFFLINE=1 forbids downloading"):
        zoo.load("remote-ae")
    assert server.requests == []


def test_unknown_entry_suggests_close_names(zoo, tmp_path):
    _publish(zoo, tmp_path)
    with pytest.raises(UnknownNameError, match="Did you mean 'tiny-ae'"):
        zoo.load("tiny-ea")


def test_all_sources_failing_lists_each_failure(zoo, tmp_path, server):
    _, entry = _publish(zoo, tmp_path)
    missing = tmp_path / "nowhere" / "w.safetensors"
    file = dataclasses.replace(
        entry.weights_file, sources=(str(missing), f"{server.url}/absent.safetensors")
    )
    broken = dataclasses.replace(entry, name="broken", files=(file,))
    (zoo.user_dir / "broken.json").write_text(json.dumps(broken.to_json()))

    with pytest.raises(ZooError) as err:
        zoo.load("broken")
    message = str(err.value)
    assert "none of the 2 sources" in message
    assert str(missing) in message and "HTTP 404" in message


def test_corrupt_cached_copy_is_found_by_verify_and_fetched_again(zoo, tmp_path, server):
    model, entry = _publish(zoo, tmp_path)
    _remote(zoo, entry, server)
    cached = zoo.fetch("remote-ae")[entry.weights_file.name]
    cached.write_bytes(b"x" * entry.weights_file.size)

    checks = zoo.verify("remote-ae")
    assert [c.status for c in checks] == ["mismatch"] and not cached.exists()
    _assert_same(model, zoo.load("remote-ae"))
    assert len(server.requests) == 2


def test_plugins_contribute_entries_through_the_hook(registry, tmp_path):
    publisher = Zoo(registry=registry, user_dir=tmp_path / "built", cache=tmp_path / "cache")
    model, _ = _publish(publisher, tmp_path)
    entry_file = tmp_path / "built" / "tiny-ae.json"

    class ZooPlugin:
        @hookimpl
        def ebmzoo_zoo_entries(self):
            return [ZooEntry.from_json_file(entry_file)]

    plugins = Registry(plugins={"tiny-plugin": TinyPlugin(), "zoo-plugin": ZooPlugin()})
    zoo = Zoo(registry=plugins, user_dir=tmp_path / "user", cache=tmp_path / "cache")
    assert zoo.names() == ["tiny-ae"] and zoo.origin("tiny-ae") == "plugin zoo-plugin"
    _assert_same(model, zoo.load("tiny-ae"))

    # A user entry may not quietly shadow a plugin's.
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "tiny-ae.json").write_text(entry_file.read_text())
    with pytest.raises(ZooError, match="defined by plugin zoo-plugin and by"):
        zoo.load("tiny-ae")


def test_a_taken_name_is_refused_unless_replacing_a_user_entry(zoo, tmp_path):
    _publish(zoo, tmp_path)
    with pytest.raises(ZooError, match="already exists.*--replace"):
        zoo.publish(tmp_path / "run", "tiny-ae", licence=LICENCE)
    zoo.publish(tmp_path / "run", "tiny-ae", licence=LICENCE, replace=True, summary="new")
    assert zoo.get("tiny-ae").summary == "new"


def test_weights_that_do_not_match_the_entry_are_refused(zoo, tmp_path):
    _, entry = _publish(zoo, tmp_path)
    lying = dataclasses.replace(entry, name="lying", model_config={"n_visible": 6, "n_code": 3})
    (zoo.user_dir / "lying.json").write_text(json.dumps(lying.to_json()))
    with pytest.raises(ZooError, match="records model 'tiny-autoencoder' with config"):
        zoo.load("lying")


def test_unfinished_runs_and_missing_facts_are_refused(zoo, tmp_path):
    make_run(tmp_path / "run", zoo.registry)
    with pytest.raises(ZooError, match="--licence"):
        zoo.publish(tmp_path / "run", "x")
    (tmp_path / "run" / "metrics.json").unlink()
    with pytest.raises(ZooError, match="has not finished"):
        zoo.publish(tmp_path / "run", "x", licence=LICENCE)
    with pytest.raises(ZooError, match="not an ebmzoo run directory"):
        zoo.publish(tmp_path, "x", licence=LICENCE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "unknown keys \\['colour'\\]"),
        ({"ebmzoo_zoo_entry": 9}, "reads format 1"),
        ({"seed": "zero"}, "'seed' must be a JSON integer"),
        ({"files": [{"name": "w", "sha256": "abc", "size": 1, "sources": ["/w"]}]}, "64 lowercase"),
        (
            {"files": [{"name": "w", "sha256": "0" * 64, "size": 1, "sources": ["ftp://h/w"]}]},
            "scheme 'ftp'",
        ),
    ],
)
def test_bad_entry_files_name_the_file_and_the_problem(zoo, tmp_path, change, message):
    _, entry = _publish(zoo, tmp_path)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**entry.to_json(), **change}))
    with pytest.raises(ZooError, match=message):
        ZooEntry.from_json_file(path)


def test_load_pretrained_is_one_call_reading_the_environment(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("EBMZOO_ZOO_DIR", str(tmp_path / "zoo"))
    monkeypatch.setenv("EBMZOO_CACHE", str(tmp_path / "cache"))
    model, _ = _publish(Zoo(registry=registry), tmp_path)
    _assert_same(model, ebmzoo.load_pretrained("tiny-ae", registry=registry))
    assert [e.name for e in zoo_module.list_entries(registry=registry)] == ["tiny-ae"]


def test_default_folders_follow_the_environment(monkeypatch, tmp_path):
    for name in ("EBMZOO_CACHE", "EBMZOO_ZOO_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "ebmzoo"
    assert user_zoo_dir() == tmp_path / ".local" / "share" / "ebmzoo" / "zoo"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "ebmzoo"
    monkeypatch.setenv("EBMZOO_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_records_refuse_bad_values():
    with pytest.raises(ZooError, match="must be an absolute path"):
        ZooFile("w.safetensors", "0" * 64, 1, ("relative/w.safetensors",))
    with pytest.raises(ZooError, match="plain file name"):
        ZooFile("../w", "0" * 64, 1, ("/w",))
