"""Typed configs: building, overrides, and one-line errors for bad keys and values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from ebmzoo import config as cfg
from ebmzoo.errors import ConfigError


@dataclass
class Inner:
    epochs: int = 3
    rate: float = 0.1
    sizes: list[int] = field(default_factory=lambda: [4, 2])
    loss: Literal["mse", "bce"] = "bce"
    limit: int | None = None
    verbose: bool = False


@dataclass
class Outer:
    name: str = "demo"
    train: Inner = field(default_factory=Inner)


def _build(*overrides: str) -> Outer:
    values: dict = {}
    for text in overrides:
        values = cfg.merge(values, cfg.parse_override(text, Outer))
    return cfg.build(Outer, values)


def test_overrides_convert_to_the_declared_types():
    config = _build(
        "train.epochs=7",
        "train.rate=1e-3",
        "train.sizes=[8,4,2]",
        "train.loss=mse",
        "train.limit=100",
        "train.verbose=true",
        "name=other",
    )
    assert config.train == Inner(
        epochs=7, rate=1e-3, sizes=[8, 4, 2], loss="mse", limit=100, verbose=True
    )
    assert config.name == "other"


def test_none_resets_an_optional_value():
    assert _build("train.limit=5", "train.limit=none").train.limit is None


def test_comma_separated_lists_are_accepted():
    assert _build("train.sizes=3,2").train.sizes == [3, 2]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.epoch=3", "unknown config key 'train.epoch'.*Did you mean 'epochs'"),
        ("trian.epochs=3", "unknown config key 'trian.epochs'.*Did you mean 'train'"),
        ("train.epochs=three", "'train.epochs' must be an integer; got 'three'"),
        ("train.rate=fast", "'train.rate' must be a number"),
        ("train.rate=nan", "'train.rate' must be a finite number"),
        ("train.rate=inf", "'train.rate' must be a finite number"),
        ("train.loss=l1", "'train.loss' is 'l1'; choose one of 'mse', 'bce'"),
        ("train.verbose=maybe", "must be true or false"),
        ("train=3", "is a section"),
        ("train.epochs.deep=1", "is a value, not a section"),
        ("epochs", "not of the form key.sub=value"),
    ],
)
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message) as err:
        _build(override)
    assert "\n" not in str(err.value)


def test_merge_is_deep():
    assert cfg.merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_to_mapping_round_trips():
    config = _build("train.epochs=9")
    assert cfg.build(Outer, cfg.to_mapping(config)) == config
