"""The pretrained-weights zoo: named, verified weights that ebmzoo's own recipes produced.

A zoo entry (:class:`ZooEntry`) names one trained model and records what is needed to trust
and reproduce it: the registered model and its config, each file with its full sha256 and
size, the test metrics, the recipe with its resolved config and seed, the ebmzoo version, and
the data set with its licence. Entries come from plugins (the ``ebmzoo_zoo_entries`` hook) and
from JSON entry files in the user's zoo folder, which ``ebmzoo zoo publish`` fills from a
finished run directory. :class:`Zoo` finds an entry's files (a local path, a ``file://`` URL,
or a download into the cache that is checked against its sha256 before it is kept) and loads
the model in one call: ``ebmzoo.load_pretrained("hinton2006-mnist-2d")``.

Environment: ``EBMZOO_ZOO_DIR`` (the user's zoo folder), ``EBMZOO_CACHE`` (the cache root;
zoo downloads go to its ``zoo`` folder), ``EBMZOO_OFFLINE=1`` (no network access at all).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ebmzoo.errors import EbmzooError, UnknownNameError, WeightsError, ZooError, suggest
from ebmzoo.io import atomic_path, atomic_write_text
from ebmzoo.model import Model
from ebmzoo.weights import KEY_CONFIG, KEY_MODEL, check_tensors, read_tensors, write_tensors

__all__ = [
    "CACHE_VARIABLE",
    "ENTRY_FORMAT",
    "OFFLINE_VARIABLE",
    "STORAGE_DTYPES",
    "ZOO_DIR_VARIABLE",
    "FileCheck",
    "Zoo",
    "ZooEntry",
    "ZooFile",
    "cache_dir",
    "get_entry",
    "is_offline",
    "list_entries",
    "load_pretrained",
    "user_zoo_dir",
]

logger = logging.getLogger(__name__)

ENTRY_FORMAT = 1
"""Version of the JSON entry-file format, stored under the key ``"ebmzoo_zoo_entry"``."""

CACHE_VARIABLE = "EBMZOO_CACHE"
ZOO_DIR_VARIABLE = "EBMZOO_ZOO_DIR"
OFFLINE_VARIABLE = "EBMZOO_OFFLINE"

STORAGE_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
"""Floating dtypes a zoo file may store its weights in, by the name entries use."""

DOWNLOAD_TIMEOUT = 60.0
"""Seconds a download may wait for the server before it counts as failed."""

_FORMAT_KEY = "ebmzoo_zoo_entry"
_STORAGE_KEY = "ebmzoo.storage_dtype"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REMOTE_SCHEMES = ("https", "http")
_CHUNK = 1 << 20


# -- places --------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The cache root: ``$EBMZOO_CACHE``, else ``$XDG_CACHE_HOME/ebmzoo``, else ``~/.cache/ebmzoo``.

    Zoo downloads live in its ``zoo`` folder, one folder per sha256.
    """
    explicit = os.environ.get(CACHE_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ebmzoo"


def user_zoo_dir() -> Path:
    """The user's folder of zoo entry files.

    ``$EBMZOO_ZOO_DIR``, else ``$XDG_DATA_HOME/ebmzoo/zoo``, else ``~/.local/share/ebmzoo/zoo``.
    """
    explicit = os.environ.get(ZOO_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "ebmzoo" / "zoo"


def is_offline() -> bool:
    """Whether ``EBMZOO_OFFLINE`` forbids network access (``1``, ``true``, ``yes`` or ``on``)."""
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZooFile:
    """One file of a zoo entry and the places it can be fetched from."""

    name: str
    """File name, also its name in the cache, e.g. ``"hinton2006-mnist-2d.safetensors"``."""

    sha256: str
    """Full SHA-256 of the file's bytes, 64 lowercase hex digits."""

    size: int
    """Size in bytes, e.g. ``1714632``."""

    sources: tuple[str, ...]
    """Where to get it, tried in order: absolute local paths and ``file://`` URLs first, then
    ``https://`` (or ``http://``) URLs, e.g. ``("/opt/zoo/x.safetensors", "https://...")``."""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name.startswith("."):
            raise ZooError(f"zoo file name {self.name!r} must be a plain file name, no folders")
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise ZooError(
                f"sha256 {self.sha256!r} of zoo file {self.name!r} must be 64 lowercase hex digits"
            )
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise ZooError(f"size {self.size!r} of zoo file {self.name!r} must be a byte count")
        if isinstance(self.sources, str) or not self.sources:
            raise ZooError(f"zoo file {self.name!r} needs a tuple of one or more sources")
        object.__setattr__(self, "sources", tuple(self.sources))
        for source in self.sources:
            _check_source(source, self.name)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        """The file's JSON object; local sources inside ``relative_to`` are written relative."""
        sources = []
        for source in self.sources:
            if relative_to is not None and _scheme(source) == "":
                path = Path(source)
                if path.parent == relative_to:
                    source = path.name
            sources.append(source)
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "sources": sources}


@dataclass(frozen=True)
class ZooEntry:
    """A named pretrained model: its files and every fact needed to trust and reproduce it.

    Plugins return these from ``ebmzoo_zoo_entries`` (usually read with
    :meth:`from_json_file` from files shipped inside the plugin package).
    """

    name: str
    """Entry name for ``load_pretrained`` and ``ebmzoo zoo``, e.g. ``"hinton2006-mnist-2d"``."""

    model: str
    """Registered model name stored in the weights file, e.g. ``"deep-autoencoder"``."""

    model_config: Mapping[str, Any]
    """The model's config, e.g. ``{"layer_sizes": [784, 1000, 500, 250, 2]}``."""

    files: tuple[ZooFile, ...]
    """The entry's files; the one named :attr:`weights` holds the model."""

    metrics: Mapping[str, float]
    """Metrics measured on the test set, e.g. ``{"test_mse": 0.0302, "test_sse_per_image":
    23.7}``; RBMs record ``test_log_likelihood`` where it was measured."""

    dataset: str
    """Registered name of the training data set, e.g. ``"mnist"``."""

    dataset_licence: str
    """Licence of that data set, e.g. ``"CC BY-SA 3.0"``."""

    summary: str = ""
    """One line for ``ebmzoo zoo list``."""

    weights: str = ""
    """Name of the file holding the model's weights; empty means the first file."""

    storage_dtype: str | None = None
    """Dtype the weights file stores floating tensors in (``"float16"``, ``"bfloat16"``,
    ``"float32"``); loading casts them to the dtypes the model expects. ``None``: stored
    exactly as the model holds them."""

    recipe: str | None = None
    """Recipe that produced the weights, e.g. ``"hinton2006-mnist-2d"``."""

    recipe_config: Mapping[str, Any] | None = None
    """That recipe's fully resolved config, as in the run's ``config.json``."""

    seed: int | None = None
    """Seed of the run, e.g. ``0``."""

    ebmzoo_version: str | None = None
    """Version of ebmzoo that ran the recipe, e.g. ``"0.1.0"``."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ZooError(
                f"zoo entry name {self.name!r} must be letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if isinstance(self.files, ZooFile) or not self.files:
            raise ZooError(f"zoo entry {self.name!r} needs a tuple of one or more ZooFile")
        object.__setattr__(self, "files", tuple(self.files))
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ZooError(f"zoo entry {self.name!r} lists a file name twice: {names}")
        if self.weights and self.weights not in names:
            raise ZooError(
                f"zoo entry {self.name!r} names weights file {self.weights!r}, which is not one "
                f"of its files {names}"
            )
        if self.storage_dtype is not None and self.storage_dtype not in STORAGE_DTYPES:
            raise ZooError(
                f"zoo entry {self.name!r} has storage_dtype {self.storage_dtype!r}; use one of "
                f"{', '.join(STORAGE_DTYPES)}"
            )

    @property
    def weights_file(self) -> ZooFile:
        """The file holding the model's weights."""
        if not self.weights:
            return self.files[0]
        return next(f for f in self.files if f.name == self.weights)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        """The entry-file JSON object (see ``docs/zoo.md``)."""
        return {
            _FORMAT_KEY: ENTRY_FORMAT,
            "name": self.name,
            "summary": self.summary,
            "model": self.model,
            "model_config": dict(self.model_config),
            "weights": self.weights_file.name,
            "storage_dtype": self.storage_dtype,
            "files": [f.to_json(relative_to) for f in self.files],
            "metrics": dict(self.metrics),
            "dataset": self.dataset,
            "dataset_licence": self.dataset_licence,
            "recipe": self.recipe,
            "recipe_config": None if self.recipe_config is None else dict(self.recipe_config),
            "seed": self.seed,
            "ebmzoo_version": self.ebmzoo_version,
        }

    @classmethod
    def from_json(
        cls, data: Any, *, base: Path | None = None, where: str = "zoo entry"
    ) -> ZooEntry:
        """Build an entry from its JSON object; relative local sources resolve against ``base``.

        Raises:
            ZooError: a key is missing, unknown or of the wrong type; ``where`` names the origin.
        """
        if not isinstance(data, dict):
            raise ZooError(f"{where} must hold a JSON object")
        fmt = data.get(_FORMAT_KEY)
        if fmt != ENTRY_FORMAT:
            raise ZooError(
                f"{where} has {_FORMAT_KEY}={fmt!r}, this ebmzoo reads format {ENTRY_FORMAT}; "
                "upgrade ebmzoo or fix the file"
            )
        unknown = sorted(set(data) - _ENTRY_KEYS - {_FORMAT_KEY})
        if unknown:
            raise ZooError(f"{where} has unknown keys {unknown}; known keys: {sorted(_ENTRY_KEYS)}")
        get = _Getter(data, where)
        files = tuple(_file_from_json(item, base, where) for item in get("files", list))
        metrics = get("metrics", dict)
        bad = sorted(k for k, v in metrics.items() if not _is_number(v))
        if bad:
            raise ZooError(f"{where}: metrics {bad} must be numbers")
        return cls(
            name=get("name", str),
            model=get("model", str),
            model_config=get("model_config", dict),
            files=files,
            metrics=metrics,
            dataset=get("dataset", str),
            dataset_licence=get("dataset_licence", str),
            summary=get("summary", str, default=""),
            weights=get("weights", str, default=""),
            storage_dtype=get("storage_dtype", str, default=None),
            recipe=get("recipe", str, default=None),
            recipe_config=get("recipe_config", dict, default=None),
            seed=get("seed", int, default=None),
            ebmzoo_version=get("ebmzoo_version", str, default=None),
        )

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> ZooEntry:
        """Read an entry file; relative local sources resolve against the file's folder.

        Raises:
            ZooError: the file is missing, not JSON, or not a valid entry.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ZooError(f"zoo entry file {str(path)!r} does not exist; check the path") from None
        except (OSError, ValueError) as err:
            raise ZooError(
                f"zoo entry file {str(path)!r} is not readable JSON ({_first_line(err)}); fix or "
                "delete it"
            ) from None
        return cls.from_json(
            data, base=path.resolve().parent, where=f"zoo entry file {str(path)!r}"
        )


_ENTRY_KEYS = {
    "name",
    "summary",
    "model",
    "model_config",
    "weights",
    "storage_dtype",
    "files",
    "metrics",
    "dataset",
    "dataset_licence",
    "recipe",
    "recipe_config",
    "seed",
    "ebmzoo_version",
}


@dataclass(frozen=True)
class FileCheck:
    """The result of re-hashing one copy of one zoo file (``ebmzoo zoo verify``)."""

    entry: str
    """Entry name, e.g. ``"hinton2006-mnist-2d"``."""

    file: str
    """File name, e.g. ``"hinton2006-mnist-2d.safetensors"``."""

    location: str | None
    """The copy checked (a local path); ``None`` when no copy is on this machine."""

    status: str
    """``"ok"``, ``"mismatch"`` (wrong size or hash), or ``"missing"`` (not downloaded)."""

    detail: str = ""
    """One line for a mismatch or a missing file, e.g. the two hashes."""


# -- the zoo -------------------------------------------------------------------------------


@dataclass
class Zoo:
    """Every zoo entry (from plugins and the user's zoo folder), fetched, verified and loaded.

    Each argument left as ``None`` is read from the environment when used, so one ``Zoo`` can
    serve a whole session.
    """

    registry: Any = None
    """The registry for plugin entries and models (default: the process-wide one)."""

    user_dir: Path | None = None
    """Folder of the user's entry files (default: :func:`user_zoo_dir`)."""

    cache: Path | None = None
    """Cache root (default: :func:`cache_dir`); downloads go to its ``zoo`` folder."""

    offline: bool | None = None
    """Forbid network access (default: :func:`is_offline`)."""

    timeout: float = DOWNLOAD_TIMEOUT
    """Seconds a download may wait for the server."""

    _origins: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _conflicts: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    # -- finding entries -----------------------------------------------------------------

    def entries(self) -> list[ZooEntry]:
        """Every entry, sorted by name."""
        found = self._collect()
        return [found[name] for name in sorted(found)]

    def names(self) -> list[str]:
        """Every entry name, sorted."""
        return sorted(self._collect())

    def get(self, name: str) -> ZooEntry:
        """The entry called ``name``; an unknown name suggests close ones.

        Raises:
            UnknownNameError: no entry has that name.
            ZooError: a plugin and a user entry file both claim the name.
        """
        found = self._collect()
        if name in self._conflicts:
            raise ZooError(self._conflicts[name])
        if name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise UnknownNameError(
                f"no zoo entry named {name!r}.{suggest(name, found)} Entries: {known}; "
                "`ebmzoo zoo list` shows them"
            )
        return found[name]

    def origin(self, name: str) -> str:
        """Where an entry comes from, e.g. ``"plugin hinton2006"`` or the entry file's path."""
        self.get(name)
        return self._origins[name]

    # -- files ---------------------------------------------------------------------------

    def cache_path(self, file: ZooFile) -> Path:
        """Where the cache keeps ``file``: ``CACHE/zoo/SHA256/NAME``."""
        return self._cache_root() / "zoo" / file.sha256 / file.name

    def local_copies(self, file: ZooFile) -> list[Path]:
        """The copies of ``file`` on this machine (local sources, then the cache) that exist."""
        paths = [p for p in (_local_path(s) for s in file.sources) if p is not None]
        paths.append(self.cache_path(file))
        return [p for p in paths if p.is_file()]

    def fetch(self, name: str) -> dict[str, Path]:
        """Make every file of entry ``name`` available locally and verified; return their paths.

        Local sources are used in place; remote ones are downloaded into the cache.

        Raises:
            ZooError: no source of some file worked; the message lists each failure.
        """
        entry = self.get(name)
        return {f.name: self._fetch_file(entry, f) for f in entry.files}

    def path(self, name: str) -> Path:
        """Local, verified path of the weights file of entry ``name`` (fetched if needed)."""
        entry = self.get(name)
        return self._fetch_file(entry, entry.weights_file)

    def verify(self, name: str | None = None) -> list[FileCheck]:
        """Re-hash every local copy of the files of one entry, or of all entries.

        A cached copy that fails is deleted, so that the next fetch downloads it again; a
        local source that fails is reported and left alone.
        """
        entries = [self.get(name)] if name is not None else self.entries()
        checks = []
        for entry in entries:
            for file in entry.files:
                copies = self.local_copies(file)
                if not copies:
                    checks.append(
                        FileCheck(
                            entry.name,
                            file.name,
                            None,
                            "missing",
                            f"not on this machine; `ebmzoo zoo pull {entry.name}` fetches it",
                        )
                    )
                for path in copies:
                    problem = _check_file(path, file)
                    if problem is None:
                        checks.append(FileCheck(entry.name, file.name, str(path), "ok"))
                        continue
                    if path == self.cache_path(file):
                        path.unlink(missing_ok=True)
                        problem += "; removed it from the cache"
                    checks.append(FileCheck(entry.name, file.name, str(path), "mismatch", problem))
        return checks

    # -- loading -------------------------------------------------------------------------

    def load(self, name: str, *, device: str | torch.device = "cpu") -> Model:
        """Fetch, verify and load entry ``name``; return the model in eval mode on ``device``.

        The model is rebuilt through the registry from the config stored in the weights file,
        which must match the entry's. Every tensor is loaded strictly; tensors stored in the
        entry's ``storage_dtype`` are cast to the dtype the model expects, nothing else is.

        Raises:
            UnknownNameError: no entry has that name.
            ZooError: the files cannot be fetched or verified, or do not match the entry.
            WeightsError: the weights file is unreadable or does not match its config.
        """
        from ebmzoo.registry import get_registry

        entry = self.get(name)
        path = self._fetch_file(entry, entry.weights_file)
        tensors, metadata = read_tensors(path)
        model_name = metadata.get(KEY_MODEL)
        try:
            config = json.loads(metadata.get(KEY_CONFIG, "null"))
        except ValueError:
            config = None
        if model_name != entry.model or config != dict(entry.model_config):
            raise ZooError(
                f"zoo entry {name!r} records model {entry.model!r} with config "
                f"{dict(entry.model_config)}, but {str(path)!r} holds {model_name!r} with config "
                f"{config}; fix the entry"
            )

        registry = self.registry or get_registry()
        try:
            factory = registry.model(entry.model).factory
        except EbmzooError as err:
            raise ZooError(
                f"zoo entry {name!r} holds a {entry.model!r} model, which no installed plugin "
                f"provides ({err}); install the plugin that registers it"
            ) from None
        model = factory.from_config(config)
        expected = model.state_dict()
        if entry.storage_dtype is not None:
            tensors = _restore_dtypes(tensors, expected, STORAGE_DTYPES[entry.storage_dtype])
        check_tensors(path, model, tensors)
        model.load_state_dict(tensors, strict=True)
        logger.debug("loaded zoo entry %s from %s", name, path)
        return model.to(device).eval()

    # -- publishing ----------------------------------------------------------------------

    def publish(
        self,
        run_dir: str | os.PathLike[str],
        name: str,
        *,
        file: str | None = None,
        summary: str = "",
        dataset: str | None = None,
        licence: str | None = None,
        metrics_key: str | None = None,
        urls: Sequence[str] = (),
        storage_dtype: str | None = None,
        replace: bool = False,
    ) -> ZooEntry:
        """Turn a finished ``ebmzoo run`` directory into entry ``name`` in the user's zoo folder.

        Copies the weights file (cast to ``storage_dtype`` if given) to ``ZOO_DIR/NAME.safetensors``
        and writes ``ZOO_DIR/NAME.json`` with its hash and size, the test metrics, and the
        recipe, config, seed and version from the run's ``config.json``.

        Args:
            run_dir: the folder ``ebmzoo run`` printed; it needs ``config.json`` and
                ``metrics.json``.
            name: the new entry's name; it must not be taken (unless ``replace`` and it is a
                user entry).
            file: the weights file in ``run_dir``; by default the one the run names as
                ``primary_weights`` in ``metrics.json``, else the only one whose model is not
                an energy model (an RBM), else an error lists the candidates.
            summary: one line for ``ebmzoo zoo list``.
            dataset: the data set's name; by default the one the run recorded.
            licence: the data set's licence; by default the one the run recorded.
            metrics_key: the object of ``metrics.json`` holding this model's test metrics;
                by default the one whose name is a ``-``-separated word of the file name
                (``autoencoder-pretrained`` -> ``pretrained``), else the top-level numbers.
            urls: download URLs where the file will also be hosted, tried after the local copy.
            storage_dtype: store floating tensors as ``"float16"`` or ``"bfloat16"`` to save space.
            replace: overwrite an existing user entry of the same name.

        Raises:
            ZooError: the run is unfinished or ambiguous, the name is taken, or a fact is
                missing; the message names the option that supplies it.
        """
        from ebmzoo import __version__

        run_dir = Path(run_dir)
        if not _NAME.fullmatch(name):
            raise ZooError(
                f"zoo entry name {name!r} must be letters, digits, '.', '_' or '-', starting "
                "with a letter or digit"
            )
        user_dir = self._user_dir()
        self._check_free(name, user_dir, replace)
        if storage_dtype is not None and storage_dtype not in STORAGE_DTYPES:
            raise ZooError(
                f"--storage-dtype {storage_dtype!r} is not one of {', '.join(STORAGE_DTYPES)}"
            )
        for url in urls:
            if _scheme(url) not in _REMOTE_SCHEMES:
                raise ZooError(f"--url {url!r} must be an https:// (or http://) URL")

        run_config = _read_run_json(run_dir, "config.json", "is not an ebmzoo run directory")
        metrics_all = _read_run_json(run_dir, "metrics.json", "has not finished")
        run_info = metrics_all.get("run") if isinstance(metrics_all.get("run"), dict) else {}
        primary = run_info.get("primary_weights")
        weights_path = self._pick_weights(run_dir, file or (primary if primary else None))
        tensors, metadata = read_tensors(weights_path)
        model_name = metadata[KEY_MODEL]
        model_config = json.loads(metadata[KEY_CONFIG])
        metrics = _pick_metrics(metrics_all, weights_path, metrics_key, run_dir)
        dataset = dataset or metadata.get("dataset") or run_info.get("dataset")
        if not dataset:
            raise ZooError(
                f"run {str(run_dir)!r} does not record its data set; pass --dataset NAME"
            )
        licence = (
            licence
            or metadata.get("dataset_licence")
            or run_info.get("dataset_licence")
            or run_info.get("licence")
        )
        if not licence:
            raise ZooError(
                f"run {str(run_dir)!r} does not record the licence of data set {dataset!r}; pass "
                "--licence, e.g. --licence 'CC BY-SA 3.0' for MNIST"
            )

        # Weights first, then the entry file: an entry that is listed always has its file.
        target = user_dir / f"{name}.safetensors"
        if storage_dtype is None:
            with atomic_path(target) as tmp:
                shutil.copyfile(weights_path, tmp)
        else:
            cast = {
                key: t.to(STORAGE_DTYPES[storage_dtype]) if t.is_floating_point() else t
                for key, t in tensors.items()
            }
            write_tensors(target, cast, {**metadata, _STORAGE_KEY: storage_dtype})
        digest, size = _hash_file(target)
        entry = ZooEntry(
            name=name,
            model=model_name,
            model_config=model_config,
            files=(ZooFile(target.name, digest, size, (str(target), *urls)),),
            metrics=metrics,
            dataset=str(dataset),
            dataset_licence=str(licence),
            summary=summary,
            weights=target.name,
            storage_dtype=storage_dtype,
            recipe=run_config.get("recipe"),
            recipe_config=run_config.get("config"),
            seed=run_config.get("seed"),
            ebmzoo_version=run_config.get("ebmzoo_version") or __version__,
        )
        text = json.dumps(entry.to_json(relative_to=user_dir), indent=2) + "\n"
        atomic_write_text(user_dir / f"{name}.json", text)
        logger.info(
            "published %s from %s as zoo entry %r in %s", weights_path.name, run_dir, name, user_dir
        )
        return entry

    # -- private -------------------------------------------------------------------------

    def _cache_root(self) -> Path:
        return Path(self.cache) if self.cache is not None else cache_dir()

    def _user_dir(self) -> Path:
        return Path(self.user_dir) if self.user_dir is not None else user_zoo_dir()

    def _offline(self) -> bool:
        return self.offline if self.offline is not None else is_offline()

    def _collect(self) -> dict[str, ZooEntry]:
        from ebmzoo.registry import get_registry

        registry = self.registry or get_registry()
        found: dict[str, ZooEntry] = {}
        self._origins.clear()
        self._conflicts.clear()
        for entry in registry.entries("zoo"):
            found[entry.name] = entry
            self._origins[entry.name] = f"plugin {registry.owner('zoo', entry.name)}"
        user_dir = self._user_dir()
        paths = sorted(user_dir.glob("*.json")) if user_dir.is_dir() else []
        for path in paths:
            try:
                entry = ZooEntry.from_json_file(path)
            except ZooError as err:
                logger.warning("skipping %s", err)
                continue
            if entry.name in found:
                self._conflicts[entry.name] = (
                    f"zoo entry {entry.name!r} is defined by {self._origins[entry.name]} and by "
                    f"{str(path)!r}; rename or delete the file"
                )
                logger.warning("%s", self._conflicts[entry.name])
                continue
            found[entry.name] = entry
            self._origins[entry.name] = str(path)
        return found

    def _check_free(self, name: str, user_dir: Path, replace: bool) -> None:
        found = self._collect()
        if name not in found and name not in self._conflicts:
            return
        ours = self._origins.get(name) == str(user_dir / f"{name}.json")
        if replace and ours and name not in self._conflicts:
            return
        hint = "pass --replace to overwrite it" if ours else "choose another name"
        raise ZooError(f"zoo entry {name!r} already exists ({self._origins[name]}); {hint}")

    def _pick_weights(self, run_dir: Path, file: str | None) -> Path:
        candidates = {}
        for path in sorted(run_dir.glob("*.safetensors")):
            try:
                _, metadata = read_tensors(path)
            except WeightsError:
                continue
            if KEY_MODEL in metadata and KEY_CONFIG in metadata:
                candidates[path.name] = metadata[KEY_MODEL]
        if not candidates:
            raise ZooError(f"run {str(run_dir)!r} holds no model weights (.safetensors)")
        if file is not None:
            chosen = Path(file).name
            if chosen not in candidates:
                raise ZooError(
                    f"--file {file!r} is not a weights file of run {str(run_dir)!r}; "
                    f"candidates: {', '.join(candidates)}"
                )
            return run_dir / chosen
        others = [f for f, model in candidates.items() if not self._is_energy_model(model)]
        if len(others) == 1:
            return run_dir / others[0]
        shown = ", ".join(f"{f} ({model})" for f, model in candidates.items())
        raise ZooError(
            f"run {str(run_dir)!r} holds {len(others)} weights files that are not RBMs; pass "
            f"--file NAME, one of: {shown}"
        )

    def _is_energy_model(self, model_name: str) -> bool:
        from ebmzoo.energy import EnergyModel
        from ebmzoo.registry import get_registry

        registry = self.registry or get_registry()
        try:
            return issubclass(registry.model(model_name).factory, EnergyModel)
        except EbmzooError:
            # Without its plugin the class is unknown; RBMs are named for what they are.
            return model_name.startswith("rbm")

    def _fetch_file(self, entry: ZooEntry, file: ZooFile) -> Path:
        failures: list[str] = []
        for source in file.sources:
            path = _local_path(source)
            if path is None:
                continue
            if not path.is_file():
                failures.append(f"{source}: no such file")
                continue
            problem = _check_file(path, file)
            if problem is None:
                return path
            failures.append(problem)

        cached = self.cache_path(file)
        if cached.is_file():
            problem = _check_file(cached, file)
            if problem is None:
                return cached
            logger.warning("%s; removing it and fetching again", problem)
            cached.unlink(missing_ok=True)

        remote = [s for s in file.sources if _scheme(s) in _REMOTE_SCHEMES]
        if remote and self._offline():
            failures.append(
                f"{OFFLINE_VARIABLE}=1 forbids downloading {', '.join(remote)}; unset it, or "
                f"run `ebmzoo zoo pull {entry.name}` where the network is allowed"
            )
            remote = []
        for url in remote:
            try:
                _download(url, cached, file, self.timeout)
            except ZooError as err:
                failures.append(str(err))
                continue
            return cached

        # A failed download leaves no file; leave no empty per-hash folder either.
        with contextlib.suppress(OSError):
            cached.parent.rmdir()
        if len(failures) == 1:
            raise ZooError(f"zoo entry {entry.name!r}, file {file.name!r}: {failures[0]}")
        raise ZooError(
            f"zoo entry {entry.name!r}: none of the {len(failures)} sources of {file.name!r} "
            f"worked: {' | '.join(failures)}"
        )


# -- one-call API --------------------------------------------------------------------------


def load_pretrained(
    name: str, *, device: str | torch.device = "cpu", registry: Any = None
) -> Model:
    """Load zoo entry ``name`` as a ready model (eval mode), fetching its weights if needed.

    Example: ``ae = ebmzoo.load_pretrained("hinton2006-mnist-2d"); codes = ae.encode(x)``.

    Raises:
        UnknownNameError: no entry has that name (the message suggests close ones).
        ZooError: its files cannot be fetched or verified; nothing random is ever returned.
    """
    return Zoo(registry=registry).load(name, device=device)


def list_entries(*, registry: Any = None) -> list[ZooEntry]:
    """Every zoo entry (plugins and the user's zoo folder), sorted by name."""
    return Zoo(registry=registry).entries()


def get_entry(name: str, *, registry: Any = None) -> ZooEntry:
    """The zoo entry called ``name``; an unknown name suggests close ones."""
    return Zoo(registry=registry).get(name)


# -- helpers -------------------------------------------------------------------------------


class _Getter:
    """Typed access to the keys of an entry's JSON object, with errors naming the origin."""

    _MISSING = object()

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def __call__(self, key: str, kind: type, default: Any = _MISSING) -> Any:
        if key not in self.data or (self.data[key] is None and default is not self._MISSING):
            if default is self._MISSING:
                raise ZooError(f"{self.where} lacks the key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ZooError(
                f"{self.where}: {key!r} must be a JSON {_JSON_NAMES[kind]}, not {value!r}"
            )
        return value


_JSON_NAMES = {str: "string", int: "integer", dict: "object", list: "list"}


def _file_from_json(item: Any, base: Path | None, where: str) -> ZooFile:
    if not isinstance(item, dict):
        raise ZooError(f"{where}: each of 'files' must be a JSON object, not {item!r}")
    unknown = sorted(set(item) - {"name", "sha256", "size", "sources"})
    if unknown:
        raise ZooError(f"{where}: a file has unknown keys {unknown}")
    get = _Getter(item, where)
    sources = []
    for source in get("sources", list):
        if not isinstance(source, str):
            raise ZooError(f"{where}: sources must be strings, not {source!r}")
        if _scheme(source) == "" and not Path(source).is_absolute():
            if base is None:
                raise ZooError(
                    f"{where}: local source {source!r} is relative; give an absolute path"
                )
            source = str(base / source)
        sources.append(source)
    return ZooFile(
        name=get("name", str),
        sha256=get("sha256", str).lower(),
        size=get("size", int),
        sources=tuple(sources),
    )


def _scheme(source: str) -> str:
    """The URL scheme of a source, ``""`` for a local path (Windows drive letters included)."""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]+)://", source)
    return match.group(1).lower() if match else ""


