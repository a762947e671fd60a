"""The county map of specialties and the pipeline's rural step (一县一品 report section)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.pipeline import write_tiny_warehouse

from youshu.engine import Tables, connect
from youshu.pipeline import RunContext, run_pipeline
from youshu.pipeline.run import Step
from youshu.pipeline.rural_step import (
    CATALOGUE_FILE,
    MAP_FILE,
    MEMBERS_FILE,
    SELECTION_FILE,
    rural_step,
)
from youshu.rural import CHAIN_COLUMNS, specialty_catalogue
from youshu.rural.county_map import (
    INDUSTRY_COLOURS,
    MAX_SIZE,
    MIN_SIZE,
    NO_SPECIALTY,
    county_map_figure,
    county_map_html,
)
from youshu.rural.eligibility import eligibility_scores
from youshu.rural.select import default_top
from youshu.schema.enums import INDUSTRY_ZH

AS_OF = date(2025, 9, 30)
_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.S)


def _offline(page: str) -> bool:
    """No resource loaded from outside: no script src or stylesheet link, no http(s) in the markup or the
    figure's data; plotly.js inline (its own code mentions plotly.com and tile providers: never loaded)."""
    markup = _SCRIPT.sub("", page)
    figures = [s for s in _SCRIPT.findall(page) if s.lstrip().startswith("window.PLOTLYENV")]
    return (
        not re.search(r"<script[^>]+src=|<link[^>]+href=|@import", page)
        and "http" not in markup
        and len(figures) == 1
        and "Plotly.newPlot" in figures[0]
        and "http" not in figures[0]
    )


# -- the map ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_map_inputs(tiny_chain_warehouse: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with connect("duckdb") as eng:
        t = Tables(eng, tiny_chain_warehouse)
        catalogue = eng.execute(specialty_catalogue(t, AS_OF))
        counties = eng.execute(t.counties.select("county_id", "county_name", "lat", "lon"))
    return catalogue, counties


