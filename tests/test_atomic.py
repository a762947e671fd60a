"""Atomic outputs: all or nothing, and the result readable like any other folder or file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from youshu.atomic import atomic_dir, atomic_file


def test_a_failed_block_leaves_no_folder_and_no_temp(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_previous_folder(tmp_path: Path) -> None:
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "v.txt").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "v.txt").write_text("2")
        raise RuntimeError("boom")
    assert (tmp_path / "out" / "v.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_published_folder_and_file_get_the_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "x").write_text("x")
        with atomic_file(tmp_path / "f.txt") as tmp_file:
            tmp_file.write_text("f")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
