"""`youshu merchants alerts`, `youshu campaigns report`, `youshu kpi report`: printed tables and exports."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from tests.clirun import run_cli as _run

from youshu.cli.merchants import console

from .tiny import OWNER_NAME, OWNER_PHONE


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal wide enough that names are not folded across lines (tests search the printed text)."""
    monkeypatch.setattr(console, "width", 200)


def _cells(path: Path) -> list[str]:
    book = load_workbook(path, read_only=True)
    return [
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]


def test_alerts_print_per_outlet_and_export_a_masked_list(
    project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "alerts.xlsx"
    code, text = _run(
        [
            "merchants",
            "alerts",
            "--as-of",
            "2025-09-30",
            "-w",
            str(tiny),
            "-o",
            str(out),
            "--vip-out",
            str(project / "vip.parquet"),
        ],
        capsys,
    )
    assert code == 0, text
    assert "资金动向预警" in text and "快出面馆 M01" in text and "预警 alerts: 3; VIP商户: 2" in text
    cells = _cells(out)
    assert "预警依据" in cells and "经营者姓名" in cells
    assert "王**" in cells and "139****1111" in cells
    assert OWNER_NAME not in " ".join(cells) and OWNER_PHONE not in " ".join(cells)
    assert any(c.startswith("最近一笔收单在2025-08-31") for c in cells)
    assert pq.read_table(project / "vip.parquet").column("merchant_id").to_pylist() == ["M04", "M03"]


def test_alerts_for_an_unknown_outlet_exit_2(
    project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(
        ["merchants", "alerts", "--as-of", "2025-09-30", "-w", str(tiny), "--outlet", "O9"], capsys
    )
    assert code == 2 and "outlet 'O9' is not in the outlets table" in text and "Traceback" not in text


def test_alerts_need_an_as_of_date(project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(["merchants", "alerts", "-w", str(tiny)], capsys)
    assert code == 2 and "--as-of" in text


def test_campaign_report_prints_uplift_and_exports_the_ledger(
    project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, summary = project / "ledger.parquet", project / "campaigns.xlsx"
    code, text = _run(
        [
            "campaigns",
            "report",
            "--campaign",
            "G1",
            "--as-of",
            "2025-09-30",
            "-w",
            str(tiny),
            "-o",
            str(ledger),
            "--summary-out",
            str(summary),
        ],
        capsys,
    )
    assert code == 0, text
    assert "绑卡享1元早餐" in text and "12.5%" in text and "快出面馆" in text
    table = pq.read_table(ledger)
    assert table.column("merchant_id").to_pylist() == ["M01", "M04"]
    assert table.schema.metadata[b"youshu.campaign"] == b"G1"
    assert "转化率提升" in _cells(summary)


def test_kpi_report_prints_ranks_and_exports_three_tables(
    project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [project / "kpi.xlsx", project / "sub.parquet", project / "trend.parquet"]
    code, text = _run(
        [
            "kpi",
            "report",
            "--period",
            "2025Q3",
            "-w",
            str(tiny),
            "-o",
            str(paths[0]),
            "--sub-branches-out",
            str(paths[1]),
            "--trend-out",
            str(paths[2]),
        ],
        capsys,
    )
    assert code == 0, text
    assert "考核 KPIs 2025Q3 as of 2025-09-30" in text and "乙区营业所" in text and "月度趋势" in text
    assert "新增有效收单商户完成率" in _cells(paths[0])
    assert pq.read_table(paths[1]).column("sub_branch_id").to_pylist() == ["SB2", "SB1"]
    assert pq.read_table(paths[2]).num_rows > 0


def test_kpi_report_refuses_an_unreadable_period(
    project: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(["kpi", "report", "--period", "Q3", "-w", str(tiny)], capsys)
    assert code == 2 and "cannot read the period 'Q3'" in text
