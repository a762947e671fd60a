"""Usage mistakes get click's message and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from youshu.cli.main import main


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data", "validate"], "Missing argument"),
        (["run", "--as-of", "2025-13-01"], "Invalid value for '--as-of'"),
        (["synth", "--customers", "many"], "Invalid value for '--customers'"),
        (["nosuch"], "No such command"),
    ],
)
def test_usage_error_exits_2_with_the_reason(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    assert exit_info.value.code == 2
    assert expected in out.err
    assert "Traceback" not in out.err + out.out


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["synth"],
        ["data", "validate"],
        ["data", "import"],
        ["run"],
        ["demo"],
        ["schema", "docs"],
        ["audience", "count"],
        ["audience", "export"],
    ):
        try:
            main([*args, "--help"])
        except SystemExit as exc:  # help may end with exit code 0 or simply return
            assert exc.code in (0, None)
        assert "Example" in capsys.readouterr().out, args
