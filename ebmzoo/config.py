"""Typed recipe configs: dataclasses built from nested mappings, with ``--set`` overrides.

A recipe declares its config as (nested) dataclasses. Values arrive as defaults in recipe
files, a ``--config`` TOML file and ``--set key.sub=value`` strings; this module merges them,
checks every key and converts every value to its declared type, so a typo or a wrong type is
a one-line :class:`~ebmzoo.errors.ConfigError` before any work starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ebmzoo.errors import ConfigError, suggest

__all__ = ["build", "merge", "parse_override", "to_mapping"]


def to_mapping(config: Any) -> dict[str, Any]:
    """Turn a config dataclass instance into nested plain dicts (JSON-serialisable)."""
    return dataclasses.asdict(config)


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``update``, merging nested mappings key by key."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_override(text: str, config_type: type) -> dict[str, Any]:
    """Turn ``"a.b=value"`` into ``{"a": {"b": value}}``, checking the key against the schema.

    The value is converted to the declared type later by :func:`build`; here it stays a string
    unless it is JSON (lists, numbers, booleans), so ``--set model.sizes=[784,500]`` works.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r} is not of the form key.sub=value")

    owner = config_type
    parts = key.split(".")
    for depth, part in enumerate(parts):
        fields = _fields(owner)
        if part not in fields:
            where = ".".join(parts[:depth]) or "the config"
            raise ConfigError(
                f"unknown config key {key!r}: {where} has no {part!r}.{suggest(part, fields)}"
                " See the keys with --print-config."
            )
        owner = fields[part]
        if depth < len(parts) - 1 and not _is_dataclass_type(owner):
            raise ConfigError(
                f"unknown config key {key!r}: {'.'.join(parts[: depth + 1])} is a value, not a "
                "section"
            )

    value: Any = raw
    with contextlib.suppress(ValueError):
        value = json.loads(raw)
    nested: Any = value
    for part in reversed(parts):
        nested = {part: nested}
    return nested


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file, turning syntax errors into one-line config errors."""
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist; check the path") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {str(path)!r}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None


def build(config_type: type, values: Mapping[str, Any], *, where: str = "") -> Any:
    """Build an instance of the dataclass ``config_type`` from nested ``values``.

    Unknown keys and values that do not convert to the declared type raise ConfigError;
    keys that are absent keep the dataclass defaults.
    """
    fields = _fields(config_type)
    unknown = [k for k in values if k not in fields]
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"unknown config key {where + key!r}.{suggest(key, fields)}"
            " See the keys with --print-config."
        )

    kwargs = {}
    for name, declared in fields.items():
        if name not in values:
            continue
        kwargs[name] = _convert(values[name], declared, where + name)
    try:
        return config_type(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config section {where.rstrip('.') or 'root'!r}: {err}") from None


def _fields(config_type: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_type) if f.init}


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _convert(value: Any, declared: Any, key: str) -> Any:
    """Convert ``value`` to the type ``declared``, or raise a ConfigError naming ``key``."""
    if _is_dataclass_type(declared):
        if dataclasses.is_dataclass(value):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"config key {key!r} is a section; set its keys as {key}.NAME=...")
        return build(declared, value, where=key + ".")

    origin = typing.get_origin(declared)
    args = typing.get_args(declared)
    if origin in (typing.Union, types.UnionType):
        none_text = isinstance(value, str) and value.strip().lower() in ("none", "null")
        if type(None) in args and (value is None or none_text):
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(value, option, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"config key {key!r} cannot be {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(repr(a) for a in args)
        raise ConfigError(f"config key {key!r} is {value!r}; choose one of {choices}")
    if origin in (list, tuple, Iterable) or declared in (list, tuple):
        items = value
        if isinstance(items, str):
            items = [item for item in items.replace("[", "").replace("]", "").split(",") if item]
        if not isinstance(items, list | tuple):
            raise ConfigError(
                f"config key {key!r} must be a list, like {key}=[1,2,3]; got {value!r}"
            )
        item_type = args[0] if args else Any
        converted = [_convert(item, item_type, f"{key}[{i}]") for i, item in enumerate(items)]
        return tuple(converted) if origin is tuple or declared is tuple else converted
    if declared is Any:
        return value
    if declared is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"config key {key!r} must be true or false; got {value!r}")
    if declared is int:
        if isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be an integer; got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"config key {key!r} must be an integer; got {value!r}") from None
    if declared is float:
        if isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be a number; got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key!r} must be a number; got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"config key {key!r} must be a finite number; got {value!r}")
        return number
    if declared is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            # ``--set name=123`` arrives as JSON 123; a string field still means "123".
            return str(value)
        raise ConfigError(f"config key {key!r} must be a string; got {value!r}")
    if declared is Path:
        return Path(str(value))
    raise ConfigError(f"config key {key!r} has a type ebmzoo cannot read: {declared!r}")
