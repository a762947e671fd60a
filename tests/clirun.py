"""Running the ``youshu`` command in-process, as the CLI tests do."""

from __future__ import annotations

import pytest

from youshu.cli.main import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``youshu ARGS``; return its exit code and everything it printed (stdout then stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err
