"""`ebmzoo zoo ...` as a user runs it: a subprocess with the zoo and cache in temporary folders."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ebmzoo.zoo import Zoo, ZooEntry

from .conftest import make_run


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EBMZOO_")}
    environ["EBMZOO_ZOO_DIR"] = str(tmp_path / "zoo")
    environ["EBMZOO_CACHE"] = str(tmp_path / "cache")
    return environ


def _ebmzoo(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ebmzoo", "zoo", *map(str, args)],
        capture_output=True,
        text=True,
        env={**env, **extra},
        timeout=120,
    )


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _published(tmp_path, registry, env, *, via_cli: bool = False) -> ZooEntry:
    """Publish a tiny run as entry ``tiny-ae``, by the command line or (faster) in-process."""
    make_run(tmp_path / "run", registry)
    if not via_cli:
        zoo = Zoo(registry=registry, user_dir=tmp_path / "zoo", cache=tmp_path / "cache")
        return zoo.publish(tmp_path / "run", "tiny-ae", licence="CC BY-SA 3.0")
    result = _ebmzoo(
        env,
        "publish",
        tmp_path / "run",
        "tiny-ae",
        "--licence",
        "CC BY-SA 3.0",
        "--summary",
        "a tiny autoencoder",
    )
    assert result.returncode == 0, result.stderr
    entry = ZooEntry.from_json_file(tmp_path / "zoo" / "tiny-ae.json")
    size = entry.weights_file.size
    assert result.stdout.startswith(f"published tiny-ae: tiny-ae.safetensors ({size} bytes")
    return entry


def test_publish_then_list_and_info_show_the_entry(tmp_path, registry, env):
    entry = _published(tmp_path, registry, env, via_cli=True)

    listing = _ebmzoo(env, "list")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith("tiny-ae"))
    assert "tiny-autoencoder" in row and "mnist" in row and "test_mse=0.031" in row

    info = _ebmzoo(env, "info", "tiny-ae")
    assert info.returncode == 0, info.stderr
    assert entry.weights_file.sha256 in info.stdout
    assert "licence: CC BY-SA 3.0" in info.stdout and "tiny-recipe (seed 3)" in info.stdout

    as_json = json.loads(_ebmzoo(env, "info", "tiny-ae", "--json").stdout)
    assert as_json == entry.to_json()


def test_pull_downloads_from_a_local_server_and_verify_rehashes(tmp_path, registry, env, server):
    entry = _published(tmp_path, registry, env)
    file = entry.weights_file
    (server.root / file.name).write_bytes(Path(file.sources[0]).read_bytes())
    remote = dataclasses.replace(
        entry,
        name="remote-ae",
        files=(dataclasses.replace(file, sources=(f"{server.url}/{file.name}",)),),
    )
    (tmp_path / "zoo" / "remote-ae.json").write_text(json.dumps(remote.to_json()))

    offline = _ebmzoo(env, "pull", "remote-ae", EBMZOO_OFFLINE="1")
    assert "EBMZOO_OFFLINE=1 forbids downloading" in _one_line_error(offline)
    assert server.requests == []

    pulled = _ebmzoo(env, "pull", "remote-ae")
    assert pulled.returncode == 0, pulled.stderr
    cached = tmp_path / "cache" / "zoo" / file.sha256 / file.name
    assert pulled.stdout.strip() == f"remote-ae: {cached}"
    assert cached.read_bytes() == (server.root / file.name).read_bytes()
    assert len(server.requests) == 1

    verified = _ebmzoo(env, "verify")
    assert verified.returncode == 0, verified.stderr
    rows = [line.split() for line in verified.stdout.splitlines()[1:]]
    # Both entries name the same bytes, so the cached copy serves each of them. (The entries
    # that ship with ebmzoo are verified too; they are checked in test_first_party.py.)
    ours = [row for row in rows if not row[0].startswith("hinton2006-")]
    assert sorted((row[0], row[2]) for row in ours) == [
        ("remote-ae", "ok"),
        ("tiny-ae", "ok"),
        ("tiny-ae", "ok"),
    ]

    cached.write_bytes(b"\0" * file.size)
    failed = _ebmzoo(env, "verify", "remote-ae")
    assert "1 file(s) failed verification" in _one_line_error(failed)
    assert "mismatch" in failed.stdout and not cached.exists()


def test_errors_are_one_line_with_the_fix(tmp_path, registry, env):
    _published(tmp_path, registry, env)
    unknown = _one_line_error(_ebmzoo(env, "info", "tiny-ea"))
    assert "no zoo entry named 'tiny-ea'. Did you mean 'tiny-ae'?" in unknown

    # Two autoencoders in one run: the command names both and asks for --file.
    run = tmp_path / "run"
    shutil.copyfile(
        run / "autoencoder-pretrained.safetensors", run / "autoencoder-naive.safetensors"
    )
    ambiguous = _one_line_error(_ebmzoo(env, "publish", run, "second", "--licence", "L"))
    assert "pass --file NAME" in ambiguous
    assert "autoencoder-naive.safetensors" in ambiguous and "rbm1.safetensors" in ambiguous

    not_a_run = _one_line_error(_ebmzoo(env, "publish", tmp_path, "x", "--licence", "L"))
    assert "not an ebmzoo run directory" in not_a_run
