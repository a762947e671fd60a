"""A run validates first, writes runs/<as_of>/<name>/ atomically and deterministically, and nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine, connect
from youshu.errors import ValidationFailed, YoushuError
from youshu.pipeline import STEPS, RunContext, Step, run_pipeline
from youshu.reports import Note, Section
from youshu.schema.storage import write_part
from youshu.schema.tables import get_table

from . import AS_OF, TINY, write_tiny_warehouse


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")


@pytest.fixture
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _rows(data: bytes) -> list[dict[str, object]]:
    table = pq.read_table(pa.BufferReader(data))
    return sorted(table.to_pylist(), key=lambda row: json.dumps(row, sort_keys=True, default=str))


def _boom(ctx: RunContext) -> list[Section]:
    (ctx.out_dir / "partial.txt").write_text("half-written", encoding="utf-8")
    raise RuntimeError("step failed on purpose")


def test_run_writes_summary_report_and_run_record(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    result = run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "runs")
    folder = tmp_path / "runs" / "2025-09-30" / "main"
    assert result.folder == folder
    assert result.report_path == folder / "report.html"
    assert {
        "report.html",
        "run.json",
        "summary.json",
        "summary/aum_by_county.parquet",
        "summary/qr_weekly.parquet",
        "summary/kpi_progress.parquet",
    } <= set(_files(folder))
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["as_of"] == "2025-09-30" and record["engine"] == "duckdb" and record["name"] == "main"
    assert record["warehouse"] == str(tiny.absolute())
    assert record["table_rows"] == {name: len(rows) for name, rows in TINY.items()}
    assert record["steps"] == [s.name for s in STEPS]
    assert record["youshu_version"]
    assert set(record["timing"]["step_seconds"]) == {"validate", *(s.name for s in STEPS), "report"}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["headline"]["aum_fen"] == 40_000_000
    assert pq.read_table(folder / "summary" / "aum_by_county.parquet").column("aum_fen").to_pylist() == [
        22_000_000,
        18_000_000,
        0,
    ]
    assert result.summary is not None and result.summary.counts.customers == 4


def test_nothing_outside_the_run_folder_changes(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    before = _files(tiny)
    run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "runs")
    assert _files(tiny) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["2025-09-30"]
    assert [p.name for p in (tmp_path / "runs" / "2025-09-30").iterdir()] == ["main"]


def test_a_rerun_gives_identical_files_except_timing(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    first = run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "a")
    second = run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "b")
    a, b = _files(first.folder), _files(second.folder)
    assert set(a) == set(b)
    for name in a:
        if name != "run.json":
            assert a[name] == b[name], name
    run_a, run_b = (json.loads(x["run.json"]) for x in (a, b))
    run_a.pop("timing")
    run_b.pop("timing")
    assert run_a == run_b


def test_a_rerun_replaces_the_folder_whole(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    result = run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path)
    (result.folder / "stale.txt").write_text("from an older run", encoding="utf-8")
    run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path)
    assert not (result.folder / "stale.txt").exists()
    assert (result.folder / "report.html").exists()


def test_a_failing_step_leaves_no_run_folder_and_no_temp_dirs(
    duck: Engine, tiny: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="on purpose"):
        run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=runs, steps=[*STEPS, Step("boom", _boom)])
    assert not runs.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failing_rerun_keeps_the_previous_run(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    first = run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path)
    before = _files(first.folder)
    with pytest.raises(RuntimeError):
        run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path, steps=[Step("boom", _boom)])
    assert _files(first.folder) == before
    assert [p.name for p in first.folder.parent.iterdir()] == ["main"]  # no .main.tmp-* left behind


def test_an_invalid_warehouse_stops_the_run_before_anything_is_written(duck: Engine, tmp_path: Path) -> None:
    warehouse = write_tiny_warehouse(tmp_path / "warehouse")
    spec = get_table("accounts")
    rows = [*TINY["accounts"], {**TINY["accounts"][0], "account_id": "A9", "customer_id": "U404"}]
    write_part(warehouse / "accounts", 0, pa.Table.from_pylist(rows, schema=spec.arrow_schema), spec)
    with pytest.raises(ValidationFailed) as caught:
        run_pipeline(AS_OF, engine=duck, warehouse=warehouse, runs_dir=tmp_path / "runs")
    assert "U404" in str(caught.value) or "customer_id" in str(caught.value)
    assert caught.value.report is not None
    assert not (tmp_path / "runs").exists()


def test_a_missing_warehouse_says_how_to_make_one(duck: Engine, tmp_path: Path) -> None:
    with pytest.raises(YoushuError, match="youshu synth"):
        run_pipeline(AS_OF, engine=duck, warehouse=tmp_path / "nowhere", runs_dir=tmp_path / "runs")


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65])
def test_run_names_must_be_plain_folder_names(duck: Engine, tiny: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(YoushuError, match="run name"):
        run_pipeline(AS_OF, name=name, engine=duck, warehouse=tiny, runs_dir=tmp_path)


def test_steps_added_later_show_up_in_the_report(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    def tags(ctx: RunContext) -> list[Section]:
        assert ctx.results["summary"].counts.customers == 4  # earlier steps' results are available
        (ctx.out_dir / "tags.txt").write_text("ok", encoding="utf-8")
        return [Section("tags", "客户标签", "Customer tags", [Note("示例", "example")])]

    result = run_pipeline(
        AS_OF,
        name="with-tags",
        engine=duck,
        warehouse=tiny,
        runs_dir=tmp_path,
        steps=[*STEPS, Step("tags", tags)],
    )
    html = result.report_path.read_text(encoding="utf-8")
    assert 'data-section="tags"' in html and 'data-section="overview"' in html
    assert (result.folder / "tags.txt").read_text(encoding="utf-8") == "ok"
    assert "tags" in result.timings


def test_progress_reports_every_part_in_order(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    run_pipeline(
        AS_OF,
        engine=duck,
        warehouse=tiny,
        runs_dir=tmp_path,
        progress=lambda part, done, total: calls.append((part, done, total)),
    )
    parts = ["validate", *(s.name for s in STEPS), "report"]
    assert [c[0] for c in calls] == [p for p in parts for _ in range(2)]
    assert calls[-1] == ("report", len(parts), len(parts))
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)


def test_an_earlier_as_of_date_gets_its_own_folder(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    result = run_pipeline(date(2025, 8, 31), engine=duck, warehouse=tiny, runs_dir=tmp_path)
    assert result.folder == tmp_path / "2025-08-31" / "main"
    assert (
        json.loads((result.folder / "summary.json").read_text(encoding="utf-8"))["aum"]["total_fen"]
        == 35_000_000
    )


@pytest.mark.spark
def test_a_run_on_spark_writes_the_same_files_as_on_duckdb(
    spark_engine: Engine, duck: Engine, tiny: Path, tmp_path: Path
) -> None:
    on_duck = _files(run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "d").folder)
    on_spark = _files(
        run_pipeline(AS_OF, engine=spark_engine, warehouse=tiny, runs_dir=tmp_path / "s").folder
    )

    # Engine-written tag tables: each engine has its own Parquet writer and Spark may split a table into
    # several parts, so compare the rows of each table folder, not files or bytes.
    def tables(files: dict[str, bytes]) -> dict[str, list[dict[str, object]]]:
        grouped: dict[str, list[dict[str, object]]] = {}
        for name, data in files.items():
            if name.startswith("tags/") and name.endswith(".parquet"):
                grouped.setdefault(name.rsplit("/", 1)[0], []).extend(_rows(data))
        return {
            folder: sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
            for folder, rows in grouped.items()
        }

    assert tables(on_duck) == tables(on_spark)
    plain = {n for n in on_duck if not (n.startswith("tags/") and n.endswith(".parquet"))}
    assert plain == {n for n in on_spark if not (n.startswith("tags/") and n.endswith(".parquet"))}
    for name in plain - {"run.json"}:
        assert on_duck[name] == on_spark[name], name
    assert json.loads(on_spark["run.json"])["engine"] == "spark"
