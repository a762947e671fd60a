"""``import_export`` and ``youshu data import``: a bank export mapped into the warehouse, or nothing changes."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.errors import MappingError, ValidationFailed
from youshu.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from youshu.schema import importer
from youshu.schema.importer import ImportMapping, WarehouseWriteError, import_export, load_mapping
from youshu.schema.storage import read_table
from youshu.schema.tables import get_table
from youshu.schema.validate import validate_warehouse

from .conftest import CliRun, digest
from .factory import AS_OF, raw_pii, valid_rows, valid_tables

IMPORTED = ("customers", "accounts", "transactions", "merchants", "loans")

MAP_YML = """\
tables:
  - source: khxx.csv
    table: customers
    encoding: gbk
    columns: {customer_id: KHH, customer_type: KHLX, name: XM, id_card_no: ZJHM, phone: SJH, gender: XB,
              birth_date: CSRQ, occupation: ZY, county_id: XQ, home_outlet_id: WD, lat: WD_LAT, lon: JD_LON,
              onboard_date: KHRQ}
    values:
      gender: {"男": M, "女": F}
      customer_type: {1: individual, 2: business}
    coordinates: GCJ-02
  - source: zhxx.parquet
    table: accounts
    columns: {account_id: ZH, customer_id: KHH, outlet_id: WD, account_type: ZHLX, open_date: KHRQ, status: ZT}
    values:
      status: {"0": active, "1": dormant}
  - source: jyls
    table: transactions
    money_unit: yuan
    columns: {txn_id: LSH, account_id: ZH, txn_at: JYSJ, direction: FX, amount_fen: JE, channel: QD,
              counterparty_id: DSF, counterparty_account_id: DSFZH, counterparty_category: DSFLB,
              counterparty_industry: HY, outlet_id: WD}
  - source: shdz.csv
    table: merchants
    coordinates: bd09
    columns: {merchant_id: SHBH, merchant_name: SHMC, category: LB, specialty_industry: TC, county_id: XQ,
              lat: WD, lon: JD, is_acquired: SFSD, acquiring_outlet_id: SDWD, onboard_date: QYRQ,
              owner_customer_id: KHH, settlement_account_id: JSZH}
    constants: {status: active}
  - source: dk.parquet
    table: loans
    money_unit: {principal_fen: yuan}
    columns: {loan_id: JJH, customer_id: KHH, outlet_id: WD, product: CP, purpose_industry: YT,
              principal_fen: BJ, annual_rate_bp: LL, issue_date: FKRQ, maturity_date: DQRQ, status: ZT}
