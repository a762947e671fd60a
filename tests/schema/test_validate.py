"""``validate_warehouse`` and ``youshu data validate`` on a tiny hand-made warehouse and malformed copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.errors import ValidationFailed, YoushuError
from youshu.schema.readers import SourceError
from youshu.schema.tables import TABLES
from youshu.schema.validate import CHINA_LAT, RULES, ValidationReport, validate_warehouse

from .conftest import CliRun, digest
from .factory import AS_OF, ID_CARD, ID_CARD_MASKED, raw_pii, valid_tables, write_csv, write_warehouse

Mutation = Callable[[Path], None]


def _part(folder: Path, table: str) -> Path:
    return folder / table / "part-00000.parquet"


def _rewrite(table: str, edit: Callable[[pa.Table], pa.Table]) -> Mutation:
    """Rewrite one table's Parquet part with ``edit`` applied (no cast back to the canonical schema)."""

    def mutate(folder: Path) -> None:
        data = pq.read_table(_part(folder, table))
        pq.write_table(edit(data), _part(folder, table))

    return mutate


def _set(table: str, column: str, row: int, value: object, typ: pa.DataType | None = None) -> Mutation:
    def edit(data: pa.Table) -> pa.Table:
        values = data[column].to_pylist()
        values[row] = value
        field = data.schema.field(column)
        return data.set_column(
            data.schema.get_field_index(column), field.name, pa.array(values, typ or field.type)
        )

    return _rewrite(table, edit)


def _retype(table: str, column: str, values: list[object], typ: pa.DataType) -> Mutation:
    return _rewrite(
        table, lambda d: d.set_column(d.schema.get_field_index(column), column, pa.array(values, typ))
    )


def _to_csv(table: str, edit: Callable[[list[str]], None] | None = None) -> Mutation:
    """Replace a table's Parquet folder by ``<table>.csv``, with its text lines edited."""

    def mutate(folder: Path) -> None:
        data = pq.read_table(_part(folder, table))
        shutil.rmtree(folder / table)
        path = write_csv(folder / f"{table}.csv", data)
        if edit is not None:
            lines = path.read_text(encoding="utf-8").splitlines()
            edit(lines)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return mutate


def _replace_in_line(index: int, old: str, new: str) -> Callable[[list[str]], None]:
    def edit(lines: list[str]) -> None:
        assert old in lines[index], (old, lines[index])
        lines[index] = lines[index].replace(old, new, 1)

    return edit


def _swap_lat_lon(table: str) -> Mutation:
    def edit(data: pa.Table) -> pa.Table:
        lat, lon = data["lat"], data["lon"]
        data = data.set_column(data.schema.get_field_index("lat"), "lat", lon)
        return data.set_column(data.schema.get_field_index("lon"), "lon", lat)

    return _rewrite(table, edit)


def _remove(table: str) -> Mutation:
    return lambda folder: shutil.rmtree(folder / table)


