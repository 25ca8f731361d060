"""Atomic writes: a failure part-way leaves the old file and no temporary file behind."""

from __future__ import annotations

import pytest

from ebmzoo.io import atomic_path, atomic_write_text


def test_a_write_that_fails_part_way_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of the new conte")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_successful_write_replaces_the_file(tmp_path):
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]
