"""Campaigns with partner merchants (异业联盟): counts, the per-merchant ledger and the uplift against control."""

from youshu.campaigns.counts import campaign_counts
from youshu.campaigns.deposits import month_end_on_or_after, referral_deposits
from youshu.campaigns.ledger import LEDGER_COLUMNS, alliance_ledger
from youshu.campaigns.report import CampaignReport, campaign_report
from youshu.campaigns.uplift import Estimate, difference_in_means, difference_in_proportions

__all__ = [
    "LEDGER_COLUMNS",
    "CampaignReport",
    "Estimate",
    "alliance_ledger",
    "campaign_counts",
    "campaign_report",
    "difference_in_means",
    "difference_in_proportions",
    "month_end_on_or_after",
    "referral_deposits",
]