def _check_source(source: Any, file_name: str) -> None:
    if not isinstance(source, str) or not source:
        raise ZooError(f"source {source!r} of zoo file {file_name!r} must be a non-empty string")
    scheme = _scheme(source)
    if scheme == "":
        if not Path(source).is_absolute():
            raise ZooError(
                f"local source {source!r} of zoo file {file_name!r} must be an absolute path"
            )
    elif scheme not in ("file", *_REMOTE_SCHEMES):
        raise ZooError(
            f"source {source!r} of zoo file {file_name!r} has scheme {scheme!r}; use a local "
            "path, file://, https:// or http://"
        )


def _local_path(source: str) -> Path | None:
    scheme = _scheme(source)
    if scheme == "":
        return Path(source)
    if scheme == "file":
        parsed = urllib.parse.urlparse(source)
        return Path(urllib.request.url2pathname(parsed.path))
    return None


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_file(path: Path, file: ZooFile) -> str | None:
    """``None`` if ``path`` has the file's size and sha256, else one line saying how it differs."""
    size = path.stat().st_size
    if size != file.size:
        return f"{str(path)!r} has {size} bytes, the entry records {file.size}"
    digest, _ = _hash_file(path)
    if digest != file.sha256:
        return f"{str(path)!r} has sha256 {digest}, the entry records {file.sha256}"
    return None


