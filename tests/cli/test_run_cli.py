"""``youshu run`` and ``youshu demo`` through the CLI runner: they write the run and say where the report is."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import youshu.cli.run  # noqa: F401  (registers run and demo)
from pipeline import write_tiny_warehouse
from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import YoushuError

HAS_SYNTH = importlib.util.find_spec("youshu.synth") is not None


def test_run_writes_the_run_folder_and_prints_the_findings(project: Path) -> None:
    warehouse = write_tiny_warehouse(project / "wh")
    result = CliRunner().invoke(
        app,
        ["run", "--as-of", "2025-09-30", "--warehouse", str(warehouse), "--runs-dir", "out", "--name", "t1"],
    )
    assert result.exit_code == 0, result.output
    folder = (project / "out" / "2025-09-30" / "t1").absolute()
    assert (folder / "report.html").is_file()
    assert str(folder) in result.output
    assert "乙区" in result.output  # top county by AUM
    assert "40.00 万元" in result.output  # AUM
    assert "耗时 elapsed" in result.output
    assert not (project / "data").exists()  # no DuckDB file or anything else outside the run folder


def test_run_uses_the_configured_defaults(project: Path) -> None:
    write_tiny_warehouse(project / "data" / "warehouse")
    (project / "youshu.yaml").write_text("as_of: 2025-08-31\nruns_dir: myruns\n", encoding="utf-8")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    record = json.loads((project / "myruns" / "2025-08-31" / "main" / "run.json").read_text(encoding="utf-8"))
    assert record["engine"] == "duckdb" and record["as_of"] == "2025-08-31"


def test_run_without_an_as_of_date_asks_for_one(project: Path) -> None:
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_run_on_a_missing_warehouse_fails_with_a_youshu_error(project: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--as-of", "2025-09-30", "--warehouse", "nowhere"])
    assert isinstance(result.exception, YoushuError)
    assert "youshu synth" in str(result.exception)
    assert not (project / "runs").exists()


def test_run_rejects_an_unknown_engine(project: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--as-of", "2025-09-30", "--engine", "oracle"])
    assert result.exit_code == 2
    assert "duckdb" in result.output


def test_help_texts_give_examples() -> None:
    for command in ("run", "demo"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Examples" in result.output and f"youshu {command}" in result.output


@pytest.mark.skipif(not HAS_SYNTH, reason="youshu.synth is not importable yet")
def test_demo_generates_runs_and_prints_where_the_report_is(project: Path) -> None:
    runner = CliRunner()
    args = ["demo", "--customers", "1000", "--seed", "5", "--out", "demo"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = (project / "demo" / "runs" / "2025-09-30" / "main" / "report.html").absolute()
    assert report.is_file()
    assert str(report) in first.output and report.as_uri() in first.output
    html = report.read_text(encoding="utf-8")
    assert 'data-section="overview"' in html and 'data-section="data-quality"' in html
    for words in (
        "客户 customers: 1,000",
        "top county",
        "QR payments, last 30 days",
        "overdue",
        "coupon redemption",
        "synth",
        "summary",
    ):
        assert words in first.output, words
    marker = json.loads((project / "demo" / "warehouse.params.json").read_text(encoding="utf-8"))
    assert marker["customers"] == 1000 and marker["seed"] == 5

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "reusing" in again.output and "synth" not in again.output.split("耗时 elapsed")[1]


# youshu.cli.main prints the error text as rich markup, and a validation report's "[<folder>]" reads as a
# closing tag; remove this marker once main() prints ``rich.markup.escape(str(exc))``.
def test_an_invalid_warehouse_exits_2_with_the_problems_and_no_traceback(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa

    from pipeline import TINY
    from youshu.cli.main import main
    from youshu.schema.storage import write_part
    from youshu.schema.tables import get_table

    warehouse = write_tiny_warehouse(project / "wh")
    spec = get_table("accounts")
    rows = [*TINY["accounts"], {**TINY["accounts"][0], "account_id": "A9", "customer_id": "U404"}]
    write_part(warehouse / "accounts", 0, pa.Table.from_pylist(rows, schema=spec.arrow_schema), spec)
    with pytest.raises(SystemExit) as caught:
        main(["run", "--as-of", "2025-09-30", "--warehouse", str(warehouse)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "accounts.customer_id" in err and "Traceback" not in err
    assert not (project / "runs").exists()
