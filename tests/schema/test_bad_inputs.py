"""A corpus of malformed exports: each is reported by `youshu data validate` with table, column and rule,
exit code 2, no traceback, personal data masked, and nothing written."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from youshu.cli.main import main
from youshu.schema.storage import parquet_files
from youshu.synth import generate

Mutation = Callable[[Path], None]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad") / "clean"
    generate(out, customers=1000, seed=3, workers=1)
    return out


def _read(folder: Path, table: str) -> pa.Table:
    return pq.ParquetDataset(parquet_files(folder / table)).read()


def _write(folder: Path, table: str, data: pa.Table) -> None:
    shutil.rmtree(folder / table)
    (folder / table).mkdir()
    pq.write_table(data, folder / table / "part-00000.parquet")


def _to_csv(folder: Path, table: str, edit: Callable[[list[dict]], None]) -> None:
    rows = _read(folder, table).to_pylist()
    edit(rows)
    shutil.rmtree(folder / table)
    text = pa.Table.from_pylist([{k: None if v is None else str(v) for k, v in r.items()} for r in rows])
    pacsv.write_csv(text, folder / f"{table}.csv")


def _set(table: str, column: str, value: object, row: int = 0) -> Mutation:
    def mutate(folder: Path) -> None:
        data = _read(folder, table)
        values = data[column].to_pylist()
        values[row] = value
        idx = data.schema.get_field_index(column)
        _write(folder, table, data.set_column(idx, column, pa.array(values, data.schema.field(column).type)))

    return mutate


def _drop_column(table: str, column: str) -> Mutation:
    return lambda f: _write(f, table, _read(f, table).drop_columns([column]))


def _add_column(table: str, column: str) -> Mutation:
    def mutate(folder: Path) -> None:
        data = _read(folder, table)
        _write(folder, table, data.append_column(column, pa.array(["x"] * data.num_rows)))

    return mutate


def _retype(table: str, column: str, typ: pa.DataType) -> Mutation:
    def mutate(folder: Path) -> None:
        data = _read(folder, table)
        idx = data.schema.get_field_index(column)
        _write(folder, table, data.set_column(idx, column, data[column].cast(typ)))

    return mutate


def _duplicate_first_row(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        data = _read(folder, table)
        _write(folder, table, pa.concat_tables([data, data.slice(0, 1)]))

    return mutate


def _csv_cell(table: str, column: str, value: str) -> Mutation:
    def edit(rows: list[dict]) -> None:
        rows[1][column] = value

    return lambda f: _to_csv(f, table, edit)


def _remove_table(table: str) -> Mutation:
    return lambda f: shutil.rmtree(f / table)


def _empty_csv(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        shutil.rmtree(folder / table)
        (folder / f"{table}.csv").write_bytes(b"")

    return mutate


def _garbage_parquet(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        shutil.rmtree(folder / table)
        (folder / table).mkdir()
        (folder / table / "part-00000.parquet").write_bytes(b"not a parquet file at all")

    return mutate


def _swap_lat_lon(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        data = _read(folder, table)
        lat, lon = data["lat"], data["lon"]
        data = data.set_column(data.schema.get_field_index("lat"), "lat", lon)
        _write(folder, table, data.set_column(data.schema.get_field_index("lon"), "lon", lat))

    return mutate


def _tz_timestamps(table: str, column: str) -> Mutation:
    return _retype(table, column, pa.timestamp("us", tz="Asia/Shanghai"))


CASES: dict[str, tuple[Mutation, str, str, str]] = {
    # name: (mutation, table, column, rule)
    "missing column": (_drop_column("customers", "gender"), "customers", "gender", "missing_column"),
    "extra column": (_add_column("accounts", "branch_code"), "accounts", "branch_code", "extra_column"),
    "wrong parquet type": (
        _retype("balances", "balance_fen", pa.string()),
        "balances",
        "balance_fen",
        "wrong_type",
    ),
    "timestamp with a zone": (
        _tz_timestamps("transactions", "txn_at"),
        "transactions",
        "txn_at",
        "wrong_type",
    ),
    "unparseable number in csv": (
        _csv_cell("loans", "principal_fen", "12,000元"),
        "loans",
        "principal_fen",
        "wrong_type",
    ),
    "unparseable date in csv": (
        _csv_cell("customers", "birth_date", "1990-13-45"),
        "customers",
        "birth_date",
        "wrong_type",
    ),
    "empty required cell in csv": (
        _csv_cell("outlets", "county_id", ""),
        "outlets",
        "county_id",
        "null_in_required",
    ),
    "null in required": (_set("customers", "county_id", None), "customers", "county_id", "null_in_required"),
    "duplicate key": (_duplicate_first_row("customers"), "customers", "customer_id", "duplicate_key"),
    "dangling foreign key": (
        _set("accounts", "customer_id", "C999999999"),
        "accounts",
        "customer_id",
        "dangling_foreign_key",
    ),
    "negative amount": (
        _set("transactions", "amount_fen", -500),
        "transactions",
        "amount_fen",
        "negative_amount",
    ),
    "zero amount where at least 1": (
        _set("transactions", "amount_fen", 0),
        "transactions",
        "amount_fen",
        "below_minimum",
    ),
    "rate above maximum": (
        _set("loans", "annual_rate_bp", 99_999),
        "loans",
        "annual_rate_bp",
        "above_maximum",
    ),
    "share above one": (
        _set("campaigns", "control_share", 1.5),
        "campaigns",
        "control_share",
        "above_maximum",
    ),
    "date after as-of": (
        _set("transactions", "txn_at", datetime(2026, 3, 1, 9)),
        "transactions",
        "txn_at",
        "date_after_as_of",
    ),
    "coordinate outside china": (_set("outlets", "lat", 0.0), "outlets", "lat", "coordinate_outside_china"),
    "lat and lon swapped": (_swap_lat_lon("customers"), "customers", "lat", "coordinate_outside_china"),
    "unknown enum value": (
        _set("transactions", "channel", "fax"),
        "transactions",
        "channel",
        "unknown_enum_value",
    ),
    "unknown gender code": (_set("customers", "gender", "男"), "customers", "gender", "unknown_enum_value"),
    "referenced table missing": (_remove_table("counties"), "outlets", "county_id", "missing_table"),
    "empty csv file": (_empty_csv("products"), "products", "", "unreadable_file"),
    "corrupt parquet file": (_garbage_parquet("kpi_targets"), "kpi_targets", "", "unreadable_file"),
}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_export_is_reported_with_table_column_and_rule(
    case: str, clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate, table, column, rule = CASES[case]
    folder = tmp_path / "export"
    shutil.copytree(clean, folder, ignore=shutil.ignore_patterns("truth"))
    mutate(folder)
    before = _digest(folder)
    code, output = _run(["data", "validate", str(folder), "--as-of", "2025-12-31"], capsys)
    assert code == 2, output
    assert "Traceback" not in output
    assert f"rule {rule}" in output
    assert f"{table}.{column}" in output if column else f"{table}:" in output
    assert _digest(folder) == before, "validation must not write into the folder"
    # Personal data never appears unmasked.
    customers = folder / "customers"
    if customers.is_dir():
        people = _read(folder, "customers").slice(0, 50).to_pylist()
        for person in people:
            for key in ("id_card_no", "phone", "name"):
                if person.get(key):
                    assert person[key] not in output, f"raw {key} leaked"


def test_every_problem_in_a_folder_is_reported_at_once(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(clean, folder, ignore=shutil.ignore_patterns("truth"))
    _set("transactions", "channel", "fax")(folder)
    _duplicate_first_row("customers")(folder)
    _set("outlets", "lat", 0.0)(folder)
    code, output = _run(["data", "validate", str(folder)], capsys)
    assert code == 2
    for expected in ("unknown_enum_value", "duplicate_key", "coordinate_outside_china", "3 problems"):
        assert expected in output


def test_a_clean_province_passes_and_truth_is_ignored(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(clean, folder)
    (folder / "truth" / "customers.csv").write_text("not,a,canonical\ntable,at,all\n")
    code, output = _run(["data", "validate", str(folder), "--as-of", "2025-12-31"], capsys)
    assert code == 0, output
    assert "OK" in output and "customers 1,000" in output
