"""The registry: lookup, close-match suggestions, clashes, and isolation of broken plugins."""

from __future__ import annotations

import pytest

from ebmzoo import hookimpl
from ebmzoo.errors import PluginError, UnknownNameError
from ebmzoo.records import ModelEntry, SamplerEntry
from ebmzoo.registry import Registry

from .conftest import TinyModel, TinyPlugin


def test_lookup_returns_the_registered_record(registry):
    entry = registry.model("tiny")
    assert entry.factory is TinyModel
    assert registry.owner("models", "tiny") == "tiny-plugin"
    assert registry.names("models") == ["tiny"]


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(UnknownNameError, match="Did you mean 'tiny'"):
        registry.model("tinny")


def test_unknown_kind_is_an_error(registry):
    with pytest.raises(UnknownNameError, match="no kind 'modles'"):
        registry.names("modles")


def test_two_plugins_with_one_name_is_an_error_naming_both():
    registry = Registry(plugins={"first": TinyPlugin(), "second": TinyPlugin()})
    with pytest.raises(PluginError) as err:
        registry.model("tiny")
    assert "'first'" in str(err.value) and "'second'" in str(err.value)


class RaisingPlugin:
    @hookimpl
    def ebmzoo_samplers(self):
        raise RuntimeError("sampler table is broken")

    @hookimpl
    def ebmzoo_models(self):
        return [ModelEntry("doomed", TinyModel, "registered before the failure")]


def test_a_plugin_raising_in_a_hook_is_failed_and_the_rest_keep_working():
    registry = Registry(plugins={"good": TinyPlugin(), "bad": RaisingPlugin()})
    bad = next(p for p in registry.plugins if p.name == "bad")
    assert bad.status == "failed"
    assert "sampler table is broken" in bad.error
    assert registry.names("models") == ["tiny"], "a failed plugin's records must be dropped"


class WrongRecordPlugin:
    @hookimpl
    def ebmzoo_models(self):
        return [SamplerEntry("not-a-model", dict, "wrong record type")]


def test_a_hook_returning_the_wrong_record_type_fails_that_plugin():
    registry = Registry(plugins={"wrong": WrongRecordPlugin(), "good": TinyPlugin()})
    wrong = next(p for p in registry.plugins if p.name == "wrong")
    assert wrong.status == "failed" and "SamplerEntry" in wrong.error
    assert registry.names("models") == ["tiny"]


def test_plugin_json_lists_what_it_registers(registry):
    [info] = registry.plugins
    record = info.to_json()
    assert record["status"] == "ok" and record["error"] is None
    assert record["registers"] == {"models": ["tiny"]}


def test_model_name_of_an_unregistered_class_is_an_error(registry):
    class Stranger(TinyModel):
        pass

    with pytest.raises(PluginError, match="not a registered model"):
        registry.model_name_of(Stranger(1, 1))


class OtherPlugin:
    @hookimpl
    def ebmzoo_samplers(self):
        return [SamplerEntry("other", dict, "an unrelated sampler")]


def test_a_clash_keeps_the_first_owner_and_blocks_only_that_name():
    registry = Registry(plugins={"first": TinyPlugin(), "second": TinyPlugin(),
                                 "other": OtherPlugin()})  # fmt: skip
    assert registry.owner("models", "tiny") == "first"
    assert registry.sampler("other").name == "other"
