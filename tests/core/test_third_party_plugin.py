"""A real third-party plugin, installed by pip outside the repo, seen by the `ebmzoo` CLI.

The installed plugin is the example in docs/example_plugin, so the docs' example is tested too.
A second, broken distribution (it raises on import) must show as failed without breaking
anything else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ebmzoo import testing

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "example_plugin"


def _pip_install(source: Path, target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def _write_broken_plugin(folder: Path) -> Path:
    (folder / "ebmzoo_broken").mkdir(parents=True)
    (folder / "ebmzoo_broken" / "__init__.py").write_text(
        'raise ImportError("this plugin is broken on purpose")\n'
    )
    (folder / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "ebmzoo-broken"
        version = "9.9.9"

        [project.entry-points.ebmzoo]
        broken = "ebmzoo_broken"

        [tool.setuptools]
        packages = ["ebmzoo_broken"]
    """)
    )
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding pip installs of the example plugin and a broken plugin."""
    target = tmp_path_factory.mktemp("site")
    _pip_install(EXAMPLE, target)
    _pip_install(_write_broken_plugin(tmp_path_factory.mktemp("broken-src")), target)
    return target


def _ebmzoo(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(site), **env)
    return subprocess.run(
        [sys.executable, "-m", "ebmzoo", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def test_installed_plugin_is_listed_ok_and_the_broken_one_failed(site):
    result = _ebmzoo(site, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}

    spin = plugins["spin"]
    assert spin["status"] == "ok" and spin["error"] is None
    assert spin["distribution"] == "ebmzoo-spin" and spin["version"] == "0.1.0"
    assert spin["registers"] == {"models": ["spin-rbm"], "commands": ["spin-demo"]}
    assert not spin["first_party"]

    broken = plugins["broken"]
    assert broken["status"] == "failed"
    assert "broken on purpose" in broken["error"]
    assert broken["version"] == "9.9.9"


def test_list_still_works_beside_a_broken_plugin(site):
    result = _ebmzoo(site, "list", "models")
    assert result.returncode == 0, result.stderr
    assert "spin-rbm" in result.stdout


def test_plugin_subcommand_runs(site):
    result = _ebmzoo(site, "spin-demo", "--n-visible", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("free energy: ")


def test_environment_switch_turns_off_third_party_plugins(site):
    result = _ebmzoo(site, "plugins", "--json", EBMZOO_DISABLE_PLUGINS="third-party")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["spin"]["status"] == "disabled"
    assert plugins["broken"]["status"] == "disabled"
    assert all(p["status"] == "ok" for p in plugins.values() if p["first_party"])


def test_environment_switch_turns_off_a_named_plugin(site):
    result = _ebmzoo(site, "list", "models", EBMZOO_DISABLE_PLUGINS="spin")
    assert result.returncode == 0 and "spin-rbm" not in result.stdout


def test_example_model_passes_the_plugin_authors_checks(site, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(site))
    from ebmzoo_spin import SpinRBM

    from ebmzoo.registry import Registry

    torch.manual_seed(0)
    import ebmzoo_spin

    registry = Registry(plugins={"spin": ebmzoo_spin})
    testing.check_energy_model(SpinRBM(5, 4))
    testing.check_save_load_round_trip(SpinRBM(5, 4), tmp_path, registry=registry)
