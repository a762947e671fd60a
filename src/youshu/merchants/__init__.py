"""Merchant operations (商户经营): fund-flow alerts (资金动向), VIP merchants and KPIs per outlet."""

from youshu.merchants.alerts import ALERT_COLUMNS, MerchantAlerts, alert_metrics, merchant_alerts
from youshu.merchants.evidence import RULE_ZH, AlertRule
from youshu.merchants.home import acquired_by, acquired_merchants
from youshu.merchants.kpi import KpiReport, kpi_report, period_targets
from youshu.merchants.kpi_actuals import KPI_METRIC_ZH, KPI_METRICS, new_effective_merchants
from youshu.merchants.periods import Period

__all__ = [
    "ALERT_COLUMNS",
    "KPI_METRICS",
    "KPI_METRIC_ZH",
    "RULE_ZH",
    "AlertRule",
    "KpiReport",
    "MerchantAlerts",
    "Period",
    "acquired_by",
    "acquired_merchants",
    "alert_metrics",
    "kpi_report",
    "merchant_alerts",
    "new_effective_merchants",
    "period_targets",
]