def test_each_county_is_coloured_by_its_first_product_and_sized_by_its_activity(
    tiny_map_inputs: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    catalogue, counties = tiny_map_inputs
    fig = county_map_figure(catalogue, counties, as_of=AS_OF)
    first = catalogue[catalogue["rank_in_county"] == 1].set_index("county_id")
    placed = {}
    for trace in fig.data:
        for text, size in zip(trace.text, trace.marker.size, strict=True):
            county = re.search(r"\((\w+)\)", text).group(1)  # type: ignore[union-attr]
            placed[county] = (trace.name, trace.marker.color, size)
    assert set(placed) == set(counties["county_id"])
    for county, row in first.iterrows():
        name, colour, _ = placed[county]
        assert name.startswith(row["industry_zh"]) and colour == INDUSTRY_COLOURS[row["industry"]]
    activity = first["txn_amount_fen"] + first["loan_principal_fen"]
    biggest, smallest = activity.idxmax(), activity.idxmin()
    assert placed[biggest][2] == MAX_SIZE and MIN_SIZE <= placed[smallest][2] < MAX_SIZE


def test_hover_lists_the_top_three_products_with_lq_and_index(
    tiny_map_inputs: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    catalogue, counties = tiny_map_inputs
    fig = county_map_figure(catalogue, counties)
    texts = [t for trace in fig.data for t in trace.text]
    text_a = next(t for t in texts if "(A)" in t)
    rows = catalogue[catalogue["county_id"] == "A"].sort_values("rank_in_county").head(3)
    for r in rows.itertuples():
        assert f"{r.rank_in_county}. {r.industry_zh} 区位商 LQ {r.location_quotient:.2f}" in text_a
        assert f"竞争力 {r.competitiveness_index:+.2f}" in text_a


def test_a_county_without_activity_is_drawn_as_no_specialty(
    tiny_map_inputs: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    catalogue, counties = tiny_map_inputs
    extra = pd.DataFrame({"county_id": ["Z"], "county_name": ["无名县"], "lat": [30.0], "lon": [110.0]})
    fig = county_map_figure(catalogue, pd.concat([counties, extra], ignore_index=True))
    idle = [t for t in fig.data if t.name == NO_SPECIALTY]
    assert len(idle) == 1 and len(idle[0].text) == 1 and "无名县" in idle[0].text[0]


def test_the_map_page_references_nothing_outside_itself(
    tiny_map_inputs: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    page = county_map_html(*tiny_map_inputs, as_of=AS_OF)
    assert _offline(page) and len(page) > 1_000_000  # plotly.js is embedded
    # the check catches a CDN script and a network link in the figure's data
    assert not _offline(page.replace("<head>", '<head><script src="https://cdn.plot.ly/x.js"></script>', 1))
    assert not _offline(page.replace('"hoverinfo":"text"', '"hoverinfo":"text","ids":["https://x.cn"]', 1))


# -- the pipeline step --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def risky_ids(rural_province: Path) -> tuple[list[str], str]:
    """The two best-scored chain members are flagged 风险账户; the third is flagged but not risky."""
    with connect("duckdb") as eng:
        scores = eligibility_scores(eng, rural_province, AS_OF)
    homes = pd.read_parquet(rural_province / "customers", columns=["customer_id", "home_outlet_id"])
    scores = scores.merge(homes, on="customer_id")
    best = scores[scores["home_outlet_id"].notna()]["customer_id"].head(3).tolist()
    return best[:2], best[2]


@pytest.fixture(scope="module")
def run_folder(
    rural_province: Path, risky_ids: tuple[list[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    risky, kept = risky_ids
    flags = pd.DataFrame({"customer_id": [*risky, kept], "is_risky_account": [True, True, False]})

    def inject(ctx: RunContext) -> list:
        ctx.results["risk"] = {"flags": flags}
        return []

    with connect("duckdb") as eng:
        return run_pipeline(
            AS_OF,
            engine=eng,
            warehouse=rural_province,
            runs_dir=tmp_path_factory.mktemp("rural_runs"),
            steps=[Step("inject", inject), Step("rural", rural_step)],
        ).folder


def test_the_step_writes_catalogue_members_selection_and_map(run_folder: Path, rural_province: Path) -> None:
    catalogue = pq.read_table(run_folder / CATALOGUE_FILE).to_pandas()
    members = pq.read_table(run_folder / MEMBERS_FILE).to_pandas()
    selection = pq.read_table(run_folder / f"{SELECTION_FILE}.parquet").to_pandas()
    customers = pq.read_table(rural_province / "customers", columns=["customer_id"]).num_rows
    assert (catalogue["rank_in_county"] == 1).sum() > 0
    assert list(members.columns) == list(CHAIN_COLUMNS) and len(members) > default_top(customers)
    assert len(selection) == default_top(customers)
    assert set(selection["customer_id"]) <= set(members["customer_id"])
    for name in (f"{SELECTION_FILE}.xlsx", f"{SELECTION_FILE}_summary.parquet"):
        assert (run_folder / name).is_file(), name
    page = (run_folder / MAP_FILE).read_text(encoding="utf-8")
    assert _offline(page)
    first = set(catalogue.loc[catalogue["rank_in_county"] == 1, "industry"])
    assert all(json.dumps(f"{INDUSTRY_ZH[i]} {i}") in page for i in first)  # a legend entry per first product


def test_risky_customers_are_left_out_of_the_selection(
    run_folder: Path, risky_ids: tuple[list[str], str]
) -> None:
    risky, kept = risky_ids
    selection = pq.read_table(run_folder / f"{SELECTION_FILE}.parquet").to_pandas()
    assert set(risky).isdisjoint(selection["customer_id"])
    assert selection.loc[selection["rank"] == 1, "customer_id"].item() == kept


def test_the_report_section_shows_kpis_map_tables_and_no_personal_data(
    run_folder: Path, rural_province: Path
) -> None:
    html = (run_folder / "report.html").read_text(encoding="utf-8")
    assert 'id="rural"' in html and "一县一品" in html
    for title in (
        "有特产的区县",
        "县域特产地图",
        "各区县首位特产",
        "产业链客户 按产业 × 环节",
        "优选名单示例",
    ):
        assert title in html, title
    assert f'href="{MAP_FILE}"' in html and "剔除风险账户 2" in html
    assert "No 风险账户 flags" not in html
    selection = pq.read_table(run_folder / f"{SELECTION_FILE}.parquet").to_pandas()
    people = pd.read_parquet(rural_province / "customers", columns=["customer_id", "name", "phone"])
    shown = people[people["customer_id"].isin(selection["customer_id"])]
    assert selection.loc[selection["rank"] == 1, "customer_id"].item() in html  # ids shown, not names
    assert not [v for v in shown["phone"].dropna() if v in html]
    assert not [v for v in shown["name"].dropna() if len(v) > 1 and v in html]


def test_without_chain_activity_the_section_explains_and_lists_nobody(tmp_path: Path) -> None:
    tiny = write_tiny_warehouse(tmp_path / "warehouse")
    with connect("duckdb") as eng:
        folder = run_pipeline(
            AS_OF, engine=eng, warehouse=tiny, runs_dir=tmp_path / "runs", steps=[Step("rural", rural_step)]
        ).folder
    assert pq.read_table(folder / MEMBERS_FILE).num_rows == 0
    assert not (folder / f"{SELECTION_FILE}.parquet").exists()
    assert _offline((folder / MAP_FILE).read_text(encoding="utf-8"))
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "一县一品" in html and "No chain customers found" in html and "优选名单示例" not in html
