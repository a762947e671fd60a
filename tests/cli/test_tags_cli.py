"""``youshu tags list|describe|plan|apply|test|explain`` through the CLI runner, and audiences over what apply saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
import yaml
from typer.testing import CliRunner

from youshu.cli import audience as _audience  # noqa: F401  (registers its commands)
from youshu.cli import tags as _tags  # noqa: F401  (registers its commands)
from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import YoushuError
from youshu.synth import generate
from youshu.tags.definitions import TagCategory

SHIPPED = Path(__file__).resolve().parents[2] / "definitions"
AS_OF = "2025-09-30"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tags_cli") / "warehouse"
    generate(out, customers=1000, seed=5, workers=1)
    return out


def tag(tag_id: str, expression: str, *, kind: str = "boolean", **fields: Any) -> dict[str, Any]:
    return {
        "id": tag_id,
        "entity": "customer",
        "display_name_zh": fields.pop("zh", f"测试{tag_id}"),
        "display_name_en": "Test",
        "category": fields.pop("category", "ASSETS"),
        "description": "用于测试。",
        "owner": "tests",
        "kind": kind,
        "expression": expression,
        "tests": fields.pop("tests", None) or [{"name": "nothing known", "given": {}, "expect": None}],
        **fields,
    }


RICH = tag(
    "rich",
    "aum_fen >= 1000000",
    zh="有钱客户",
    tests=[
        {"name": "ten thousand yuan", "given": {"aum_fen": 1_000_000}, "expect": True},
        {"name": "a little", "given": {"aum_fen": 10}, "expect": False},
    ],
)
WOMAN = tag("woman", "gender = 'F'", zh="女客户", category="BASIC")
RICH_WOMAN = tag(
    "rich_woman",
    "rich AND woman",
    zh="富裕女客户",
    depends_on=["rich", "woman"],
    tests=[{"name": "both", "given": {"aum_fen": 2_000_000, "gender": "F"}, "expect": True}],
)
BAND = tag(
    "aum_band",
    "CASE WHEN aum_fen >= 1000000 THEN 'high' ELSE 'low' END",
    kind="categorical",
    values=["high", "low"],
    tests=[{"name": "none", "given": {}, "expect": "low"}],
)


def write_definitions(root: Path, *tags: dict[str, Any]) -> Path:
    folder = root / "tags" / "customer"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yml"):
        old.unlink()
    text = yaml.safe_dump(list(tags), allow_unicode=True, sort_keys=False)
    (folder / "mine.yml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def mine(project: Path, province: Path) -> Path:
    """A project over the province with its own definitions (definitions/tags/customer/mine.yml)."""
    write_definitions(project / "defs", RICH, WOMAN, RICH_WOMAN, BAND)
    (project / "youshu.yaml").write_text(
        f"warehouse: {province}\ndefinitions_dir: defs\ntags_dir: applied\n", encoding="utf-8"
    )
    get_settings.cache_clear()
    return project


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_list_shows_id_zh_name_kind_and_category_by_entity(project: Path) -> None:
    result = invoke("tags", "list", "--entity", "merchant", "--definitions", str(SHIPPED / "tags"))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    dormant = next(line for line in lines if line.startswith("dormant_merchant "))
    assert dormant.split() == [
        "dormant_merchant",
        "沉睡商户",
        "boolean",
        "商户经营",
        "MERCHANT_OPERATIONS",
        "merchant",
    ]
    assert not any(line.endswith(" customer") for line in lines)
    assert lines[-1] == f"{len(lines) - 2} 个标签 tags"


def test_list_filters_by_category_in_zh_or_english(project: Path) -> None:
    defs = str(SHIPPED / "tags")
    by_zh = invoke("tags", "list", "--category", "风险", "--definitions", defs)
    by_en = invoke("tags", "list", "--category", "risk", "--definitions", defs)

    assert by_zh.exit_code == 0, by_zh.output
    assert by_zh.output == by_en.output
    rows = by_zh.output.splitlines()[1:-1]
    assert rows and all(" 风险 RISK " in row for row in rows)
    bad = invoke("tags", "list", "--category", "风险2", "--definitions", defs)
    assert bad.exit_code == 2 and "unknown category" in bad.output


def test_describe_shows_every_field_what_it_uses_what_uses_it_tests_and_file(mine: Path) -> None:
    result = invoke("tags", "describe", "有钱客户")  # the zh name works as well as the id

    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[0] == "rich · 有钱客户 / Test"
    for expected in (
        "实体 entity: customer",
        f"类别 category: {TagCategory.ASSETS.value} (ASSETS)",
        "类型 kind: boolean",
        "负责人 owner: tests",
        "表达式 expression: aum_fen >= 1000000",
        "读取特征 features read: aum_fen (资产管理规模AUM)",
        "依赖 depends_on: —",
        "被依赖 dependents: rich_woman (富裕女客户)",
        "  - a little: given aum_fen=10 -> expect false",
        f"文件 source: {Path('defs') / 'tags' / 'customer' / 'mine.yml'}",
    ):
        assert expected in out, expected
    band = invoke("tags", "describe", "aum_band").output
    assert "取值 values: high, low" in band and "被依赖 dependents: —" in band


def test_describe_an_unknown_tag_suggests_the_closest(mine: Path) -> None:
    result = invoke("tags", "describe", "rich_women")

    assert isinstance(result.exception, YoushuError)
    assert "no tag 'rich_women'; did you mean rich_woman" in str(result.exception)


def test_test_passes_on_good_definitions(mine: Path) -> None:
    result = invoke("tags", "test")

    assert result.exit_code == 0, result.output
    assert "all 5 tests of 4 tags passed" in result.output


def test_test_exits_1_naming_the_failing_tag_row_and_expected_vs_actual(mine: Path) -> None:
    wrong = {
        **RICH,
        "tests": [*RICH["tests"], {"name": "too strict", "given": {"aum_fen": 999_999}, "expect": True}],
    }
    write_definitions(mine / "defs", wrong, WOMAN, RICH_WOMAN, BAND)

    result = invoke("tags", "test")

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    fail = next(i for i, line in enumerate(lines) if line.startswith("失败 FAIL"))
    assert "tag rich: test 'too strict'" in lines[fail] and "mine.yml" in lines[fail]
    assert lines[fail + 1].strip() == "row: aum_fen=999999"
    assert lines[fail + 2].strip() == "expected: true, actual: false"
    assert lines[-1] == "1 of 6 tests failed"


def test_apply_writes_wide_long_and_the_audience_index(mine: Path) -> None:
    result = invoke("tags", "apply", "--as-of", AS_OF, "--entity", "customer")

    assert result.exit_code == 0, result.output
    folder = mine / "applied" / "customer_tags" / f"as_of_date={AS_OF}"
    assert f"customer: 1,000 rows × 4 tags -> {folder}" in result.output
    assert {p.name for p in folder.iterdir()} == {"wide", "long", "audience"}
    wide = ds.dataset(folder / "wide", format="parquet").to_table()
    assert wide.column_names == ["customer_id", "as_of_date", "rich", "woman", "rich_woman", "aum_band"]
    assert (folder / "audience" / "index.json").is_file()


def test_audience_count_uses_the_saved_index_with_zh_names_and_outlets(mine: Path) -> None:
    assert invoke("tags", "apply", "--as-of", AS_OF, "--entity", "customer").exit_code == 0
    folder = mine / "applied" / "customer_tags" / f"as_of_date={AS_OF}"
    wide = ds.dataset(folder / "wide", format="parquet").to_table().to_pylist()
    expected = sum(1 for r in wide if r["rich_woman"])

    default = invoke(
        "audience", "count", "富裕女客户", "--by-outlet"
    )  # zh names live in the saved index only
    beside_wide = invoke("audience", "count", "有钱客户 且 女客户", "--tags", str(folder / "wide"))

    assert default.exit_code == 0, default.output
    assert f"人数 matches: {expected:,} of 1,000" in default.output
    assert "网点 outlet" in default.output and "O0" in default.output
    assert beside_wide.exit_code == 0, beside_wide.output
    assert f"人数 matches: {expected:,} of 1,000" in beside_wide.output
    assert 0 < expected < 1000


def test_plan_shows_added_changed_removed_and_affected_after_editing(mine: Path) -> None:
    assert invoke("tags", "apply", "--as-of", AS_OF, "--entity", "customer").exit_code == 0
    assert "no changes (4 tags)" in invoke("tags", "plan").output
    stricter = {**RICH, "expression": "aum_fen >= 5000000", "tests": [RICH["tests"][1]]}
    young = tag("young", "age < 30", category="BASIC")
    write_definitions(mine / "defs", stricter, WOMAN, RICH_WOMAN, young)

    result = invoke("tags", "plan", "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "+ young (customer, boolean)" in lines
    assert "~ rich: expression: 'aum_fen >= 1000000' -> 'aum_fen >= 5000000'" in lines
    assert "- aum_band" in lines
    assert "! rich_woman: uses changed tags" in lines
    assert "2 unchanged" in lines
    assert f"as_of_date={AS_OF}: applied before; apply replaces it" in lines
    later = invoke("tags", "plan", "--as-of", "2025-10-31").output
    assert "as_of_date=2025-10-31: not applied yet" in later


def test_explain_prints_each_tag_with_the_values_it_read(mine: Path, province: Path) -> None:
    assert invoke("tags", "apply", "--as-of", AS_OF, "--entity", "customer").exit_code == 0
    folder = mine / "applied" / "customer_tags" / f"as_of_date={AS_OF}" / "wide"
    wide = ds.dataset(folder, format="parquet").to_table().to_pylist()
    row = next(r for r in wide if r["rich_woman"])

    result = invoke("tags", "explain", "--customer", row["customer_id"], "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"客户 customer {row['customer_id']} · 截至 as of {AS_OF} · 4 个标签 tags"
    at = lines.index("  富裕女客户 rich_woman = true")
    assert lines[at + 1].strip() == "因为 because: rich=true, woman=true"
    assert any(line.strip().startswith("因为 because: aum_fen=¥") for line in lines)
    assert f"  测试aum_band aum_band = {row['aum_band']}" in lines


@pytest.mark.parametrize(
    "args",
    [
        ["tags", "explain", "--as-of", AS_OF],
        ["tags", "explain", "--customer", "C1", "--merchant", "M1", "--as-of", AS_OF],
    ],
)
def test_explain_needs_exactly_one_id(mine: Path, args: list[str]) -> None:
    result = invoke(*args)

    assert result.exit_code == 2
    assert "exactly one of --customer ID or --merchant ID" in result.output


def test_explain_of_an_unknown_customer_is_a_clear_error(mine: Path) -> None:
    result = invoke("tags", "explain", "--customer", "C404", "--as-of", AS_OF)

    assert isinstance(result.exception, YoushuError)
    assert "no customer with customer_id 'C404'" in str(result.exception)


def test_apply_without_an_as_of_date_asks_for_one(mine: Path) -> None:
    result = invoke("tags", "apply")

    assert result.exit_code == 2
    assert "--as-of" in result.output
    assert not (mine / "applied").exists()


def test_missing_definitions_are_a_clear_error(project: Path) -> None:
    result = invoke("tags", "list")

    assert isinstance(result.exception, YoushuError)
    assert f"no tag definitions at {project / 'definitions' / 'tags'};" in str(result.exception)


def test_help_texts_give_examples() -> None:
    for command in ("list", "describe", "plan", "apply", "test", "explain"):
        result = invoke("tags", command, "--help")
        assert result.exit_code == 0
        assert "Examples" in result.output and f"youshu tags {command}" in result.output
