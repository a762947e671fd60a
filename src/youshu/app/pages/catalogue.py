"""模型与用例 models and use cases: the run's registered models, each model's card, and the use-case catalogue.

Province-level (no customer rows): every role may see them.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from youshu.app.access import OutOfScope
from youshu.app.rundata import RunData
from youshu.app.web import Context, context
from youshu.registry.card import BusinessArea
from youshu.registry.usecases import UseCase, UseCaseError, load_use_cases

router = APIRouter(include_in_schema=False)

REGISTERED = "registry/registered.json"
CARD = "registry/{name}/model_card.json"
#: The run's tag indexes per entity (boolean tag id -> zh display name of its definition).
TAG_INDEX = "tags/{entity}_tags/as_of_date={{as_of}}/audience/index.json"
#: Card fields shown in the header (the rest get their own sections or the "other" table).
HEADER_FIELDS = (
    ("registered_name", "注册名 registered name"),
    ("business_area", "业务领域 business area"),
    ("use_case", "应用案例 use case"),
    ("owner_team", "负责团队 owner"),
    ("kind", "模型类型 kind"),
    ("intended_use", "用途 intended use"),
    ("limitations", "局限 limitations"),
    ("youshu_version", "youshu 版本 version"),
    ("definitions_hash", "定义指纹 definitions hash"),
)
SECTIONS = {"name_zh", "name_en", "business_area_en", "training", "metrics", "breakdown", "features"}
SECTIONS |= {"data_fingerprint"}
METRIC_ZH = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "top_decile_lift": "前10%提升度 top-decile lift",
    "brier": "Brier 分数",
    "calibration_error": "校准误差 calibration error",
    "base_rate": "基准率 base rate",
    "rows": "样本数 rows",
    "positives": "正样本 positives",
    "holdout": "验证期 holdout",
    "trained_on": "训练期 trained on",
}


# -- /models ------------------------------------------------------------------------------------------------------
@router.get("/models", response_class=HTMLResponse)
def models(ctx: Context = Depends(context)) -> HTMLResponse:
    """The registered models of the run and the use cases by business area."""
    registered = _registered(ctx.data.run)
    names = {str(m.get("name")) for m in registered}
    cases: list[UseCase] = []
    problem = None
    try:
        cases = load_use_cases()
    except UseCaseError as exc:
        problem = str(exc)
    tags = tag_names(ctx.data.run, "customer") | tag_names(ctx.data.run, "merchant")
    areas = [
        {"zh": area.value, "en": area.en, "cases": [c for c in cases if c.business_area == area]}
        for area in BusinessArea
        if any(c.business_area == area for c in cases)
    ]
    return ctx.render(
        "models.html",
        page="models",
        title="模型与用例",
        registered=registered,
        registered_names=names,
        areas=areas,
        use_case_problem=problem,
        tag_names=tags,
    )


@router.get("/models/{name}", response_class=HTMLResponse)
def model(name: str, ctx: Context = Depends(context)) -> HTMLResponse:
    """One registered model's card (404 for a name the run did not register)."""
    run = ctx.data.run
    entry = next((m for m in _registered(run) if str(m.get("name")) == name), None)
    card = run.json(CARD.format(name=name)) if entry is not None else None
    if entry is None or not isinstance(card, dict):
        raise OutOfScope(f"模型 model {name} 未在本次运行中注册 is not registered in this run")
    use_case = None
    with contextlib.suppress(UseCaseError):
        use_case = next((c for c in load_use_cases() if c.id == card.get("use_case")), None)
    header = [(label, display(card[key])) for key, label in HEADER_FIELDS if key in card]
    other = [
        (key, display(value))
        for key, value in card.items()
        if key not in SECTIONS | dict(HEADER_FIELDS).keys()
    ]
    return ctx.render(
        "model.html",
        page="models",
        title=f"模型卡 · {card.get('name_zh', name)}",
        name=name,
        entry=entry,
        card=card,
        header=header,
        training=_pairs(card.get("training")),
        metrics=[(METRIC_ZH.get(k, k), v) for k, v in _pairs(card.get("metrics"))],
        breakdown=_breakdown(card.get("breakdown")),
        features=[str(f) for f in card.get("features") or []],
        fingerprint=card.get("data_fingerprint") if isinstance(card.get("data_fingerprint"), dict) else None,
        other=other,
        use_case=use_case,
    )


# -- helpers ------------------------------------------------------------------------------------------------------
def _registered(run: RunData) -> list[dict[str, Any]]:
    """Entries of the run's ``registry/registered.json`` (empty when the registry step did not run)."""
    found = run.json(REGISTERED)
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def tag_names(run: RunData, entity: str) -> dict[str, str]:
    """Boolean tag id -> zh name of ``entity`` as the run's tags step recorded them from the definitions
    (``display_name_zh``), in definition order; empty when the run has no such tags."""
    index = run.json(TAG_INDEX.format(entity=entity))
    if not isinstance(index, dict):
        return {}
    return {str(k): str(v) for k, v in (index.get("names") or {}).items()}


def display(value: Any) -> str:
    """A card value as text: integers with separators, other numbers to 4 significant decimals, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {display(v)}" for k, v in value.items()) or "—"
    return str(value)


def _pairs(section: Any) -> list[tuple[str, str]]:
    if not isinstance(section, dict):
        return []
    return [(str(k), display(v)) for k, v in section.items()]


def _breakdown(section: Any) -> list[dict[str, Any]]:
    """Per group (e.g. gender, age band): column names and rows of display text."""
    groups = []
    for group, rows in (section or {}).items() if isinstance(section, dict) else []:
        if not isinstance(rows, list) or not rows:
            continue
        columns = list(dict.fromkeys(k for r in rows if isinstance(r, dict) for k in r))
        groups.append(
            {
                "name": str(group),
                "columns": columns,
                "rows": [[display(r.get(c)) for c in columns] for r in rows if isinstance(r, dict)],
            }
        )
    return groups
