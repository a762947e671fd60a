"""Who am I, and which outlets can I see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from youshu.app.api.common import Page, Paging, paginate, paging
from youshu.app.web import Context, context

router = APIRouter()


class Me(BaseModel):
    """The logged-in user."""

    username: str
    display_name: str
    role: str
    role_zh: str
    scope: str
    outlets: int
    permissions: list[str]
    run_as_of: str


class Outlet(BaseModel):
    """An outlet in scope."""

    outlet_id: str
    outlet_name: str
    county_id: str
    sub_branch_id: str | None = None
    outlet_type: str | None = None
    lat: float | None = None
    lon: float | None = None


@router.get("/me", response_model=Me, summary="The logged-in user, role and scope")
def me(ctx: Context = Depends(context)) -> Me:
    p = ctx.principal
    from youshu.app.roles import PERMISSIONS

    return Me(
        username=p.username,
        display_name=p.display_name,
        role=p.role.value,
        role_zh=p.role.zh,
        scope="all" if p.outlets is None else "outlets",
        outlets=len(ctx.data.outlet_ids()),
        permissions=sorted(x.value for x in PERMISSIONS[p.role]),
        run_as_of=ctx.data.run.as_of,
    )


@router.get("/outlets", response_model=Page[Outlet], summary="Outlets in the caller's scope")
def outlets(
    ctx: Context = Depends(context), pg: Annotated[Paging, Depends(paging)] = Paging(page=1, page_size=50)
) -> dict:
    frame = ctx.data.table("outlets").sort_values("outlet_id")
    return paginate(frame[list(Outlet.model_fields)], pg)
