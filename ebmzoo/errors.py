"""The one exception family of ebmzoo.

Every error a user can cause (a bad config value, a missing data set, a broken plugin, a
corrupt weights file) is an ``EbmzooError``. The command line prints such errors as one line
on stderr and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "EbmzooError",
    "PluginError",
    "UnknownNameError",
    "WeightsError",
    "ZooError",
    "suggest",
]


class EbmzooError(Exception):
    """Base class of every error a user can cause; its message names the problem and the fix."""


class ConfigError(EbmzooError):
    """A config key, value or override is wrong."""


class DataError(EbmzooError):
    """A data set is missing, unreadable, or a tensor does not fit the model."""


class PluginError(EbmzooError):
    """A plugin failed to load, or two plugins registered the same name."""


class WeightsError(EbmzooError):
    """A weights file is missing, truncated, corrupt, foreign, or does not match its config."""


class ZooError(EbmzooError):
    """A zoo entry is unknown, unreachable, or its files fail verification."""


class UnknownNameError(EbmzooError, KeyError):
    """A name looked up in a registry or the zoo does not exist."""

    def __str__(self) -> str:
        # KeyError quotes its message; an error meant for people should read plainly.
        return str(self.args[0]) if self.args else ""


def suggest(name: str, known: Iterable[str]) -> str:
    """Return a ``" Did you mean ...?"`` phrase listing close matches of ``name``, or ``""``."""
    matches = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
