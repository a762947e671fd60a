"""``youshu rural catalogue|chain`` on the hand-built warehouse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from tests.clirun import run_cli

from youshu.rural import CHAIN_COLUMNS


def test_catalogue_prints_specialties_in_chinese_and_writes_the_file(
    tiny_chain_warehouse: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "catalogue.parquet"
    args = ["rural", "catalogue", "--as-of", "2025-09-30", "-w", str(tiny_chain_warehouse), "-o", str(out)]
    code, text = run_cli(args, capsys)
    assert code == 0, text
    assert "茶叶" in text and "丙县" in text
    frame = pd.read_parquet(out)
    top = frame[frame["rank_in_county"] == 1].set_index("county_id")["industry"].to_dict()
    assert top == {"A": "tea", "B": "walnut", "C": "tea"}


def test_chain_writes_members_with_stage_probability_and_evidence(
    tiny_chain_warehouse: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "chain.parquet"
    args = ["rural", "chain", "--as-of", "2025-09-30", "-w", str(tiny_chain_warehouse), "-o", str(out)]
    code, text = run_cli(args, capsys)
    assert code == 0, text
    frame = pd.read_parquet(out)
    assert list(frame.columns) == list(CHAIN_COLUMNS)
    assert dict(zip(frame["customer_id"], frame["chain_stage_zh"], strict=True)) == {
        "P1": "生产",
        "Q1": "加工",
        "S1": "销售",
    }
    assert frame["evidence"].str.startswith("近365天").all()


def test_a_missing_warehouse_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run_cli(
        ["rural", "chain", "--as-of", "2025-09-30", "-w", str(project / "nope"), "-o", "x.parquet"], capsys
    )
    assert code == 2 and "does not exist" in text


def test_select_writes_lists_per_outlet_and_a_summary(
    rural_province: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "select.parquet"
    args = [
        "rural",
        "select",
        "--as-of",
        "2025-09-30",
        "--top",
        "30",
        "-w",
        str(rural_province),
        "-o",
        str(out),
    ]
    code, text = run_cli(args, capsys)
    assert code == 0, text
    assert "入选 selected" in text
    frame = pd.read_parquet(out)
    assert len(frame) == 30 and frame["reasons"].str.contains("资产").all()
    assert (project / "select_summary.parquet").is_file()


def test_chainloan_suggest_writes_lines_with_evidence(
    rural_province: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = pd.read_parquet(rural_province / "transactions", columns=["counterparty_id", "counterparty_category"])
    core = x.loc[x["counterparty_category"] == "distributor", "counterparty_id"].value_counts().index[0]
    out = project / "lines.xlsx"
    args = [
        "chainloan",
        "suggest",
        "--core",
        core,
        "--as-of",
        "2025-09-30",
        "-w",
        str(rural_province),
        "-o",
        str(out),
    ]
    code, text = run_cli(args, capsys)
    assert code == 0, text
    assert "产业e贷" in text and out.is_file()


def test_map_writes_an_offline_page_of_county_specialties(
    tiny_chain_warehouse: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "county_map.html"
    args = ["rural", "map", "--as-of", "2025-09-30", "-w", str(tiny_chain_warehouse), "-o", str(out)]
    code, text = run_cli(args, capsys)
    assert code == 0, text
    assert "county map" in text
    page = out.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    assert all(json.dumps(label) in page for label in ("茶叶 tea", "核桃 walnut"))  # JSON escapes zh


def test_map_refuses_a_file_that_is_not_html(
    tiny_chain_warehouse: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rural", "map", "--as-of", "2025-09-30", "-w", str(tiny_chain_warehouse), "-o", "map.png"]
    code, text = run_cli(args, capsys)
    assert code == 2 and "written as .html" in text
