"""One call for a run: circles of an as-of date plus Huff catchments, written together into one folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from youshu.geo.circles import CircleResult, build_circles
from youshu.geo.huff import HuffModel, calibrate_huff, trade_areas

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["CirclesBuild", "build_and_write"]


@dataclass(frozen=True)
class CirclesBuild:
    """What :func:`build_and_write` produced: the circles, the Huff model and zones (when asked), the folder."""

    circles: CircleResult
    huff: HuffModel | None
    huff_zones: pa.Table | None
    folder: Path


def huff_meta(model: HuffModel, resolution: int) -> dict[str, Any]:
    """The Huff facts stored in ``circles.json`` under ``huff``."""
    return {
        "lambda": model.lambda_,
        "lambda_se": model.lambda_se_,
        "observations": model.n_observations_,
        "coverage": model.coverage_,
        "candidates": model.candidates,
        "min_distance_km": model.min_distance_km,
        "h3_resolution": resolution,
    }


def build_and_write(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    folder: Path,
    *,
    radius_km: float | None = None,
    huff: bool = True,
    h3_resolution: int = 7,
) -> CirclesBuild:
    """Build the circles (and, with ``huff``, calibrate the Huff model and its 50 %/70 % zones) and write them.

    The folder gets ``circle_summary``, ``circle_members``, ``circle_categories``, ``merchant_home`` and, with
    ``huff``, ``huff_zones`` and ``huff_attractiveness`` (Parquet), plus ``circles.json``, all at once.

    Examples
    --------
    >>> build = build_and_write(eng, warehouse, date(2025, 9, 30), run_dir / "circles")  # doctest: +SKIP
    >>> html = map_html(build.circles, huff_zones=build.huff_zones)  # doctest: +SKIP
    """
    circles = build_circles(engine, warehouse, as_of, radius_km)
    model: HuffModel | None = None
    zones: pa.Table | None = None
    extra_tables: dict[str, pa.Table] = {}
    extra_meta: dict[str, Any] = {}
    if huff:
        model = calibrate_huff(engine, warehouse, as_of)
        zones = trade_areas(model, resolution=h3_resolution)
        extra_tables["huff_zones"] = zones
        extra_tables["huff_attractiveness"] = pa.Table.from_pandas(
            model.attractiveness_.reset_index(), preserve_index=False
        )
        extra_meta["huff"] = huff_meta(model, h3_resolution)
    circles.write(folder, extra_tables=extra_tables, extra_meta=extra_meta)
    return CirclesBuild(circles, model, zones, Path(folder))
