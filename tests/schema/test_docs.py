"""docs/schema.md is generated from the specs, documents every table and column, and is up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import youshu.cli.schema_docs  # noqa: F401  (registers `schema docs`)
from youshu.cli.main import app
from youshu.schema.docs import render_schema_markdown
from youshu.schema.tables import TABLES, get_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def test_docs_schema_md_is_up_to_date_with_the_specs() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_schema_markdown(), (
        "docs/schema.md is stale: regenerate it with `youshu schema docs --out docs/schema.md`"
    )


def test_every_table_and_column_is_documented() -> None:
    text = render_schema_markdown()
    for spec in TABLES:
        assert f"## `{spec.name}` — {spec.zh}" in text
        section = text.split(f'<a id="{spec.name}"></a>')[1].split("<a id=")[0]
        assert "**Primary key 主键:** " + ", ".join(f"`{k}`" for k in spec.primary_key) in section
        for column in spec.columns:
            assert f"| `{column.name}` |" in section, (spec.name, column.name)


def test_a_column_row_shows_type_required_zh_en_and_constraints() -> None:
    text = render_schema_markdown()
    row = next(line for line in text.splitlines() if line.startswith("| `home_outlet_id` |"))
    assert row == (
        "| `home_outlet_id` | string | yes | 归属网点 | outlet the customer is managed by | "
        "FK → [`outlets.outlet_id`](#outlets) |"
    )
    direction = next(line for line in text.splitlines() if line.startswith("| `direction` |"))
    assert "one of `in`, `out`" in direction
    amount = next(
        line for line in text.splitlines() if line.startswith("| `amount_fen` | int64 | yes | 金额(分)")
    )
    assert "money, fen" in amount and "≥ 1" in amount and "event time" not in amount
    phone = next(line for line in text.splitlines() if line.startswith("| `phone` |"))
    assert "| no |" in phone and "personal data (phone), masked" in phone


def test_a_table_without_a_stated_grain_falls_back_to_its_key() -> None:
    text = render_schema_markdown([get_table("holdings")])
    assert "**Grain 粒度:** one row per `customer_id`, `product_id`, `month_end_date`" in text


def test_pipes_in_descriptions_cannot_break_the_table() -> None:
    from dataclasses import replace

    spec = get_table("counties")
    broken = replace(spec, columns=(replace(spec.columns[0], en="a | b"),))
    assert "a \\| b" in render_schema_markdown([broken])


def test_the_command_writes_and_checks_the_file(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "schema.md"
    runner = CliRunner()
    assert runner.invoke(app, ["schema", "docs", "--out", str(out), "--check"]).exit_code == 1
    result = runner.invoke(app, ["schema", "docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_schema_markdown()
    assert runner.invoke(app, ["schema", "docs", "--out", str(out), "--check"]).exit_code == 0


@pytest.mark.parametrize("name", ["customers", "transactions"])
def test_rendering_is_deterministic(name: str) -> None:
    specs = [get_table(name)]
    assert render_schema_markdown(specs) == render_schema_markdown(specs)
