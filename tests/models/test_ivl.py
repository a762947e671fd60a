"""IVL portrait: intimacy score, lifecycle rules, value model, cube, transitions, output and CLI.

The quality tests score a 10,000-customer synthetic province against its planted truth (evaluation only;
the IVL code itself never opens truth/). benchmarks/eval_ivl.py measures the same on 100k customers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from youshu.config import get_settings
from youshu.engine import connect
from youshu.errors import YoushuError
from youshu.models.ivl import (
    PORTRAIT_COLUMNS,
    STAGE_ZH,
    AumRegressor,
    IvlPortrait,
    build_portrait,
    intimacy_score,
    ivl_cube,
    learn_intimacy_weights,
    lifecycle_stage,
    load_config,
    retention_labels,
    transitions,
    write_portrait,
)
from youshu.models.ivl.portrait import _features
from youshu.models.ivl.value import align_later_aum
from youshu.models.timesplit import TimeSplit

from .conftest import TEST_AS_OF

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "ivl"


@pytest.fixture(scope="module")
def config():  # type: ignore[no-untyped-def]
    return load_config(DEFINITIONS)


@pytest.fixture(scope="module")
def portrait(province: Path, config) -> IvlPortrait:  # type: ignore[no-untyped-def]
    with connect("duckdb") as eng:
        return build_portrait(eng, province, TEST_AS_OF, config)


@pytest.fixture(scope="module")
def truth(province: Path) -> pd.DataFrame:
    return pd.read_parquet(province / "truth" / "customers")


def _row(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "customer_id": "C1",
        "tenure_days": 2000,
        "aum_fen": 1_000_000,
        "aum_max_12m_fen": 1_050_000,
        "balance_slope_9m": 0.005,
        "days_since_last_txn": 3,
        "txn_count_90d": 20,
        "product_categories_held": 0,
        "has_payroll_90d": False,
        "has_pension_90d": False,
        "bill_payments_90d": 0,
        "channel_share_mobile_90d": None,
        "crm_contacts_90d": 0,
    }
    return base | overrides


# --- unit: intimacy ---------------------------------------------------------------------------------------


def test_intimacy_score_is_0_to_100_and_rises_with_each_relationship_tie(config) -> None:  # type: ignore[no-untyped-def]
    rows = pd.DataFrame(
        [
            _row(tenure_days=0, txn_count_90d=0),
            _row(tenure_days=0, txn_count_90d=0, has_payroll_90d=True),
            _row(tenure_days=0, txn_count_90d=0, has_payroll_90d=True, product_categories_held=2),
            _row(
                tenure_days=9000,
                txn_count_90d=99,
                has_payroll_90d=True,
                has_pension_90d=True,
                product_categories_held=6,
                bill_payments_90d=9,
                channel_share_mobile_90d=0.9,
                crm_contacts_90d=5,
            ),
        ]
    )
    score = intimacy_score(rows, config.intimacy)
    assert score[0] == 0.0
    assert score[3] == pytest.approx(100.0)
    assert np.all(np.diff(score) > 0)


def test_intimacy_names_the_missing_feature(config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(YoushuError, match="has_payroll_90d"):
        intimacy_score(pd.DataFrame([_row()]).drop(columns="has_payroll_90d"), config.intimacy)


def test_learned_weights_favour_the_component_that_predicts_retention(config) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    n = 4000
    bills = rng.integers(0, 7, n)
    frame = pd.DataFrame([_row() for _ in range(n)])
    frame["bill_payments_90d"] = bills
    frame["crm_contacts_90d"] = rng.integers(0, 4, n)  # noise
    retained = (rng.random(n) < 0.3 + 0.1 * bills).astype(int)
    learned = learn_intimacy_weights(frame, retained, config.intimacy)
    weights = {c.name: c.weight for c in learned.components}
    assert weights["bills"] == max(weights.values())
    assert weights["bills"] > 3 * weights["crm"]


# --- unit: lifecycle --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "stage"),
    [
        ({"tenure_days": 60}, "acquisition"),
        ({"aum_fen": 50_000}, "dormant"),
        ({"days_since_last_txn": None, "txn_count_90d": 0}, "dormant"),
        ({"aum_fen": 400_000}, "decline"),
        ({"balance_slope_9m": -0.05}, "decline"),
        ({"balance_slope_9m": 0.04}, "growth"),
        ({"balance_slope_9m": None}, "mature"),
        ({}, "mature"),
    ],
)
def test_lifecycle_rules_follow_the_documented_order(config, overrides, stage) -> None:  # type: ignore[no-untyped-def]
    assert lifecycle_stage(pd.DataFrame([_row(**overrides)]), config.lifecycle)[0] == stage


def test_lifecycle_uses_p_alive_when_given(config) -> None:  # type: ignore[no-untyped-def]
    rows = pd.DataFrame([_row(), _row()])
    assert list(lifecycle_stage(rows, config.lifecycle, np.array([0.01, np.nan]))) == ["dormant", "mature"]


# --- unit: cube, transitions, output, config ----------------------------------------------------------------


def _tiny_portrait() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "aum_fen": [100, 300, 600, 0],
            "intimacy_level": ["高", "高", "低", "中"],
            "value_level": ["高", "高", "中", "低"],
            "lifecycle_stage_zh": ["成长期", "成长期", "衰退期", "沉睡流失"],
        }
    )


def test_cube_has_every_cell_with_sizes_aum_share_and_a_playbook_action(config) -> None:  # type: ignore[no-untyped-def]
    cube = ivl_cube(_tiny_portrait(), config.playbook)
    assert len(cube) == 3 * 3 * 5
    cell = cube.set_index(["intimacy_level", "value_level", "lifecycle_stage_zh"]).loc[("高", "高", "成长期")]
    assert cell["customers"] == 2
    assert cell["aum_share"] == pytest.approx(0.4)
    assert cell["action"].startswith("重点经营")
    assert cube["aum_share"].sum() == pytest.approx(1.0)
    assert cube["customers"].sum() == 4
    assert cube["action"].str.len().min() > 0


def test_transitions_count_customers_moving_between_levels() -> None:
    before = _tiny_portrait()
    after = before.assign(intimacy_level=["高", "中", "中", "中"])
    matrix = transitions(before, after, "intimacy_level")
    assert matrix.shape == (3, 3)
    assert matrix.loc["高", "高"] == 1 and matrix.loc["高", "中"] == 1 and matrix.loc["低", "中"] == 1
    assert matrix.to_numpy().sum() == 4
    stages = transitions(before, after, "lifecycle_stage_zh")
    assert stages.shape == (5, 5) and list(stages.index) == list(STAGE_ZH.values())
    with pytest.raises(YoushuError, match="not 'aum_fen'"):
        transitions(before, after, "aum_fen")


def test_config_rejects_unknown_fields(tmp_path: Path) -> None:
    for name in ("intimacy", "lifecycle", "value", "playbook"):
        (tmp_path / f"{name}.yml").write_text(
            (DEFINITIONS / f"{name}.yml").read_text(encoding="utf-8"), "utf-8"
        )
    (tmp_path / "value.yml").write_text(
        "horizon_days: 365\nlevels: {high_yuan: 1, medium_yuan: 0}\nextra: 1\n"
    )
    with pytest.raises(YoushuError, match="extra"):
        load_config(tmp_path)


# --- on the synthetic province ------------------------------------------------------------------------------


def test_portrait_has_one_row_per_customer_and_a_3d_tag(portrait: IvlPortrait, truth: pd.DataFrame) -> None:
    table = portrait.table
    assert list(table.columns) == list(PORTRAIT_COLUMNS)
    assert table["customer_id"].is_unique and len(table) == len(truth)
    assert table["intimacy_score"].between(0, 100).all()
    assert set(table["lifecycle_stage"]) == set(STAGE_ZH)
    first = table.iloc[0]
    assert (
        first["ivl_tag"]
        == f"{first['intimacy_level']}亲密·{first['value_level']}潜力·{first['lifecycle_stage_zh']}"
    )
    assert portrait.value_train_as_of == date(2024, 9, 30)


def test_purchase_value_is_finite_and_p_alive_a_probability(portrait: IvlPortrait) -> None:
    table = portrait.table
    assert (table["value_purchase_12m_fen"] >= 0).all()
    buyers = table["p_alive"].notna()
    assert 0 < buyers.sum() < len(table)
    assert table.loc[buyers, "p_alive"].between(0, 1).all()
    assert (table.loc[~buyers, "value_purchase_12m_fen"] == 0).all()
    # Buyers expected to buy again carry value; the largest is more than the median buyer's.
    values = table.loc[buyers, "value_purchase_12m_fen"]
    assert values.max() > values.median() > 0


def test_written_portrait_reads_back_and_a_failed_write_keeps_the_old(
    portrait: IvlPortrait, tmp_path: Path
) -> None:
    folder = write_portrait(portrait.table, tmp_path, TEST_AS_OF)
    back = pq.read_table(folder / "part-0.parquet").to_pandas()
    assert len(back) == len(portrait.table)
    with pytest.raises(YoushuError, match="lacks columns"):
        write_portrait(portrait.table.drop(columns="ivl_tag"), tmp_path, TEST_AS_OF)
    assert pq.read_table(folder / "part-0.parquet").num_rows == len(portrait.table)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_lifecycle_macro_f1_against_the_planted_stage(portrait: IvlPortrait, truth: pd.DataFrame) -> None:
    joined = portrait.table.merge(truth, on="customer_id", suffixes=("", "_truth"))
    f1 = f1_score(joined["lifecycle_stage_truth"], joined["lifecycle_stage"], average="macro")
    assert f1 >= 0.80, f1


def test_top_intimacy_tercile_churns_at_most_half_as_often_as_the_bottom(
    province: Path, portrait: IvlPortrait
) -> None:
    table = portrait.table
    with connect("duckdb") as eng:
        retained = retention_labels(eng, province, table, TimeSplit(TEST_AS_OF, 90))
    tercile = pd.qcut(table["intimacy_score"].rank(method="first"), 3, labels=False).to_numpy()
    churn = 1 - retained
    bottom, top = churn[tercile == 0].mean(), churn[tercile == 2].mean()
    assert bottom > 0
    assert top <= 0.5 * bottom, (top, bottom)


def test_value_model_ranks_realised_12_month_aum(province: Path) -> None:
    """Out of sample (customer halves): features as of 2024-12-31, AUM observed at 2025-12-31."""
    start, end = date(2024, 12, 31), date(2025, 12, 31)
    with connect("duckdb") as eng:
        before, after = _features(eng, province, start), _features(eng, province, end)
    realised = align_later_aum(before, after)
    train = np.random.default_rng(0).random(len(before)) < 0.5
    model = AumRegressor().fit(before[train], realised[train])
    rho = spearmanr(model.predict(before[~train]), realised[~train]).statistic
    assert rho >= 0.6, rho


def test_cli_builds_the_portrait(province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import youshu.cli.ivl  # noqa: F401  (registers ivl)
    from youshu.cli.main import app

    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    args = ["ivl", "build", "--as-of", "2025-09-30", "--warehouse", str(province), "--out", "out"]
    result = CliRunner().invoke(app, [*args, "--definitions", str(DEFINITIONS)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "customer_ivl" / "as_of_date=2025-09-30"
    assert pq.read_table(folder / "part-0.parquet").num_rows == 10_000
    assert "亲密" in result.output and "AUM share" in result.output

    moved = CliRunner().invoke(
        app, ["ivl", "transitions", "--from", "2025-09-30", "--to", "2025-09-30", "--out", "out"]
    )
    assert moved.exit_code == 0, moved.output
    assert "生命周期 lifecycle" in moved.output and "沉睡流失" in moved.output
    missing = CliRunner().invoke(
        app, ["ivl", "transitions", "--from", "2025-06-30", "--to", "2025-09-30", "--out", "out"]
    )
    assert missing.exit_code != 0
    assert isinstance(missing.exception, YoushuError) and "2025-06-30" in str(missing.exception)


def test_balance_slope_is_the_monthly_log_growth_of_deposits(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from youshu.models.ivl.trend import balance_slope

    (tmp_path / "accounts").mkdir()
    (tmp_path / "balances").mkdir()
    accounts = pd.DataFrame({"account_id": ["a1", "a2", "b1", "c1"], "customer_id": ["A", "A", "B", "C"]})
    month_ends = pd.date_range("2024-10-31", "2025-09-30", freq="ME").date
    rows = []
    for k, day in enumerate(month_ends):
        rows += [("a1", day, int(1e8 * 1.05**k)), ("a2", day, int(1e8 * 1.05**k)), ("b1", day, 50_000_000)]
    rows += [("c1", month_ends[-1], 1_000_000), ("c1", month_ends[-2], 900_000)]
    rows += [("b1", date(2025, 10, 31), 999_999_999)]  # after the as-of date: ignored
    balances = pd.DataFrame(rows, columns=["account_id", "month_end_date", "balance_fen"])
    balances["avg_balance_fen"] = balances["balance_fen"]
    accounts = accounts.assign(
        outlet_id="O1",
        account_type="debit_card",
        open_date=date(2020, 1, 1),
        close_date=None,
        status="active",
    )
    dates = {"open_date": pa.date32(), "close_date": pa.date32(), "month_end_date": pa.date32()}
    for frame, name in ((accounts, "accounts"), (balances, "balances")):
        fields = [pa.field(c, dates.get(c, pa.int64() if c.endswith("_fen") else pa.string())) for c in frame]
        table = pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)
        pq.write_table(table, tmp_path / name / "part-0.parquet")
    got = engine.execute(balance_slope(engine, tmp_path, date(2025, 9, 30))).set_index("customer_id")
    assert got.loc["A", "balance_months"] == 9
    assert got.loc["A", "balance_slope_9m"] == pytest.approx(np.log(1.05), abs=1e-4)
    assert got.loc["B", "balance_slope_9m"] == pytest.approx(0.0, abs=1e-9)
    assert pd.isna(got.loc["C", "balance_slope_9m"])


def _aum_frame(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "aum_fen": rng.gamma(2.0, 5e6, rows),
            "tenure_days": rng.integers(30, 4000, rows).astype(float),
            "age_band": rng.choice(["25_34", "35_44", "55_64"], rows),
        }
    )
    later = (
        x["aum_fen"].to_numpy() * rng.lognormal(0.1, 0.3, rows) * np.where(x["age_band"] == "55_64", 1.5, 1)
    )
    return x, later


def test_saved_value_model_loads_and_predicts_the_same(tmp_path: Path) -> None:
    x, later = _aum_frame(500, seed=3)
    model = AumRegressor(n_estimators=30, min_child_samples=10).fit(x, later)
    folder = model.save(
        tmp_path / "value", as_of=TEST_AS_OF, horizon_days=365, metrics={"halves_spearman": 0.8}
    )
    assert sorted(p.name for p in folder.iterdir()) == ["aum_regressor.json", "aum_regressor.txt"]
    loaded = AumRegressor.load(folder)
    fresh, _ = _aum_frame(200, seed=4)
    np.testing.assert_array_equal(loaded.predict(fresh), model.predict(fresh))
    assert loaded.get_params() == model.get_params()
    assert list(loaded.feature_names_in_) == list(model.feature_names_in_)
    assert loaded.info_["as_of"] == TEST_AS_OF.isoformat() and loaded.info_["horizon_days"] == 365
    assert loaded.info_["metrics"] == {"halves_spearman": 0.8}
    assert loaded.info_["youshu_version"]


def test_value_model_save_refuses_unfitted_and_load_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(YoushuError, match="not fitted"):
        AumRegressor().save(tmp_path / "none")
    assert not (tmp_path / "none").exists()
    with pytest.raises(YoushuError, match=r"aum_regressor\.json"):
        AumRegressor.load(tmp_path)