def _download(url: str, target: Path, file: ZooFile, timeout: float) -> None:
    """Download ``url`` to ``target`` through a temporary file kept only if the hash matches."""
    from ebmzoo import __version__

    logger.info("downloading %s (%.1f MB)", url, file.size / 1e6)
    request = urllib.request.Request(url, headers={"User-Agent": f"ebmzoo/{__version__}"})
    try:
        with atomic_path(target) as tmp:
            digest = hashlib.sha256()
            size = 0
            with (
                urllib.request.urlopen(request, timeout=timeout) as response,
                open(tmp, "wb") as out,
            ):
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if size > file.size:
                        raise ZooError(
                            f"download of {url} is larger than the {file.size} bytes the entry "
                            "records; it was not kept"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if got != file.sha256:
                raise ZooError(
                    f"download of {url} has sha256 {got}, the entry records {file.sha256}; it was "
                    "not kept (a corrupt or tampered file, or an outdated entry)"
                )
    except urllib.error.HTTPError as err:
        raise ZooError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise ZooError(f"download of {url} failed: {_first_line(err.reason)}") from None
    except (OSError, TimeoutError) as err:
        raise ZooError(f"download of {url} failed: {_first_line(err)}") from None


def _restore_dtypes(
    tensors: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
    stored: torch.dtype,
) -> dict[str, torch.Tensor]:
    """Cast tensors stored as ``stored`` to the floating dtype the model expects for each."""
    restored = {}
    for key, tensor in tensors.items():
        want = expected.get(key)
        if want is not None and tensor.dtype == stored and want.is_floating_point():
            tensor = tensor.to(want.dtype)
        restored[key] = tensor
    return restored


def _read_run_json(run_dir: Path, name: str, meaning: str) -> dict[str, Any]:
    path = run_dir / name
    if not path.is_file():
        raise ZooError(
            f"{str(run_dir)!r} {meaning} (no {name}); pass the folder of a finished `ebmzoo run`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ZooError(f"{str(path)!r} is unreadable ({_first_line(err)})") from None
    if not isinstance(data, dict):
        raise ZooError(f"{str(path)!r} must hold a JSON object")
    return data


def _pick_metrics(
    metrics: Mapping[str, Any], weights: Path, key: str | None, run_dir: Path
) -> dict[str, float]:
    """The numeric test metrics of the published model, from the run's ``metrics.json``."""
    groups = {k: v for k, v in metrics.items() if isinstance(v, dict) and k != "run"}
    if key is not None:
        if key not in groups:
            raise ZooError(
                f"--metrics {key!r} is not an object of {str(run_dir / 'metrics.json')!r}; "
                f"choose one of: {', '.join(groups) or 'none'}"
            )
        chosen: Mapping[str, Any] = groups[key]
    else:
        words = set(weights.stem.split("-"))
        named = [k for k in groups if k in words]
        top = {k: v for k, v in metrics.items() if _is_number(v)}
        if len(named) == 1:
            chosen = groups[named[0]]
        elif top:
            chosen = top
        else:
            # An RBM of a deep recipe usually has no test metrics of its own.
            logger.warning(
                "no metrics of %s belong to %s, so the entry records none; pass --metrics KEY "
                "to pick one of: %s",
                run_dir / "metrics.json",
                weights.name,
                ", ".join(groups) or "none",
            )
            chosen = {}
    return {k: float(v) for k, v in chosen.items() if _is_number(v)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _first_line(err: Any) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