"""


def _blank(value: Any) -> str:
    return "" if value is None else str(value)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([[_blank(v) for v in row] for row in rows])


def make_export(folder: Path) -> Path:
    """A bank export of five tables: Chinese column names, codes, yuan, GCJ-02/BD-09, GBK, CSV and Parquet."""
    data = valid_rows()
    people = []
    for r in data["customers"]:
        glat, glon = wgs84_to_gcj02(r["lat"], r["lon"])
        people.append(
            [
                r["customer_id"],
                1 if r["customer_type"] == "individual" else 2,
                r["name"],
                r["id_card_no"],
                r["phone"],
                {"M": "男", "F": "女", None: None}[r["gender"]],
                r["birth_date"].strftime("%Y/%m/%d") if r["birth_date"] else None,
                r["occupation"],
                r["county_id"],
                r["home_outlet_id"],
                f"{float(glat):.9f}",
                f"{float(glon):.9f}",
                r["onboard_date"],
                "备注",
            ]
        )
    header = [
        "KHH",
        "KHLX",
        "XM",
        "ZJHM",
        "SJH",
        "XB",
        "CSRQ",
        "ZY",
        "XQ",
        "WD",
        "WD_LAT",
        "JD_LON",
        "KHRQ",
        "BZ",
    ]
    _write_csv(folder / "khxx.csv", header, people, encoding="gbk")

    accounts = pa.table(
        {
            "ZH": [r["account_id"] for r in data["accounts"]],
            "KHH": [r["customer_id"] for r in data["accounts"]],
            "WD": [r["outlet_id"] for r in data["accounts"]],
            "ZHLX": [r["account_type"] for r in data["accounts"]],
            "KHRQ": pa.array([r["open_date"] for r in data["accounts"]], pa.date32()),
            "ZT": pa.array([0] * len(data["accounts"]), pa.int8()),
        }
    )
    pq.write_table(accounts, folder / "zhxx.parquet")

    txn = [
        [
            r["txn_id"],
            r["account_id"],
            r["txn_at"],
            r["direction"],
            f"{r['amount_fen'] // 100:,}.{r['amount_fen'] % 100:02d}",
            r["channel"],
            r["counterparty_id"],
            r["counterparty_account_id"],
            r["counterparty_category"],
            r["counterparty_industry"],
            r["outlet_id"],
        ]
        for r in data["transactions"]
    ]
    header = ["LSH", "ZH", "JYSJ", "FX", "JE", "QD", "DSF", "DSFZH", "DSFLB", "HY", "WD"]
    _write_csv(folder / "jyls" / "2025-09a.csv", header, txn[:3])
    _write_csv(folder / "jyls" / "2025-09b.csv", header, txn[3:])

    shops = []
    for r in data["merchants"]:
        blat, blon = wgs84_to_bd09(r["lat"], r["lon"])
        shops.append(
            [
                r["merchant_id"],
                r["merchant_name"],
                r["category"],
                r["specialty_industry"],
                r["county_id"],
                f"{float(blat):.9f}",
                f"{float(blon):.9f}",
                "是" if r["is_acquired"] else "否",
                r["acquiring_outlet_id"],
                r["onboard_date"],
                r["owner_customer_id"],
                r["settlement_account_id"],
            ]
        )
    header = ["SHBH", "SHMC", "LB", "TC", "XQ", "WD", "JD", "SFSD", "SDWD", "QYRQ", "KHH", "JSZH"]
    _write_csv(folder / "shdz.csv", header, shops)

    loans = data["loans"]
    pq.write_table(
        pa.table(
            {
                "JJH": [r["loan_id"] for r in loans],
                "KHH": [r["customer_id"] for r in loans],
                "WD": [r["outlet_id"] for r in loans],
                "CP": [r["product"] for r in loans],
                "YT": [r["purpose_industry"] for r in loans],
                "BJ": pa.array([r["principal_fen"] / 100 for r in loans], pa.float64()),  # yuan as a float
                "LL": pa.array([r["annual_rate_bp"] for r in loans], pa.int32()),
                "FKRQ": pa.array([datetime.combine(r["issue_date"], datetime.min.time()) for r in loans]),
                "DQRQ": [r["maturity_date"].isoformat() for r in loans],
                "ZT": [r["status"] for r in loans],
            }
        ),
        folder / "dk.parquet",
    )
    (folder / "map.yml").write_text(MAP_YML, encoding="utf-8")
    return folder


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return make_export(tmp_path / "export")


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_export_is_mapped_into_the_canonical_warehouse(export: Path, warehouse: Path) -> None:
    untouched = digest(warehouse / "counties")
    result = import_export(export, export / "map.yml", warehouse, as_of=AS_OF)
    assert result.tables == {"customers": 4, "accounts": 5, "transactions": 5, "merchants": 2, "loans": 1}
    assert result.report.ok
    expected = valid_tables()
    for name in IMPORTED:
        got = read_table(warehouse, get_table(name))
        assert got.schema == get_table(name).arrow_schema
        for got_row, want_row in zip(got.to_pylist(), expected[name].to_pylist(), strict=True):
            for key, want in want_row.items():
                if key in ("lat", "lon"):
                    assert got_row[key] == pytest.approx(want, abs=1e-7), (name, key)  # about 1 cm
                else:
                    assert got_row[key] == want, (name, key)
    assert digest(warehouse / "counties") == untouched
    assert validate_warehouse(warehouse, as_of=AS_OF).ok
    assert _listing(warehouse.parent) == ["export", "wh"]  # no staging folder left behind


@pytest.mark.parametrize(
    ("unit", "text", "fen"),
    [
        ("yuan", "0.29", 29),  # 0.29 * 100 is 28.999999999999996 in floating point
        ("yuan", "1,234.56", 123456),
        ("yuan", " 12.3 ", 1230),
        ("yuan", "7", 700),
        ("yuan", "19.990", 1999),
        ("yuan", "92233720368547758.08", None),  # beyond int64 fen: an error, never a wrapped number
        ("jiao", "12.3", 123),
        ("fen", "1234", 1234),
        ("fen", "1234.00", 1234),
    ],
)
def test_money_is_converted_to_fen_exactly(
    unit: str, text: str, fen: int | None, export: Path, warehouse: Path
) -> None:
    header = ["LSH", "ZH", "JYSJ", "FX", "JE", "QD", "DSF", "DSFZH", "DSFLB", "HY", "WD"]
    row = ["T9", "A0001", "2025-09-09 09:09:09", "in", text, "atm", None, None, "cash", None, None]
    shutil.rmtree(export / "jyls")
    _write_csv(export / "jyls.csv", header, [row])
    mapping = MAP_YML.split("  - source: jyls")[1].split("  - source: shdz.csv")[0]
    (export / "one.yml").write_text(
        "tables:\n  - source: jyls.csv" + mapping.replace("money_unit: yuan", f"money_unit: {unit}"),
        encoding="utf-8",
    )
    if fen is None:
        with pytest.raises(ValidationFailed, match="rule wrong_type"):
            import_export(export, export / "one.yml", warehouse)
        return
    import_export(export, export / "one.yml", warehouse)
    assert read_table(warehouse, get_table("transactions"))["amount_fen"].to_pylist() == [fen]


def test_the_cli_imports_into_the_configured_warehouse(export: Path, project: Path, cli: CliRun) -> None:
    (project / "youshu.yaml").write_text("warehouse: store/wh\n", encoding="utf-8")
    from youshu.config import get_settings

    get_settings.cache_clear()
    from .factory import write_warehouse

    write_warehouse(project / "store" / "wh")
    code, output = cli(
        ["data", "import", str(export), "--mapping", str(export / "map.yml"), "--as-of", "2025-09-30"]
    )
    assert code == 0, output
    assert "transactions" in output and "OK: 5 tables, 17 rows" in output
    assert validate_warehouse(project / "store" / "wh").ok


def _only(*sources: str) -> str:
    """The part of MAP_YML mapping the given sources."""
    entries = ["  - source: " + e for e in MAP_YML.split("  - source: ")[1:]]
    return "tables:\n" + "".join(e for e in entries if e.split("\n")[0].split(": ")[1] in sources)


def test_foreign_keys_may_point_to_tables_already_in_the_warehouse(export: Path, warehouse: Path) -> None:
    (export / "acc.yml").write_text(_only("zhxx.parquet"), encoding="utf-8")
    result = import_export(export, export / "acc.yml", warehouse)
    assert result.tables == {"accounts": 5}  # customers and outlets come from the warehouse
    pq.write_table(
        pq.read_table(export / "zhxx.parquet").set_column(1, "KHH", pa.array(["K0001"] * 4 + ["K0999"])),
        export / "zhxx.parquet",
    )
    with pytest.raises(
        ValidationFailed, match=r"accounts\.customer_id: 1 row referring to customers\.customer_id"
    ):
        import_export(export, export / "acc.yml", warehouse)


def test_replacing_a_table_checks_the_warehouse_tables_that_refer_to_it(
    export: Path, warehouse: Path, cli: CliRun
) -> None:
    lines = (export / "khxx.csv").read_text(encoding="gbk").splitlines()
    (export / "khxx.csv").write_text("\n".join(lines[:3]) + "\n", encoding="gbk")  # K0003 and K0004 gone
    (export / "cust.yml").write_text(_only("khxx.csv"), encoding="utf-8")
    before = digest(warehouse)
    code, output = cli(["data", "import", str(export), "-m", str(export / "cust.yml"), "-w", str(warehouse)])
    assert code == 2, output
    assert "accounts.customer_id" in output and "rule dangling_foreign_key" in output and "'K0003'" in output
    assert "campaign_members.customer_id" in output
    assert digest(warehouse) == before


def test_a_failed_swap_is_rolled_back(
    export: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRun
) -> None:
    before = digest(warehouse)
    real = os.replace
    calls = {"n": 0}

    def flaky(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 6:  # third table: its old folder is set aside, then placing the new one fails
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    code, output = cli(["data", "import", str(export), "-m", str(export / "map.yml"), "-w", str(warehouse)])
    monkeypatch.setattr(os, "replace", real)
    assert calls["n"] > 6
    assert code == 2, output
    assert "left unchanged" in output and "No space left" in output and "Traceback" not in output
    assert digest(warehouse) == before
    assert _listing(warehouse.parent) == ["export", "wh"]


def test_a_failure_while_staging_changes_nothing(
    export: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = digest(warehouse)
    real = importer.write_part
    written: list[str] = []

    def failing(folder: Path, index: int, table: pa.Table, spec: Any = None) -> Path:
        written.append(folder.name)
        if len(written) == 3:
            raise OSError(5, "Input/output error")
        return real(folder, index, table, spec)

    monkeypatch.setattr(importer, "write_part", failing)
    with pytest.raises(WarehouseWriteError, match="left unchanged"):
        import_export(export, export / "map.yml", warehouse)
    assert digest(warehouse) == before
    assert _listing(warehouse.parent) == ["export", "wh"]


def test_importing_into_a_new_warehouse_creates_it_only_on_success(export: Path, tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "wh"
    with pytest.raises(ValidationFailed, match="rule missing_table"):
        import_export(export, export / "map.yml", target)  # counties, outlets, ... are nowhere
    assert not target.exists()
    rows = valid_tables()
    for name in ("counties", "outlets", "products", "campaigns", "coupons"):
        from .factory import write_csv

        write_csv(export / f"{name}.csv", rows[name])
    extra = "".join(f"  - {{source: {n}.csv, table: {n}}}\n" for n in ("counties", "outlets"))
    (export / "all.yml").write_text(MAP_YML + extra, encoding="utf-8")
    result = import_export(export, export / "all.yml", target, as_of=AS_OF)
    assert set(result.tables) == {*IMPORTED, "counties", "outlets"}
    assert validate_warehouse(target).ok
    assert _listing(target.parent) == ["wh"]


def test_the_mapping_model_forbids_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "map.yml"
    path.write_text("tables:\n  - {source: a.csv, table: customers, colums: {}}\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"map.yml: tables\[0\].colums: Extra inputs are not permitted"):
        load_mapping(path)
    path.write_text("tables:\n  - {source: a.csv, table: customers, money_unit: {amount_fen: yuan}}\n")
    mapping = load_mapping(path)
    assert isinstance(mapping, ImportMapping) and mapping.tables[0].unit_of("amount_fen") == "yuan"


# ---------------------------------------------------------------------------------------------------------
# The import part of the bad-input corpus: each is refused with exit code 2 and leaves the warehouse as it was

Edit = Callable[[Path], None]


def _map(old: str, new: str) -> Edit:
    def edit(export: Path) -> None:
        text = (export / "map.yml").read_text(encoding="utf-8")
        assert old in text, old
        (export / "map.yml").write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _cell(file: str, line: int, old: str, new: str, encoding: str = "utf-8") -> Edit:
    def edit(export: Path) -> None:
        lines = (export / file).read_text(encoding=encoding).splitlines()
        assert old in lines[line], (old, lines[line])
        lines[line] = lines[line].replace(old, new, 1)
        (export / file).write_text("\n".join(lines) + "\n", encoding=encoding)

    return edit


def _empty(file: str) -> Edit:
    return lambda export: (export / file).write_bytes(b"")


IMPORT_CASES: dict[str, tuple[Edit, tuple[str, ...]]] = {
    "malformed mapping yaml": (
        _map("columns: {txn_id: LSH,", "columns: {txn_id: [LSH,"),
        ("map.yml: not valid YAML at line",),
    ),
    "mapping with an unknown field": (
        _map("    money_unit: yuan", "    money_units: yuan"),
        ("map.yml: tables[2].money_units: Extra inputs are not permitted",),
    ),
    "mapping naming an unknown canonical table": (
        _map("table: customers", "table: custmers"),
        ("tables[0].table: unknown canonical table 'custmers'; did you mean 'customers'?",),
    ),
    "mapping naming an unknown canonical column": (
        _map("name: XM,", "nmae: XM,"),
        ("tables[0] (customers).columns.nmae: customers has no column 'nmae'; did you mean 'name'?",),
    ),
    "mapping naming a missing source column": (
        _map("name: XM,", "name: XMM,"),
        ("tables[0] (customers).columns.name: source column 'XMM' is not in khxx.csv; did you mean 'XM'?",),
    ),
    "required column left unmapped": (
        _map(" id_card_no: ZJHM,", ""),
        ("required column 'id_card_no' of customers is not mapped",),
    ),
    "unknown money unit": (
        _map("money_unit: yuan", "money_unit: wan"),
        ("tables[2].money_unit: unknown money unit 'wan'; use yuan (元), jiao (角) or fen (分)",),
    ),
    "money unit on a column that is not money": (
        _map("money_unit: {principal_fen: yuan}", "money_unit: {annual_rate_bp: yuan}"),
        (
            "tables[4] (loans).money_unit.annual_rate_bp: not a money column of loans (money columns: principal_fen)",
        ),
    ),
    "yuan with more than two decimals": (
        _cell("jyls/2025-09a.csv", 2, "120.00", "120.005"),
        (
            "transactions.amount_fen:",
            "rule money_precision",
            "at most 2 decimal places",
            "2025-09a.csv row 2",
        ),
    ),
    "unknown coordinate system": (
        _map("coordinates: bd09", "coordinates: mars84"),
        ("tables[3].coordinates: unknown coordinate system 'mars84'; use wgs84, gcj02 or bd09",),
    ),
    "coordinates for a table without any": (
        _map("    values:\n      status:", "    coordinates: gcj02\n    values:\n      status:"),
        ("tables[1] (accounts).coordinates: accounts has no lat/lon columns",),
    ),
    "code mapped to a value that is not allowed": (
        _map('{"男": M, "女": F}', '{"男": male, "女": F}'),
        (
            "tables[0] (customers).values.gender.男: 'male' is not an allowed value of customers.gender (F, M)",
        ),
    ),
    "source code missing from the value map": (
        _cell("khxx.csv", 2, ",女,", ",女士,", encoding="gbk"),
        (
            "customers.gender:",
            "rule unknown_enum_value",
            "'女士'",
            "source column XB",
            "row 2: customer_id=K0002",
        ),
    ),
    "source file missing": (
        _map("source: zhxx.parquet", "source: zhxx2.parquet"),
        ("tables[1] (accounts).source:", "zhxx2.parquet does not exist", "zhxx.parquet"),
    ),
    "source outside the export folder": (
        _map("source: shdz.csv", "source: ../wh/merchants"),
        ("tables[3] (merchants).source: '../wh/merchants' must name a file or folder inside",),
    ),
    "source inside a truth folder": (
        lambda e: (
            shutil.copytree(e / "jyls", e / "truth" / "jyls"),
            _map("source: jyls\n", "source: truth/jyls\n")(e),
        ),
        ("tables[2] (transactions).source: 'truth/jyls' must name a file or folder inside",),
    ),
    "empty csv file": (
        _empty("shdz.csv"),
        ("merchants:", "rule unreadable_file", "shdz.csv is empty (no header row)"),
    ),
    "unparseable amount": (
        _cell("jyls/2025-09b.csv", 1, "500.00", "五百"),
        (
            "transactions.amount_fen:",
            "rule wrong_type",
            "an amount in yuan such as 12.34",
            "2025-09b.csv row 1",
        ),
    ),
    "unparseable date": (
        _cell("khxx.csv", 1, "1990/01/01", "1990/02/30", encoding="gbk"),
        (
            "customers.birth_date:",
            "rule wrong_type",
            "a date YYYY-MM-DD",
            "source column CSRQ",
            "birth_date=1990/02/30",
        ),
    ),
    "negative amount": (
        _cell("jyls/2025-09a.csv", 1, "3,500.00", "-3500"),
        ("transactions.amount_fen:", "rule negative_amount", "amount_fen=-350000"),
    ),
    "empty required value": (
        _cell("khxx.csv", 3, "420103197003038765", "", encoding="gbk"),
        ("customers.id_card_no:", "rule null_in_required", "id_card_no=null", "row 3: customer_id=K0003"),
    ),
    "duplicate key in the export": (
        _cell("jyls/2025-09b.csv", 2, "T00005", "T00004"),
        ("transactions.txn_id:", "rule duplicate_key", "2 rows sharing 1 key value"),
    ),
    "dangling foreign key": (
        _cell("shdz.csv", 1, "K0004", "K0404"),
        ("merchants.owner_customer_id:", "rule dangling_foreign_key", "'K0404'"),
    ),
    "lat and lon swapped": (
        _map("lat: WD_LAT, lon: JD_LON", "lat: JD_LON, lon: WD_LAT"),
        (
            "customers.lat:",
            "customers.lon:",
            "rule coordinate_outside_china",
            "would be inside with lat and lon swapped",
        ),
    ),
    "date after the as-of date": (
        _cell("jyls/2025-09b.csv", 2, "2025-09-05 10:30:00", "2025-10-05 10:30:00"),
        ("transactions.txn_at:", "rule date_after_as_of", "after the as-of date 2025-09-30"),
    ),
}


@pytest.mark.parametrize("case", list(IMPORT_CASES), ids=list(IMPORT_CASES))
def test_a_bad_export_is_refused_and_nothing_is_written(
    case: str, export: Path, warehouse: Path, cli: CliRun
) -> None:
    edit, expected = IMPORT_CASES[case]
    edit(export)
    before, around = digest(warehouse), _listing(warehouse.parent)
    code, output = cli(
        [
            "data",
            "import",
            str(export),
            "--mapping",
            str(export / "map.yml"),
            "--warehouse",
            str(warehouse),
            "--as-of",
            "2025-09-30",
        ]
    )
    assert code == 2, output
    assert "Traceback" not in output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    for secret in raw_pii():
        assert secret not in output, f"unmasked personal data {secret!r} in:\n{output}"
    assert digest(warehouse) == before, "the warehouse must be exactly as before"
    assert _listing(warehouse.parent) == around, "no staging folder may be left behind"


def test_the_import_corpus_has_at_least_twenty_inputs() -> None:
    assert len(IMPORT_CASES) >= 20


def test_mapping_errors_name_the_file_and_every_field(export: Path, warehouse: Path) -> None:
    _map("name: XM,", "nmae: XM,")(export)
    _map("money_unit: {principal_fen: yuan}", "money_unit: {annual_rate_bp: yuan}")(export)
    with pytest.raises(MappingError) as info:
        import_export(export, export / "map.yml", warehouse)
    text = str(info.value)
    assert text.startswith(f"{export / 'map.yml'}: 2 problems in the mapping")
    assert "columns.nmae" in text and "money_unit.annual_rate_bp" in text


def test_unused_dates_in_the_fixture_stay_before_as_of() -> None:
    assert all(
        r["txn_at"] < datetime.combine(AS_OF, datetime.min.time()) for r in valid_rows()["transactions"]
    )
    assert date(2025, 9, 30) == AS_OF
