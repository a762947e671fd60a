"""Risky-account (money-mule) detection: features in, scores, alerts with reasons and situational awareness out.

- ``frames``: model frames (risk + graph features, outlet, county) from the warehouse or an edge list;
- ``classifier``: :class:`RiskyAccountClassifier` (LightGBM, scikit-learn API, per-row contributions);
- ``rules``: the transparent rules layer (``definitions/risk/rules.yml``);
- ``scorer``: :class:`RiskModel` combining both, saved as a folder;
- ``labels``: confirmed cases (on a synthetic province, the planted truth: evaluation only);
- ``evaluate``: the time-split harness at daily alert budgets;
- ``alerts``: :func:`score_accounts`, daily alerts with explanations, masked exports;
- ``awareness``: distributions, trends, PSI drift, rising outlets, the 风险账户 customer flag.
"""

from __future__ import annotations

from youshu.models.risk.alerts import build_alerts, export_alerts, score_accounts, top_alerts
from youshu.models.risk.awareness import (
    AwarenessSummary,
    awareness_summary,
    customer_risk_flags,
    feature_drift,
    psi,
    write_customer_flags,
)
from youshu.models.risk.classifier import RiskyAccountClassifier
from youshu.models.risk.frames import account_frame, edge_list_frame, frame_from_ledger
from youshu.models.risk.labels import label_accounts, read_cases
from youshu.models.risk.rules import RuleSet, load_rules
from youshu.models.risk.scorer import RiskModel, fit_risk_model

__all__ = [
    "AwarenessSummary",
    "RiskModel",
    "RiskyAccountClassifier",
    "RuleSet",
    "account_frame",
    "awareness_summary",
    "build_alerts",
    "customer_risk_flags",
    "edge_list_frame",
    "export_alerts",
    "feature_drift",
    "fit_risk_model",
    "frame_from_ledger",
    "label_accounts",
    "load_rules",
    "psi",
    "read_cases",
    "score_accounts",
    "top_alerts",
    "write_customer_flags",
]
