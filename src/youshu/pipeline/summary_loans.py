"""The loan book of the summary: outstanding principal and arrears (overdue, defaulted) by loan product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from youshu.pipeline.summary_query import Tables, execute, labelled, labels, ratio

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["DEFAULT_DAYS_PAST_DUE", "LOAN_PRODUCT_ZH", "LoanBook", "loan_book"]

LOAN_PRODUCT_ZH = labels(
    "agri=农户小额贷款 business=个人经营贷款 consumer=消费贷款 mortgage=住房按揭 chain_credit=产业e贷"
)
DEFAULT_DAYS_PAST_DUE = 90  # an instalment unpaid for more than 90 days counts as defaulted (不良)


@dataclass(frozen=True)
class LoanBook:
    """Loans issued by the as-of date and still outstanding, with arrears judged from repayments by that date.

    A loan is overdue when an instalment due before the as-of date was not fully paid by it, and defaulted
    when the oldest such instalment is more than 90 days past due. Outstanding principal is the principal
    times the share of the repayment schedule not yet paid (the whole principal when there is no schedule).
    ``by_product``: ``product, name_zh, loans, outstanding_fen, overdue_loans, overdue_fen, defaulted_loans,
    defaulted_fen``.
    """

    loans: int
    outstanding_fen: int
    overdue_loans: int
    overdue_fen: int
    defaulted_loans: int
    defaulted_fen: int
    by_product: pd.DataFrame

    @property
    def overdue_share(self) -> float | None:
        """Outstanding principal of overdue (not defaulted) loans over all outstanding principal."""
        return ratio(self.overdue_fen, self.outstanding_fen)

    @property
    def defaulted_share(self) -> float | None:
        """Outstanding principal of defaulted loans over all outstanding principal."""
        return ratio(self.defaulted_fen, self.outstanding_fen)


def loan_book(engine: Engine, t: Tables, as_of: date) -> LoanBook:
    """Loans issued on or before ``as_of`` and still outstanding then, by product (see :class:`LoanBook`)."""
    rp = t.loan_repayments
    paid_by_now = rp.paid_date.notnull() & (rp.paid_date <= as_of)
    unpaid_due = (rp.due_date < as_of) & (~paid_by_now | (rp.amount_paid_fen < rp.amount_due_fen)).fill_null(
        True
    )
    schedule = rp.group_by("loan_id").aggregate(
        total_due_fen=rp.amount_due_fen.sum(),
        paid_fen=ibis.ifelse(paid_by_now, rp.amount_paid_fen, 0).sum(),
        oldest_unpaid_due=ibis.ifelse(unpaid_due, rp.due_date, ibis.null("date")).min(),
    )
    ln = t.loans.filter(t.loans.issue_date <= as_of).select("loan_id", "product", "principal_fen")
    j = ln.left_join(schedule, "loan_id")
    unpaid_share = (1 - j.paid_fen / j.total_due_fen.nullif(0)).clip(lower=0, upper=1)
    # Per-loan integer fen keeps sums exact, so DuckDB and Spark (and reruns) agree to the fen.
    outstanding = (j.principal_fen * unpaid_share.fill_null(1)).floor().cast("int64")
    default_line = as_of - timedelta(days=DEFAULT_DAYS_PAST_DUE)
    defaulted = (j.oldest_unpaid_due < default_line).fill_null(False)
    overdue = (j.oldest_unpaid_due.notnull() & ~defaulted).fill_null(False)
    per_loan = j.select(product=j.product, outstanding=outstanding, overdue=overdue, defaulted=defaulted)
    per_loan = per_loan.filter(per_loan.outstanding > 0)
    by = execute(
        engine,
        per_loan.group_by("product").aggregate(
            loans=per_loan.count(),
            outstanding_fen=per_loan.outstanding.sum(),
            overdue_loans=per_loan.overdue.cast("int64").sum(),
            overdue_fen=ibis.ifelse(per_loan.overdue, per_loan.outstanding, 0).sum(),
            defaulted_loans=per_loan.defaulted.cast("int64").sum(),
            defaulted_fen=ibis.ifelse(per_loan.defaulted, per_loan.outstanding, 0).sum(),
        ),
    )
    values = ["loans", "outstanding_fen", "overdue_loans", "overdue_fen", "defaulted_loans", "defaulted_fen"]
    frame = labelled(by, "product", LOAN_PRODUCT_ZH, list(LOAN_PRODUCT_ZH), values).rename(
        columns={"key": "product"}
    )
    return LoanBook(**{k: int(frame[k].sum()) for k in values}, by_product=frame)
