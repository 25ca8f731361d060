"""The registry: plugins found through entry points, their records looked up by name.

Every plugin, first-party or not, is a module named by an entry point in the ``ebmzoo`` group.
The registry loads each one into a pluggy plugin manager and calls its hooks one plugin at a
time, so that a plugin that fails to import or raises in a hook is reported as failed while
every other plugin keeps working. Names are unique per kind: two plugins registering the same
name is an error naming both.

Set ``EBMZOO_DISABLE_PLUGINS`` to a comma-separated list of plugin names to switch them off,
or include the word ``third-party`` to switch off every plugin not shipped with ebmzoo.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ebmzoo import hookspecs
from ebmzoo.errors import PluginError, UnknownNameError, suggest
from ebmzoo.records import (
    CommandEntry,
    DatasetEntry,
    ModelEntry,
    RecipeEntry,
    SamplerEntry,
    StackerEntry,
)

__all__ = ["KINDS", "PluginInfo", "Registry", "get_registry", "reset_registry"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ebmzoo"
DISABLE_VARIABLE = "EBMZOO_DISABLE_PLUGINS"
FIRST_PARTY_DISTRIBUTION = "ebmzoo"

KINDS: dict[str, str] = {
    "models": "ebmzoo_models",
    "samplers": "ebmzoo_samplers",
    "stackers": "ebmzoo_stackers",
    "recipes": "ebmzoo_recipes",
    "datasets": "ebmzoo_datasets",
    "commands": "ebmzoo_commands",
    "zoo": "ebmzoo_zoo_entries",
}
"""Each kind of record, by the name used on the command line, and the hook that returns it."""

_RECORD_TYPES: dict[str, type] = {
    "models": ModelEntry,
    "samplers": SamplerEntry,
    "stackers": StackerEntry,
    "recipes": RecipeEntry,
    "datasets": DatasetEntry,
    "commands": CommandEntry,
}


@dataclass
class PluginInfo:
    """What ``ebmzoo plugins`` shows about one plugin."""

    name: str
    """Entry-point name, e.g. ``"rbm"``."""

    value: str
    """What the entry point points at, e.g. ``"ebmzoo_rbm.plugin"``."""

    distribution: str | None
    """Distribution that installed it, e.g. ``"ebmzoo"``; None if unknown."""

    version: str | None
    """That distribution's version, e.g. ``"0.1.0"``."""

    status: str = "ok"
    """``"ok"``, ``"failed"`` or ``"disabled"``."""

    error: str | None = None
    """One line saying why it failed or was disabled; None when ok."""

    registers: dict[str, list[str]] = field(default_factory=dict)
    """Names it registers, by kind, e.g. ``{"models": ["rbm-bernoulli"]}``."""

    traceback: str | None = field(default=None, repr=False)
    """Full traceback of the failure, shown with ``--debug``."""

    @property
    def first_party(self) -> bool:
        """Whether the plugin ships with ebmzoo itself."""
        return self.distribution == FIRST_PARTY_DISTRIBUTION

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``ebmzoo plugins --json``."""
        return {
            "name": self.name,
            "value": self.value,
            "distribution": self.distribution,
            "version": self.version,
            "first_party": self.first_party,
            "status": self.status,
            "error": self.error,
            "registers": self.registers,
        }


class Registry:
    """All records of all working plugins, by kind and name.

    Build one with :func:`get_registry`; construct directly (``Registry(plugins=...)``) only in
    tests that register in-process plugin objects.
    """

    def __init__(self, plugins: Mapping[str, object] | None = None) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self._records: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._owner: dict[tuple[str, str], str] = {}
        self.conflicts: dict[tuple[str, str], str] = {}
        """Clashing names, by ``(kind, name)``, with the message naming both plugins."""

        if plugins is None:
            self._load_entry_points()
        else:
            for name, plugin in plugins.items():
                info = PluginInfo(name=name, value=repr(plugin), distribution=None, version=None)
                self._register(info, plugin)
        self._collect()

    # -- lookup --------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted."""
        return sorted(self._records[self._kind(kind)])

    def entries(self, kind: str) -> list[Any]:
        """Records of one kind, sorted by name."""
        records = self._records[self._kind(kind)]
        return [records[name] for name in sorted(records)]

    def get(self, kind: str, name: str) -> Any:
        """The record of ``kind`` called ``name``; an unknown name suggests close matches."""
        records = self._records[self._kind(kind)]
        self._check_conflict(kind, name)
        if name not in records:
            known = ", ".join(sorted(records)) or "none"
            raise UnknownNameError(
                f"no {kind[:-1] if kind.endswith('s') else kind} named {name!r}."
                f"{suggest(name, records)} Registered: {known}."
            )
        return records[name]

    def owner(self, kind: str, name: str) -> str:
        """Name of the plugin that registered ``name``."""
        return self._owner[(self._kind(kind), name)]

    def model(self, name: str) -> ModelEntry:
        """The model registered as ``name``."""
        return self.get("models", name)

    def sampler(self, name: str) -> SamplerEntry:
        """The sampler registered as ``name``."""
        return self.get("samplers", name)

    def stacker(self, name: str) -> StackerEntry:
        """The stacking strategy registered as ``name``."""
        return self.get("stackers", name)

    def recipe(self, name: str) -> RecipeEntry:
        """The recipe registered as ``name``."""
        return self.get("recipes", name)

    def dataset(self, name: str) -> DatasetEntry:
        """The dataset provider registered as ``name``."""
        return self.get("datasets", name)

    def model_name_of(self, model: object) -> str:
        """The registered name of ``model``'s class; raises PluginError if it has none."""
        for name, entry in self._records["models"].items():
            if type(model) is entry.factory:
                self._check_conflict("models", name)
                return name
        raise PluginError(
            f"{type(model).__qualname__} is not a registered model; register it through the "
            "ebmzoo_models hook before saving it"
        )

    def find(self, name: str) -> list[tuple[str, Any]]:
        """Every ``(kind, record)`` registered under ``name``, of any kind."""
        return [(kind, recs[name]) for kind, recs in self._records.items() if name in recs]

    def all_names(self) -> set[str]:
        """Every registered name, of any kind."""
        return {name for recs in self._records.values() for name in recs}

    # -- loading -------------------------------------------------------------------------

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise UnknownNameError(
                f"no kind {kind!r}.{suggest(kind, KINDS)} Kinds: {', '.join(KINDS)}."
            )
        return kind

    def _check_conflict(self, kind: str, name: str) -> None:
        message = self.conflicts.get((kind, name))
        if message is not None:
            raise PluginError(message)

    def _load_entry_points(self) -> None:
        disabled = {
            word.strip() for word in os.environ.get(DISABLE_VARIABLE, "").split(",") if word.strip()
        }
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            info = PluginInfo(name=ep.name, value=ep.value, distribution=dist, version=version)
            if any(p.name == ep.name for p in self.plugins):
                other = next(p for p in self.plugins if p.name == ep.name)
                info.status = "failed"
                info.error = (
                    f"plugin name {ep.name!r} is taken by {other.distribution}; "
                    f"rename the entry point in {dist}"
                )
                self.plugins.append(info)
                continue
            if ep.name in disabled or ("third-party" in disabled and not info.first_party):
                info.status = "disabled"
                info.error = f"switched off by {DISABLE_VARIABLE}"
                self.plugins.append(info)
                continue
            try:
                plugin = ep.load()
            except Exception as err:  # a broken plugin must not break the tool
                self._fail(info, f"failed to import {ep.value}", err)
                continue
            self._register(info, plugin)

    def _register(self, info: PluginInfo, plugin: object) -> None:
        self.plugins.append(info)
        try:
            self.manager.register(plugin, name=info.name)
        except Exception as err:
            self._fail(info, "failed to register", err)

    def _fail(self, info: PluginInfo, what: str, err: BaseException) -> None:
        if info not in self.plugins:
            self.plugins.append(info)
        info.status = "failed"
        info.error = f"{what}: {type(err).__name__}: {err}".splitlines()[0]
        info.traceback = traceback.format_exc()
        logger.warning("plugin %r %s", info.name, info.error)

    def _collect(self) -> None:
        """Call every hook of every working plugin, one plugin at a time."""
        by_name = {p.name: p for p in self.plugins}
        for kind, hook_name in KINDS.items():
            hook = getattr(self.manager.hook, hook_name)
            # Calling each implementation on its own (rather than the hook as a whole) is what
            # lets one plugin raise without hiding the records of all the others.
            # pluggy lists implementations in registration order, first-party plugins first,
            # so on a name clash the first-party record is the one kept (and refused).
            for impl in hook.get_hookimpls():
                info = by_name[impl.plugin_name]
                if info.status != "ok":
                    continue
                try:
                    records = list(impl.function() or [])
                    self._check_types(kind, records)
                except Exception as err:
                    self._fail(info, f"hook {hook_name} raised", err)
                    self._forget(info.name)
                    continue
                for record in records:
                    self._add(kind, record, info)

    def _check_types(self, kind: str, records: list[Any]) -> None:
        expected = _RECORD_TYPES.get(kind)
        if kind == "zoo":
            from ebmzoo.zoo import ZooEntry

            expected = ZooEntry
        for record in records:
            if not isinstance(record, expected):
                raise PluginError(
                    f"{KINDS[kind]} returned {type(record).__name__}, not {expected.__name__}"
                )

    def _add(self, kind: str, record: Any, info: PluginInfo) -> None:
        name = record.name
        previous = self._owner.get((kind, name))
        if previous is not None:
            message = (
                f"plugins {previous!r} and {info.name!r} both register a {kind[:-1]} named "
                f"{name!r}; uninstall one or switch it off with {DISABLE_VARIABLE}"
            )
            self.conflicts[(kind, name)] = message
            for plugin in self.plugins:
                if plugin.name in (previous, info.name):
                    plugin.error = message
            return
        self._records[kind][name] = record
        self._owner[(kind, name)] = info.name
        info.registers.setdefault(kind, []).append(name)

    def _forget(self, plugin_name: str) -> None:
        """Drop every record of a plugin that failed part-way through its hooks."""
        for (kind, name), owner in list(self._owner.items()):
            if owner == plugin_name:
                del self._owner[(kind, name)]
                del self._records[kind][name]
        for plugin in self.plugins:
            if plugin.name == plugin_name:
                plugin.registers = {}


def _ep_key(ep: importlib.metadata.EntryPoint) -> tuple[int, str]:
    # First-party plugins load first, so a stranger cannot take one of their names.
    dist = ep.dist.name if ep.dist is not None else ""
    return (0 if dist == FIRST_PARTY_DISTRIBUTION else 1, ep.name)


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use from the installed entry points."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the process-wide registry, so the next :func:`get_registry` rescans plugins."""
    global _REGISTRY
    _REGISTRY = None
