"""Merchant-operation lists for export: owners' contact details masked, zh headers, Arrow tables."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from youshu.engine import Tables
from youshu.privacy import mask_value
from youshu.schema.spec import Pii

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["ZH_HEADERS", "to_arrow", "with_owner_contacts", "zh_headers"]

ZH_HEADERS: dict[str, str] = {
    "outlet_id": "网点编号",
    "outlet_name": "网点名称",
    "sub_branch_id": "支行",
    "city_name": "地市",
    "merchant_id": "商户编号",
    "merchant_name": "商户名称",
    "category": "商户类别",
    "category_zh": "商户类别",
    "rule": "预警规则",
    "rule_zh": "预警类型",
    "is_vip": "VIP商户",
    "value": "触发值",
    "threshold": "阈值",
    "evidence_zh": "预警依据",
    "owner_customer_id": "经营者客户号",
    "owner_name": "经营者姓名",
    "owner_phone": "经营者手机号",
    "deposit_fen": "结算账户存款(分)",
    "qr_amount_90d_fen": "近90天收单金额(分)",
    "campaign_id": "活动编号",
    "campaign_name": "活动名称",
    "campaign_type": "活动类型",
    "campaign_type_zh": "活动类型",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "members": "活动客群",
    "treatment": "实验组",
    "control": "对照组",
    "coupons_issued": "发券数",
    "face_value_issued_fen": "发券面值(分)",
    "coupons_redeemed": "核销数",
    "face_value_redeemed_fen": "核销面值(分)",
    "redemption_rate": "核销率",
    "referrals": "引荐转化",
    "referred_treatment": "实验组转化",
    "referred_control": "对照组转化",
    "customers_referred": "引荐客户数",
    "new_accounts": "新开户",
    "cards_bound": "绑卡",
    "referred_after_redemption": "核销后转化",
    "conversion_treatment": "实验组转化率",
    "conversion_control": "对照组转化率",
    "uplift": "转化率提升",
    "uplift_low": "提升下限",
    "uplift_high": "提升上限",
    "uplift_p_value": "P值",
    "incremental_conversions": "增量转化",
    "outlets": "网点数",
    "score": "综合得分",
    "rank_in_city": "地市内排名",
    "units_in_city": "地市内参评数",
    "month": "月份",
    "new_effective_merchants": "新增有效收单商户",
    "assets_brought_in_fen": "新增资产(分)",
    "new_customers": "新增客户",
    "wealth_sales_fen": "理财类销售(分)",
}
_SUFFIX_ZH = {"_target": "目标", "_achievement": "完成率"}


def zh_headers(columns: list[str]) -> dict[str, str]:
    """A Chinese header for each column (metric targets and achievements included; else the name)."""
    out = {}
    for c in columns:
        zh = ZH_HEADERS.get(c)
        for suffix, word in _SUFFIX_ZH.items():
            if zh is None and c.endswith(suffix) and c[: -len(suffix)] in ZH_HEADERS:
                zh = ZH_HEADERS[c[: -len(suffix)]] + word
        if zh is None and c.startswith("retained_"):
            zh = f"{c.split('_')[1].removesuffix('d')}天留存存款(分)"
        if zh is None and c.startswith("observed_"):
            zh = f"{c.split('_')[1].removesuffix('d')}天可观测引荐数"
        out[c] = zh or c
    return out


def with_owner_contacts(engine: Engine, t: Tables, frame: pd.DataFrame) -> pd.DataFrame:
    """Add the owner's ``owner_name`` and ``owner_phone`` (masked: 王**, 139****1111) by ``owner_customer_id``."""
    if "owner_customer_id" not in frame.columns:
        return frame
    wanted = [v for v in frame["owner_customer_id"].dropna().unique()]
    c = t.customers
    owners = engine.execute(c.filter(c.customer_id.isin(wanted)).select("customer_id", "name", "phone"))
    names = {r.customer_id: mask_value(r.name, Pii.NAME) for r in owners.itertuples()}
    phones = {r.customer_id: mask_value(r.phone, Pii.PHONE) for r in owners.itertuples()}
    out = frame.copy()
    out["owner_name"] = out["owner_customer_id"].map(names)
    out["owner_phone"] = out["owner_customer_id"].map(phones)
    return out


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An Arrow table of a report frame: dates as dates, nullable integers kept, no index."""
    out = frame.copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, date)).any():
            out[c] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in out[c]]
    return pa.Table.from_pandas(out, preserve_index=False)
