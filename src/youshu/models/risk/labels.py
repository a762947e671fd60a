"""Labels for training and evaluation: confirmed risky-account cases, and which accounts they make positive.

A bank trains on *confirmed cases* (涉案账户 confirmed by investigation or by the police): a file with one row
per case, ``account_id, active_from, active_to`` (the dates of the account's confirmed illicit activity). On a
synthetic province the planted risky accounts have exactly that shape; only the evaluation harness (tests,
``benchmarks/eval_risk.py``, or a person passing that folder to ``youshu risk train --labels``) points
:func:`read_cases` at them. Features and scoring never read labels.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from youshu.errors import YoushuError
from youshu.schema.storage import parquet_files

__all__ = ["CASE_COLUMNS", "LABEL_WINDOW_DAYS", "label_accounts", "read_cases"]

#: Columns of a confirmed-case file.
CASE_COLUMNS = ("account_id", "active_from", "active_to")
#: An account is positive on an as-of date when its confirmed activity overlaps the 30 days ending on it
#: (the longest feature window): that is what a daily alert on that date can see.
LABEL_WINDOW_DAYS = 30


def read_cases(path: Path) -> pd.DataFrame:
    """Read confirmed cases from a Parquet file or folder, or a CSV file.

    Parameters
    ----------
    path : Path
        Holds ``account_id, active_from, active_to`` (dates, ``YYYY-MM-DD`` in CSV); other columns (e.g.
        ``typology``) are kept.

    Returns
    -------
    pandas.DataFrame
        One row per case, dates as ``datetime.date``.

    Raises
    ------
    YoushuError
        When the file is missing, lacks a column, or has a case ending before it starts.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv" and path.is_file():
        cases = pd.read_csv(path, dtype={"account_id": str})
    else:
        files = parquet_files(path)
        if not files:
            raise YoushuError(
                f"no confirmed cases at {path}: give a .csv file or Parquet file/folder with columns "
                f"{', '.join(CASE_COLUMNS)}"
            )
        cases = pq.ParquetDataset(files).read().to_pandas()
    missing = [c for c in CASE_COLUMNS if c not in cases.columns]
    if missing:
        raise YoushuError(f"cases file {path} lacks column(s) {', '.join(missing)}; expected {CASE_COLUMNS}")
    for column in ("active_from", "active_to"):
        try:
            cases[column] = pd.to_datetime(cases[column]).dt.date
        except (ValueError, TypeError) as exc:
            raise YoushuError(f"cases file {path}: column {column} is not a date ({exc})") from None
    cases["account_id"] = cases["account_id"].astype(str)
    bad = cases[cases["active_to"] < cases["active_from"]]
    if len(bad):
        row = bad.index[0]
        raise YoushuError(
            f"cases file {path}, row {row}: active_to {bad.loc[row, 'active_to']} is before active_from "
            f"{bad.loc[row, 'active_from']} (account {bad.loc[row, 'account_id']})"
        )
    return cases.reset_index(drop=True)


def label_accounts(
    accounts: pd.Series | np.ndarray,
    as_of: date | pd.Series | np.ndarray,
    cases: pd.DataFrame,
    window_days: int = LABEL_WINDOW_DAYS,
) -> np.ndarray:
    """Whether each account had confirmed activity in the ``window_days`` days ending on its as-of date.

    Parameters
    ----------
    accounts : array-like of str
        Account ids.
    as_of : date or array-like of dates
        The as-of date of each row (or one date for all).
    cases : pandas.DataFrame
        From :func:`read_cases`.

    Returns
    -------
    numpy.ndarray of bool
    """
    ids = pd.Series(np.asarray(accounts, dtype=object)).astype(str)
    days = (
        pd.Series([as_of] * len(ids))
        if isinstance(as_of, date)
        else pd.Series(np.asarray(as_of, dtype=object))
    )
    frame = pd.DataFrame(
        {"account_id": ids, "as_of": pd.to_datetime(days).dt.date, "row": np.arange(len(ids))}
    )
    merged = frame.merge(cases[list(CASE_COLUMNS)], on="account_id", how="inner")
    first = merged["as_of"] - timedelta(days=window_days - 1)
    hit = (merged["active_from"] <= merged["as_of"]) & (merged["active_to"] >= first)
    out = np.zeros(len(ids), dtype=bool)
    out[merged.loc[hit, "row"].to_numpy()] = True
    return out
