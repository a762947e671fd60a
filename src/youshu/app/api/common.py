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


# -- errors and id parameters ------------------------------------------------------------------------------
class ErrorAnswer(BaseModel):
    """A refused or failed request: what went wrong and what to do."""

    detail: str = Field(description="zh/en message")


class InputProblem(BaseModel):
    """One invalid parameter."""

    field: str = Field(description="where, e.g. query.page_size")
    message: str
    type: str


class InvalidInput(BaseModel):
    """Invalid input (422): a readable summary and each problem."""

    detail: str = Field(description="invalid input: <field>: <message>; …")
    errors: list[InputProblem] = Field(default_factory=list)


#: The error answers of every API route (``responses=`` of a router). 422 replaces FastAPI's default
#: ``HTTPValidationError``: the app answers validation errors in the :class:`InvalidInput` shape (see web.py).
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer, "description": "未登录 not logged in"},
    403: {"model": ErrorAnswer, "description": "角色无权限 the role may not do this"},
    404: {"model": ErrorAnswer, "description": "不存在或不在您的范围内 not found or not in your scope"},
    422: {"model": InvalidInput, "description": "请求参数有误 invalid input"},
}

#: Ids as the canonical tables write them (letters, digits, ``_``, ``-``, ``.``); anything else is 422.
ID_PATTERN = r"^[A-Za-z0-9_.\-]+$"
OutletFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        pattern=ID_PATTERN,
        description="只看该网点（须在范围内，否则 404） only this outlet (in scope, else 404)",
    ),
]
