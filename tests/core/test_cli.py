"""The `ebmzoo` command line as a user meets it: real subprocesses, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import ebmzoo


def _ebmzoo(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ebmzoo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_version_is_the_package_version():
    result = _ebmzoo("--version")
    assert result.returncode == 0
    assert ebmzoo.__version__ in result.stdout


def test_plugins_json_is_one_object_per_plugin_with_the_documented_fields():
    result = _ebmzoo("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = json.loads(result.stdout)
    assert {"rbm", "hinton2006"} <= {p["name"] for p in plugins}
    for plugin in plugins:
        assert {"name", "version", "status", "error", "registers"} <= plugin.keys()
        if plugin["first_party"]:
            assert plugin["status"] == "ok", plugin["error"]


def test_info_of_an_unknown_name_suggests_close_matches():
    result = _ebmzoo("info", "rbm-bernouli")
    _assert_one_line_error(result, "Did you mean 'rbm-bernoulli'")


def test_run_of_an_unknown_recipe_is_a_one_line_error():
    _assert_one_line_error(_ebmzoo("run", "no-such-recipe"), "no recipe named 'no-such-recipe'")


def test_resume_of_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path):
    _assert_one_line_error(_ebmzoo("run", "--resume", str(tmp_path)), "not an ebmzoo run directory")


def test_debug_shows_the_traceback():
    result = _ebmzoo("--debug", "run", "no-such-recipe")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "UnknownNameError" in result.stderr


def test_out_that_is_a_file_is_a_one_line_error(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = _ebmzoo("run", "hinton2006-digits", "--out", str(not_a_folder))
    _assert_one_line_error(result, "cannot hold run directories")


def test_missing_data_root_leaves_no_run_directory(tmp_path):
    result = _ebmzoo("run", "hinton2006-digits", "--out", str(tmp_path / "runs"),
                     "--data-root", str(tmp_path / "absent"))  # fmt: skip
    _assert_one_line_error(result, "is not a folder")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_config_that_is_a_folder_is_a_one_line_error(tmp_path):
    result = _ebmzoo("run", "hinton2006-digits", "--config", str(tmp_path))
    _assert_one_line_error(result, "cannot read config file")
