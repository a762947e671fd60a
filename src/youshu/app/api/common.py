"""Shared pieces of the JSON API: pagination and turning frames into JSON-safe records."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import numpy as np
import pandas as pd
from fastapi import Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 500


class Page(BaseModel, Generic[T]):
    """One page of results."""

    items: list[T]
    page: int = Field(description="1-based page number")
    page_size: int
    total: int = Field(description="rows in scope matching the query, over all pages")
    pages: int


class Paging(BaseModel):
    """Page number and size from the query string."""

    page: int
    page_size: int


def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows per page, at most {MAX_PAGE_SIZE}")
    ] = 50,
) -> Paging:
    """The ``page`` and ``page_size`` query parameters (validated: 422 outside the bounds)."""
    return Paging(page=page, page_size=page_size)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) or math.isinf(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN → null, numpy scalars → Python, dates → ISO strings)."""
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def paginate(frame: pd.DataFrame, paging: Paging) -> dict[str, Any]:
    """One page of ``frame`` as the fields of :class:`Page`."""
    total = len(frame)
    start = (paging.page - 1) * paging.page_size
    part = frame.iloc[start : start + paging.page_size]
    return {
        "items": records(part),
        "page": paging.page,
        "page_size": paging.page_size,
        "total": total,
        "pages": max(1, math.ceil(total / paging.page_size)),
    }
