"""Shared fixtures of the schema tests: a tiny valid warehouse and a runner for the ``youshu`` command."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from youshu.errors import YoushuError

from .factory import write_warehouse

CliRun = Callable[[list[str]], tuple[int, str]]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A valid warehouse (every canonical table, a few rows each) at ``tmp_path/wh``."""
    return write_warehouse(tmp_path / "wh")


def _all_commands_present() -> bool:
    return all(
        importlib.util.find_spec(f"youshu.cli.{m}") is not None for m in ("run", "synth", "schema_docs")
    )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Run ``youshu ARGS`` as a user would: returns (exit code, stdout + stderr).

    Goes through ``youshu.cli.main.main`` (YoushuError -> message, exit 2) when every sub-command module
    exists; otherwise runs the app with ``data`` registered and the same error handling.
    """
    import youshu.cli.data  # noqa: F401  (registers `youshu data`)
    from youshu.cli import main as cli_main

    def run(args: list[str]) -> tuple[int, str]:
        capsys.readouterr()
        code = 0
        try:
            if _all_commands_present():
                cli_main.main(args)
            else:
                cli_main.app(args=args, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except YoushuError as exc:
            print(f"错误 error: {exc}", file=sys.stderr)
            code = 2
        out = capsys.readouterr()
        return code, out.out + out.err

    return run


def digest(folder: Path) -> str:
    """A checksum of every path and byte under ``folder`` (absent folder: a fixed value)."""
    h = hashlib.sha256()
    if not folder.exists():
        return "absent"
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()