def _empty_csv(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        shutil.rmtree(folder / table)
        (folder / f"{table}.csv").write_bytes(b"")

    return mutate


# name: (mutation, expected fragments of the output: table.column, rule, and what the message must say)
CASES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    "missing column": (
        _rewrite("customers", lambda d: d.drop_columns(["occupation"])),
        ("customers.occupation:", "rule missing_column", "column is missing"),
    ),
    "extra column holding personal data": (
        _rewrite("customers", lambda d: d.append_column("mobile", d["phone"])),
        ("customers.mobile:", "rule extra_column", "remove it"),
    ),
    "misspelt column": (
        _rewrite(
            "customers",
            lambda d: d.rename_columns(["phone_no" if c == "phone" else c for c in d.column_names]),
        ),
        (
            "customers.phone_no:",
            "rule extra_column",
            "did you mean phone?",
            "customers.phone:",
            "rule missing_column",
        ),
    ),
    "wrong type in parquet (id card stored as a number)": (
        _retype("customers", "id_card_no", [int(ID_CARD), 1, 2, 3], pa.int64()),
        ("customers.id_card_no:", "rule wrong_type", "stored as int64", f"id_card_no={ID_CARD_MASKED}"),
    ),
    "timestamp with a time zone": (
        _rewrite(
            "transactions", lambda d: d.set_column(2, "txn_at", d["txn_at"].cast(pa.timestamp("us", "UTC")))
        ),
        ("transactions.txn_at:", "rule wrong_type", "time zone 'UTC'"),
    ),
    "unparseable number in csv": (
        _to_csv("loans", _replace_in_line(1, "20000000", "2万")),
        (
            "loans.principal_fen:",
            "rule wrong_type",
            "not a whole number",
            "row 1: loan_id=L01 principal_fen=2万",
        ),
    ),
    "unparseable date in csv": (
        _to_csv("accounts", _replace_in_line(2, "2016-01-02", "2016-13-45")),
        ("accounts.open_date:", "rule wrong_type", "not a date YYYY-MM-DD", "row 2: account_id=A0002"),
    ),
    "null in required": (
        _set("customers", "name", 0, None),
        (
            "customers.name:",
            "rule null_in_required",
            "1 row with no value",
            "row 1: customer_id=K0001 name=null",
        ),
    ),
    "duplicate key": (
        _rewrite("transactions", lambda d: pa.concat_tables([d, d.slice(2, 1)])),
        ("transactions.txn_id:", "rule duplicate_key", "2 rows sharing 1 key value", "row 6: txn_id=T00003"),
    ),
    "duplicate composite key": (
        _rewrite("balances", lambda d: pa.concat_tables([d, d.slice(0, 1)])),
        ("balances:", "rule duplicate_key", "(account_id, month_end_date)"),
    ),
    "dangling foreign key": (
        _set("accounts", "customer_id", 3, "K9999"),
        ("accounts.customer_id:", "rule dangling_foreign_key", "'K9999'", "row 4: account_id=A0004"),
    ),
    "negative amount": (
        _set("transactions", "amount_fen", 1, -500),
        (
            "transactions.amount_fen: 1 row with a negative amount",
            "rule negative_amount",
            "row 2: txn_id=T00002 amount_fen=-500",
        ),
    ),
    "zero amount where the minimum is 1": (
        _set("transactions", "amount_fen", 0, 0),
        ("transactions.amount_fen: 1 row below the minimum 1", "rule below_minimum", "amount_fen=0"),
    ),
    "rate above maximum": (
        _set("loans", "annual_rate_bp", 0, 99_999),
        ("loans.annual_rate_bp: 1 row above the maximum 3600", "rule above_maximum"),
    ),
    "date after as-of": (
        _set("transactions", "txn_at", 4, datetime(2025, 10, 1, 0, 0)),
        ("transactions.txn_at:", "rule date_after_as_of", "after the as-of date 2025-09-30", "row 5"),
    ),
    "coordinate outside china": (
        _set("merchants", "lon", 1, 0.0),
        ("merchants.lon:", "rule coordinate_outside_china", "73–135°E", "merchant_id=M002"),
    ),
    "lat and lon swapped": (
        _swap_lat_lon("outlets"),
        (
            "outlets.lat:",
            "outlets.lon:",
            "rule coordinate_outside_china",
            "2 of them would be inside with lat and lon swapped",
        ),
    ),
    "unknown enum value": (
        _set("customers", "gender", 0, "男"),
        ("customers.gender:", "rule unknown_enum_value", "'男'", "allowed: F, M"),
    ),
    "missing table referenced by a foreign key": (
        _remove("counties"),
        ("counties:", "rule missing_table", "outlets.county_id", "customers.county_id"),
    ),
    "empty csv file": (
        _empty_csv("products"),
        ("products:", "rule unreadable_file", "is empty (no header row)"),
    ),
    "csv line with too many fields": (
        _to_csv("customers", lambda lines: lines.__setitem__(2, lines[2] + ",surplus")),
        ("customers:", "rule malformed_row", "line 3 has 14", "expected 13"),
    ),
    "corrupt parquet file": (
        lambda f: _part(f, "kpi_targets").write_bytes(b"not parquet"),
        ("kpi_targets:", "rule unreadable_file", "not a readable Parquet file"),
    ),
    "parts that disagree on their columns": (
        lambda f: pq.write_table(
            pq.read_table(_part(f, "accounts")).drop_columns(["status"]).slice(0, 2),
            f / "accounts" / "part-00001.parquet",
        ),
        ("accounts.status:", "rule missing_column", "missing in 1 of 2 files (part-00001.parquet)"),
    ),
    "unknown table file": (
        lambda f: shutil.copy(_part(f, "customers"), f / "custmers.parquet"),
        ("custmers:", "rule unknown_table", "did you mean customers?"),
    ),
    "table both as folder and csv": (
        lambda f: write_csv(f / "products.csv", pq.read_table(_part(f, "products"))),
        ("products:", "rule ambiguous_table", "products/ and products.csv"),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_input_is_reported_with_table_column_rule_and_masked_examples(
    case: str, warehouse: Path, cli: CliRun
) -> None:
    mutate, expected = CASES[case]
    mutate(warehouse)
    before = digest(warehouse)
    code, output = cli(["data", "validate", str(warehouse), "--as-of", str(AS_OF)])
    assert code == 2, output
    assert "Traceback" not in output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert "problem" in output and "fix them" in output
    for secret in raw_pii():
        assert secret not in output, f"unmasked personal data {secret!r} in:\n{output}"
    assert digest(warehouse) == before, "validation must write nothing"


def test_the_corpus_covers_at_least_twenty_inputs_and_most_rules() -> None:
    assert len(CASES) >= 20
    rules = {
        frag.removeprefix("rule ")
        for _, frags in CASES.values()
        for frag in frags
        if frag.startswith("rule ")
    }
    assert rules >= set(RULES) - {"money_precision"}  # money_precision arises from import only


def test_a_clean_warehouse_passes_with_a_one_line_ok(warehouse: Path, cli: CliRun) -> None:
    code, output = cli(["data", "validate", str(warehouse), "--as-of", str(AS_OF)])
    assert code == 0, output
    assert output.count("\n") == 1
    assert output.startswith("OK") and f"{len(TABLES)} tables" in output and "customers 4" in output


def test_all_problems_are_reported_at_once(warehouse: Path, cli: CliRun) -> None:
    CASES["unknown enum value"][0](warehouse)
    CASES["duplicate key"][0](warehouse)
    CASES["coordinate outside china"][0](warehouse)
    code, output = cli(["data", "validate", str(warehouse)])
    assert code == 2
    assert "3 problems in 3 tables" in output
    for rule in ("unknown_enum_value", "duplicate_key", "coordinate_outside_china"):
        assert f"(rule {rule})" in output


def test_the_truth_folder_is_never_read(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = warehouse / "truth"
    (truth / "customers").mkdir(parents=True)
    (truth / "customers" / "part-00000.parquet").write_bytes(b"garbage that would be unreadable")
    (truth / "risky.csv").write_text("")
    opened: list[str] = []
    from youshu.schema import readers

    for module, name in (
        (readers.pq, "read_schema"),
        (readers.pacsv, "open_csv"),
        (readers.pacsv, "read_csv"),
    ):
        original = getattr(module, name)

        def spy(
            path: object, *args: object, _original: Callable[..., object] = original, **kw: object
        ) -> object:
            opened.append(str(path))
            return _original(path, *args, **kw)

        monkeypatch.setattr(module, name, spy)
    write_csv(warehouse / "products.csv", pq.read_table(_part(warehouse, "products")))
    shutil.rmtree(warehouse / "products")
    report = validate_warehouse(warehouse, as_of=AS_OF)
    assert report.ok, report.to_text()
    assert opened and not [p for p in opened if Path(p).relative_to(warehouse).parts[0] == "truth"]
    assert "truth" not in report.tables


def test_a_csv_export_with_every_table_validates_like_parquet(tmp_path: Path) -> None:
    for name, table in valid_tables().items():
        write_csv(tmp_path / "csv" / f"{name}.csv", table)
    report = validate_warehouse(tmp_path / "csv", as_of=AS_OF)
    assert report.ok, report.to_text()
    assert report.tables["transactions"] == 5


def test_single_parquet_files_and_safe_widenings_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    for name, table in valid_tables().items():
        pq.write_table(table, folder / f"{name}.parquet")
    txn = valid_tables()["transactions"]
    widened = txn.set_column(4, "amount_fen", txn["amount_fen"].cast(pa.int32()))
    widened = widened.set_column(0, "txn_id", widened["txn_id"].cast(pa.large_string()))
    widened = widened.set_column(2, "txn_at", widened["txn_at"].cast(pa.timestamp("ms")))
    pq.write_table(widened, folder / "transactions.parquet")
    report = validate_warehouse(folder, as_of=AS_OF)
    assert report.ok, report.to_text()


def test_examples_name_the_part_file_when_a_table_has_several(warehouse: Path) -> None:
    txn = pq.read_table(_part(warehouse, "transactions"))
    bad = txn.set_column(4, "amount_fen", pa.array([1, 2, -3, 4, 5], pa.int64()))
    pq.write_table(bad, warehouse / "transactions" / "part-00001.parquet")
    report = validate_warehouse(warehouse, tables=["transactions"])
    rules = {p.rule for p in report.problems}
    assert rules == {"negative_amount", "duplicate_key"}
    negative = next(p for p in report.problems if p.rule == "negative_amount")
    assert negative.examples == (
        {"row": 3, "file": "part-00001.parquet", "txn_id": "T00003", "amount_fen": -3},
    )


def test_problem_text_is_one_precise_line(warehouse: Path) -> None:
    _set("transactions", "amount_fen", 1, 0)(warehouse)
    report = validate_warehouse(warehouse)
    (problem,) = report.problems
    assert str(problem) == (
        "transactions.amount_fen: 1 row below the minimum 1 (低于最小值) (rule below_minimum) — "
        "e.g. row 2: txn_id=T00002 amount_fen=0"
    )
    assert problem.location == str(warehouse / "transactions")


def test_raise_if_failed_carries_the_report(warehouse: Path) -> None:
    _set("customers", "gender", 1, "X")(warehouse)
    report = validate_warehouse(warehouse)
    with pytest.raises(ValidationFailed) as info:
        report.raise_if_failed()
    assert info.value.report is report
    assert "customers.gender" in str(info.value)
    validate_warehouse(write_warehouse(warehouse.parent / "clean")).raise_if_failed()


def test_tables_option_checks_only_those_and_reads_what_they_refer_to(warehouse: Path, cli: CliRun) -> None:
    _set("loans", "status", 0, "bad")(warehouse)  # not checked
    _set("accounts", "customer_id", 0, "K404")(warehouse)
    report = validate_warehouse(warehouse, tables=["accounts"])
    assert list(report.tables) == ["accounts"]
    assert [p.rule for p in report.problems] == ["dangling_foreign_key"]
    code, output = cli(["data", "validate", str(warehouse), "-t", "accounts", "-t", "loans"])
    assert code == 2 and "loans.status" in output and "accounts.customer_id" in output


def test_a_named_table_that_is_absent_is_a_problem(warehouse: Path) -> None:
    shutil.rmtree(warehouse / "kpi_targets")
    report = validate_warehouse(warehouse, tables=["kpi_targets"])
    assert [(p.table, p.rule) for p in report.problems] == [("kpi_targets", "missing_table")]


def test_unreferenced_absent_tables_are_not_problems(warehouse: Path) -> None:
    for name in ("kpi_targets", "loan_repayments", "holdings"):
        shutil.rmtree(warehouse / name)
    report = validate_warehouse(warehouse)
    assert report.ok, report.to_text()
    assert report.absent == ["holdings", "loan_repayments", "kpi_targets"]


def test_unknown_table_names_and_missing_folders_are_errors_that_say_what_to_do(
    tmp_path: Path, warehouse: Path, cli: CliRun
) -> None:
    with pytest.raises(SourceError, match="canonical tables are"):
        validate_warehouse(warehouse, tables=["custmers"])
    with pytest.raises(SourceError, match="does not exist"):
        validate_warehouse(tmp_path / "nowhere")
    code, output = cli(["data", "validate", str(tmp_path / "nowhere")])
    assert code == 2 and "does not exist" in output and "Traceback" not in output


def test_report_lists_every_rule_with_a_description() -> None:
    assert all(RULES.values())
    assert CHINA_LAT == (18.0, 54.0)
    report = ValidationReport(Path("x"))
    assert report.ok and report.summary().startswith("OK")


def test_help_texts_give_examples(cli: CliRun) -> None:
    for command in (["data", "validate", "--help"], ["data", "import", "--help"], ["data", "--help"]):
        code, output = cli(command)
        assert code == 0, output
        assert "youshu data" in output


@pytest.mark.slow
def test_validation_scans_a_large_table_without_loading_it(tmp_path: Path) -> None:
    import time

    n = 2_000_000
    tables = valid_tables()
    base = tables.pop("transactions")
    folder = write_warehouse(tmp_path / "big", tables)
    columns = {name: base[name].take(pa.array([0] * n)) for name in base.column_names}
    columns["txn_id"] = pa.chunked_array([pa.array([f"T{i:09d}" for i in range(n)])])
    columns["amount_fen"] = pa.chunked_array([pa.array(range(1, n + 1), pa.int64())])
    pq.write_table(pa.table(columns), folder / "transactions.parquet")
    started = time.perf_counter()
    report = validate_warehouse(folder, as_of=AS_OF, tables=["transactions"])
    assert report.ok, report.to_text()
    assert report.tables["transactions"] == n
    assert time.perf_counter() - started < 30


def test_every_canonical_table_is_in_the_factory() -> None:
    assert set(valid_tables()) == {t.name for t in TABLES}


def test_validate_raises_youshu_errors_only(warehouse: Path) -> None:
    with pytest.raises(YoushuError):
        validate_warehouse(warehouse / "customers" / "part-00000.parquet")
