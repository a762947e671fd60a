"""Model cards (模型卡): what a registered model is for, who owns it, how it did — overall and per group.

A card is written next to every logged model as ``model_card.json`` and ``model_card.md``. Its metric
breakdown by gender and age band (:func:`group_metrics`) is computed from the out-of-time evaluation rows
when they carry those columns, so a model that ranks one group much worse than another shows it.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from youshu.errors import YoushuError

__all__ = [
    "BREAKDOWN_COLUMNS",
    "BusinessArea",
    "CardInfo",
    "build_card",
    "card_markdown",
    "group_metrics",
]

#: Evaluation-row columns the card breaks metrics down by (when present), with their zh names.
BREAKDOWN_COLUMNS = {"gender": "性别", "age_band": "年龄段"}


class BusinessArea(StrEnum):
    """The four business areas the shared platform is organised by."""

    RETAIL = "零售金融"
    RURAL = "乡村振兴"
    REAL_ECONOMY = "服务实体经济"
    RISK = "金融风险防控"

    @property
    def en(self) -> str:
        return {
            "零售金融": "Retail finance",
            "乡村振兴": "Rural revitalisation",
            "服务实体经济": "Serving the real economy",
            "金融风险防控": "Financial risk prevention",
        }[self.value]


class CardInfo(BaseModel):
    """What a person says about a model (the rest of the card is measured).

    Attributes
    ----------
    name_zh, name_en : str
        Display names, e.g. ``"她经济保险倾向"`` / ``"Women's insurance propensity"``.
    business_area : BusinessArea
    use_case : str
        The use case (应用案例) id of ``definitions/use_cases``, or a short description.
    owner_team : str
    intended_use : str
    limitations : str
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    business_area: BusinessArea
    use_case: str = ""
    owner_team: str = "模型团队 model team"
    intended_use: str = ""
    limitations: str = ""


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def group_metrics(y: Any, score: Any, group: Any, *, column: str = "group") -> pd.DataFrame:
    """ROC-AUC and PR-AUC of a score within each group (e.g. gender, age band).

    Parameters
    ----------
    y, score : array-like
        0/1 outcomes and scores, aligned.
    group : array-like
        The group of each row (missing values form the group ``"unknown"``).
    column : str
        Name of the group column in the result.

    Returns
    -------
    pandas.DataFrame
        ``column, rows, positives, base_rate, roc_auc, pr_auc``, one row per group in sorted order;
        AUCs are None for a group with a single class.

    Raises
    ------
    YoushuError
        When the three inputs differ in length.
    """
    from youshu.models.evaluation import pr_auc, roc_auc

    y_arr, s_arr = np.asarray(y), np.asarray(score, dtype=np.float64)
    g_arr = pd.Series(np.asarray(group, dtype=object)).fillna("unknown").astype(str).to_numpy()
    if not len(y_arr) == len(s_arr) == len(g_arr):
        raise YoushuError(
            f"group metrics need aligned rows: {len(y_arr)} labels, {len(s_arr)} scores, {len(g_arr)} groups"
        )
    rows = []
    for value in sorted(set(g_arr)):
        keep = g_arr == value
        yk, sk = y_arr[keep].astype(int), s_arr[keep]
        positives = int(yk.sum())
        both = 0 < positives < len(yk)
        rows.append(
            {
                column: value,
                "rows": int(keep.sum()),
                "positives": positives,
                "base_rate": positives / len(yk),
                "roc_auc": _finite(roc_auc(yk, sk)) if both else None,
                "pr_auc": _finite(pr_auc(yk, sk)) if both else None,
            }
        )
    return pd.DataFrame(rows, columns=[column, "rows", "positives", "base_rate", "roc_auc", "pr_auc"])


def build_card(
    info: CardInfo,
    *,
    kind: str,
    registered_name: str | None,
    metrics: dict[str, Any],
    features: list[str],
    definitions_hash: str,
    data_fingerprint: dict[str, Any],
    training: dict[str, Any],
    evaluation: pd.DataFrame | None = None,
    youshu_version: str = "",
) -> dict[str, Any]:
    """The card as a JSON-ready dict, with the gender/age-band breakdown when ``evaluation`` carries them.

    Parameters
    ----------
    evaluation : pandas.DataFrame, optional
        Out-of-time rows with ``y`` and ``score`` and optionally ``gender`` and ``age_band``.
    """
    breakdown: dict[str, list[dict[str, Any]]] = {}
    if evaluation is not None:
        missing = [c for c in ("y", "score") if c not in evaluation.columns]
        if missing:
            raise YoushuError(f"evaluation rows need columns y and score; missing {missing}")
        for column in BREAKDOWN_COLUMNS:
            if column in evaluation.columns:
                frame = group_metrics(evaluation["y"], evaluation["score"], evaluation[column], column=column)
                breakdown[column] = [
                    {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")
                ]
    return {
        "name_zh": info.name_zh,
        "name_en": info.name_en,
        "registered_name": registered_name,
        "business_area": info.business_area.value,
        "business_area_en": info.business_area.en,
        "use_case": info.use_case,
        "owner_team": info.owner_team,
        "intended_use": info.intended_use,
        "limitations": info.limitations,
        "kind": kind,
        "training": training,
        "metrics": metrics,
        "breakdown": breakdown,
        "features": features,
        "definitions_hash": definitions_hash,
        "data_fingerprint": data_fingerprint,
        "youshu_version": youshu_version,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown (zh with English subtitles)."""
    lines = [
        f"# {card['name_zh']} {card['name_en']}",
        "",
        f"- 业务领域 Business area: {card['business_area']} ({card['business_area_en']})",
        f"- 应用案例 Use case: {card['use_case'] or '–'}",
        f"- 负责团队 Owner team: {card['owner_team']}",
        f"- 注册名 Registered name: {card['registered_name'] or '–'}; 类型 kind: {card['kind']}",
        f"- 适用范围 Intended use: {card['intended_use'] or '–'}",
        f"- 局限 Limitations: {card['limitations'] or '–'}",
        "",
        "## 训练 Training",
        "",
        *[f"- {k}: {_fmt(v)}" for k, v in card["training"].items()],
        "",
        "## 样本外指标 Out-of-time metrics",
        "",
    ]
    metrics = card["metrics"]
    lines += [f"- {k}: {_fmt(v)}" for k, v in metrics.items()] if metrics else ["- (none measured)"]
    for column, rows in card["breakdown"].items():
        lines += [
            "",
            f"## 分组指标 By {column} ({BREAKDOWN_COLUMNS.get(column, column)})",
            "",
            f"| {column} | rows | positives | base rate | ROC-AUC | PR-AUC |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r[column]} | {_fmt(r['rows'])} | {_fmt(r['positives'])} | {_fmt(r['base_rate'])} | "
            f"{_fmt(r['roc_auc'])} | {_fmt(r['pr_auc'])} |"
            for r in rows
        ]
    fingerprint = card["data_fingerprint"]
    lines += [
        "",
        "## 来源 Provenance",
        "",
        f"- 特征 Features ({len(card['features'])}): {', '.join(card['features'])}",
        f"- 定义哈希 Definitions hash: {card['definitions_hash']}",
        f"- 数据指纹 Data fingerprint: as of {fingerprint.get('as_of')}, {fingerprint.get('hash')}",
        *[
            f"  - {name}: {t['rows']:,} rows in {t['files']} files, {t['hash']}"
            for name, t in fingerprint.get("tables", {}).items()
        ],
        f"- youshu {card['youshu_version']}",
        "",
    ]
    return "\n".join(lines)
