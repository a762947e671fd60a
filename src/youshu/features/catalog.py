"""The feature catalog: every feature per entity with its type, unit and zh/en description (tags refer to these names)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "DTYPES",
    "ENTITIES",
    "FEATURES",
    "IBIS_TYPES",
    "ID_COLUMNS",
    "KINDS",
    "Dtype",
    "Entity",
    "FeatureSpec",
    "feature_names",
    "feature_schema",
    "get_feature",
]

Dtype = Literal["int", "float", "bool", "string", "date"]
Entity = Literal["customer", "account", "merchant", "outlet"]

DTYPES: tuple[str, ...] = get_args(Dtype)
ENTITIES: tuple[str, ...] = get_args(Entity)

#: The key column of each entity's feature table (the table also has ``as_of_date``).
ID_COLUMNS: dict[str, str] = {
    "customer": "customer_id",
    "account": "account_id",
    "merchant": "merchant_id",
    "outlet": "outlet_id",
}

#: The Ibis type each catalog dtype is computed as, on every engine.
IBIS_TYPES: dict[str, str] = {
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
    "string": "string",
    "date": "date",
}


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of an entity's feature table.

    Attributes
    ----------
    name : str
        Column name, snake_case with a unit suffix when not obvious (``_fen``, ``_m``, ``_30d``).
    entity : {"customer", "account", "merchant", "outlet"}
        The entity the feature describes (one row per entity in its table).
    dtype : {"int", "float", "bool", "string", "date"}
        The type of the column on every engine (int64, float64, boolean, string, date).
    zh, en : str
        Display name (Chinese) and a precise English description, windows included.
    unit : str
        ``"fen"`` (money), ``"days"``, ``"years"``, ``"m"`` (metres), ``"count"``, ``"share"`` (0-1 of a
        whole), ``"ratio"`` (unbounded quotient) or ``""`` (categories and flags).
    default : int, float, bool or None
        The value for an entity with no matching events (counts and amounts 0, flags False); ``None`` keeps
        the feature null in that case (ratios with a zero denominator, "days since" with no event).
    """

    name: str
    entity: Entity
    dtype: Dtype
    zh: str
    en: str
    unit: str = ""
    default: int | float | bool | None = None

    @property
    def nullable(self) -> bool:
        """Whether the feature may be null (it has no default)."""
        return self.default is None


#: Kinds of feature used in the tables below: kind -> (dtype, unit, default).
KINDS: dict[str, tuple[Dtype, str, int | float | bool | None]] = {
    "count": ("int", "count", 0),
    "fen": ("int", "fen", 0),
    "fen_avg": ("float", "fen", None),  # an average amount: null without events
    "flag": ("bool", "", False),
    "text": ("string", "", None),
    "days": ("int", "days", None),  # days since an event: null without one
    "days0": ("int", "days", 0),
    "years": ("int", "years", None),
    "metres": ("float", "m", None),
    "share": ("float", "share", None),
    "ratio": ("float", "ratio", None),
}

# One line per feature, in table order: kind | name | 中文名 | English description.
# Conventions: "last N days" are the N days ending on the as-of date, both inclusive (events before midnight
# after it); "the last month end" is the last calendar month end on or before the as-of date; money is fen.

_CUSTOMER = """
text    | customer_type                    | 客户类型 | individual or business
text    | gender                           | 性别 | F or M; null for businesses
years   | age                              | 年龄 | age in whole years on the as-of date; null without a birth date
text    | age_band                         | 年龄段 | under_25, 25_34, 35_44, 45_54, 55_64 or 65_plus (from age); null without a birth date
text    | occupation                       | 职业 | occupation as recorded
text    | county_id                        | 居住区县 | county of residence
text    | county_specialty                 | 区县特色产业 | the county's top specialty product by observed activity in the 365 days up to the as-of date (see youshu.features.common.county_specialty); null without any
flag    | is_rural_county                  | 是否农业县 | whether the county of residence is mainly rural
text    | home_outlet_id                   | 归属网点 | outlet managing the customer
metres  | distance_to_home_outlet_m        | 距归属网点距离(米) | great-circle distance from the home location to the home outlet, metres
days    | tenure_days                      | 客户关系天数 | days from onboarding to the as-of date
count   | accounts_open                    | 持有账户数 | accounts opened on or before the as-of date and open on it
flag    | has_business_account             | 有经营账户 | holds an open business account on the as-of date
flag    | owns_acquired_merchant           | 收单商户经营者 | owns a merchant signed for QR acquiring on or before the as-of date
count   | txn_count_30d                    | 近30天交易笔数 | account transactions, last 30 days
count   | txn_count_90d                    | 近90天交易笔数 | account transactions, last 90 days
count   | txn_count_365d                   | 近365天交易笔数 | account transactions, last 365 days
fen     | txn_amount_in_30d_fen            | 近30天入账金额 | credits in fen, last 30 days
fen     | txn_amount_in_90d_fen            | 近90天入账金额 | credits in fen, last 90 days
fen     | txn_amount_in_365d_fen           | 近365天入账金额 | credits in fen, last 365 days
fen     | txn_amount_out_30d_fen           | 近30天出账金额 | debits in fen, last 30 days
fen     | txn_amount_out_90d_fen           | 近90天出账金额 | debits in fen, last 90 days
fen     | txn_amount_out_365d_fen          | 近365天出账金额 | debits in fen, last 365 days
days    | days_since_last_txn              | 距最近交易天数 | days from the last account transaction to the as-of date; null: none in the last 365 days
fen     | deposit_fen                      | 存款余额 | deposit balances at the last month end on or before the as-of date
fen     | holding_fen                      | 产品持仓 | product holdings at the last month end on or before the as-of date
fen     | aum_fen                          | 资产管理规模AUM | deposit_fen + holding_fen
ratio   | aum_trend_3m                     | AUM 3个月变化 | aum_fen / AUM 3 month ends earlier; null when that is 0
ratio   | aum_trend_6m                     | AUM 6个月变化 | aum_fen / AUM 6 month ends earlier; null when that is 0
ratio   | aum_trend_12m                    | AUM 12个月变化 | aum_fen / AUM 12 month ends earlier; null when that is 0
fen     | aum_max_12m_fen                  | 近12个月AUM峰值 | highest month-end AUM over the last 13 month ends
count   | products_held_wealth             | 持有理财产品数 | wealth management products held at the last month end
count   | products_held_fund               | 持有基金产品数 | fund products held at the last month end
count   | products_held_insurance          | 持有保险产品数 | insurance products held at the last month end
count   | products_held_treasury_bond      | 持有国债产品数 | treasury bond products held at the last month end
count   | products_held_precious_metal     | 持有贵金属产品数 | precious metal products held at the last month end
count   | products_held_time_deposit       | 持有大额存单/定期产品数 | certificate of deposit / time deposit products held at the last month end
fen     | holding_wealth_fen               | 理财持仓 | wealth management holdings in fen at the last month end
fen     | holding_fund_fen                 | 基金持仓 | fund holdings in fen at the last month end
fen     | holding_insurance_fen            | 保险持仓 | insurance holdings in fen at the last month end
fen     | holding_treasury_bond_fen        | 国债持仓 | treasury bond holdings in fen at the last month end
fen     | holding_precious_metal_fen       | 贵金属持仓 | precious metal holdings in fen at the last month end
fen     | holding_time_deposit_fen         | 大额存单/定期持仓 | certificate of deposit / time deposit holdings in fen at the last month end
count   | product_categories_held          | 持有产品类别数 | product categories held at the last month end
count   | purchase_count_365d              | 近一年购买笔数 | product purchases, last 365 days
fen     | purchase_amount_365d_fen         | 近一年购买金额 | product purchases in fen, last 365 days
count   | purchase_wealth_count_365d       | 近一年理财购买笔数 | wealth purchases, last 365 days
count   | purchase_fund_count_365d         | 近一年基金购买笔数 | fund purchases, last 365 days
count   | purchase_insurance_count_365d    | 近一年保险购买笔数 | insurance purchases, last 365 days
days    | days_since_last_purchase         | 距最近购买天数 | days from the last product purchase to the as-of date; null: none in the last 365 days
share   | channel_share_counter_90d        | 近90天柜面交易占比 | share of counter among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
share   | channel_share_mobile_90d         | 近90天手机银行交易占比 | share of mobile among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
share   | channel_share_qr_90d             | 近90天扫码交易占比 | share of qr among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
share   | channel_share_atm_90d            | 近90天ATM交易占比 | share of atm among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
share   | channel_share_pos_90d            | 近90天POS交易占比 | share of pos among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
share   | channel_share_online_90d         | 近90天网银/快捷支付交易占比 | share of online among transactions the customer made (all channels but batch 'auto'), last 90 days; null without any
flag    | has_payroll_90d                  | 代发工资客户 | received payroll, last 90 days
fen     | payroll_amount_90d_fen           | 近90天代发工资 | payroll received in fen, last 90 days
flag    | has_pension_90d                  | 养老金客户 | received a pension, last 90 days
fen     | pension_amount_90d_fen           | 近90天养老金 | pension received in fen, last 90 days
flag    | has_social_security_90d          | 社保入账 | received social-security payments, last 90 days
fen     | agri_subsidy_365d_fen            | 近一年惠农补贴 | agricultural subsidies received in fen, last 365 days
count   | bill_payments_90d                | 近90天缴费笔数 | utility and telecom bill payments, last 90 days
fen     | bill_amount_90d_fen              | 近90天缴费金额 | utility and telecom bill payments in fen, last 90 days
fen     | payroll_paid_90d_fen             | 近90天代发工资支出 | wages paid out (as an employer) in fen, last 90 days
fen     | other_bank_wealth_out_90d_fen    | 近90天转他行理财 | transfers to other banks' wealth platforms in fen, last 90 days
fen     | other_bank_wealth_out_365d_fen   | 近一年转他行理财 | transfers to other banks' wealth platforms in fen, last 365 days
count   | other_bank_wealth_out_count_365d | 近一年转他行理财笔数 | transfers to other banks' wealth platforms, last 365 days
fen     | other_bank_wealth_in_365d_fen    | 近一年他行理财回款 | receipts from other banks' wealth platforms in fen, last 365 days
fen     | fund_out_365d_fen                | 近一年转基金证券 | transfers to fund and securities firms in fen, last 365 days
count   | fund_out_count_365d              | 近一年转基金证券笔数 | transfers to fund and securities firms, last 365 days
fen     | insurer_out_365d_fen             | 近一年保费支出 | payments to insurers in fen, last 365 days
count   | insurer_out_count_365d           | 近一年保费笔数 | payments to insurers, last 365 days
fen     | agri_buyer_in_365d_fen           | 近一年农产品收购款 | receipts from agricultural buyers in fen, last 365 days
fen     | farm_input_out_365d_fen          | 近一年农资支出 | payments to farm-input suppliers in fen, last 365 days
fen     | farmer_out_365d_fen              | 近一年付农户款 | payments to farmers in fen, last 365 days
count   | farmer_out_count_365d            | 近一年付农户笔数 | payments to farmers, last 365 days
fen     | distributor_in_365d_fen          | 近一年经销商回款 | receipts from distributors in fen, last 365 days
count   | ecommerce_in_count_90d           | 近90天电商收款笔数 | receipts from e-commerce platforms, last 90 days
fen     | logistics_out_365d_fen           | 近一年物流支出 | payments to logistics firms in fen, last 365 days
text    | agri_industry_365d               | 涉农产业 | specialty product with the largest industry-tagged flow (agricultural buyers, farm inputs, farmers, distributors), last 365 days; null without any
count   | qr_payments_made_90d             | 近90天扫码消费笔数 | QR payments made as an identified payer at our acquired merchants, last 90 days
count   | crm_contacts_90d                 | 近90天接触次数 | CRM contacts, last 90 days
count   | crm_wealth_contacts_90d          | 近90天理财接触次数 | CRM contacts about wealth, last 90 days
count   | crm_interested_365d              | 近一年有意向接触 | CRM contacts with outcome 'interested', last 365 days
days    | days_since_last_crm_contact      | 距最近接触天数 | days from the last CRM contact to the as-of date; null: none in the last 365 days
count   | loan_count_active                | 在贷笔数 | loans issued on or before the as-of date that mature after it
fen     | loan_principal_active_fen        | 在贷本金 | principal of those loans in fen
flag    | loan_overdue_now                 | 当前逾期 | an instalment due before the as-of date was not fully paid by the as-of date
days0   | loan_days_past_due               | 逾期天数 | days from the earliest instalment overdue on the as-of date to it; 0 when none
count   | loan_late_instalments_365d       | 近一年逾期期数 | instalments due in the last 365 days (before the as-of date) paid after their due date or unpaid on the as-of date
"""

_ACCOUNT = """
text    | customer_id                 | 客户号 | owner
text    | account_type                | 账户类型 | debit_card, passbook, time_deposit or business
text    | outlet_id                   | 开户网点 | outlet where the account was opened
days    | tenure_days                 | 开户天数 | days from opening to the as-of date
flag    | is_open                     | 是否未销户 | not closed on or before the as-of date
flag    | is_settlement_account       | 收单结算账户 | receives QR settlements of a merchant signed on or before the as-of date
fen     | balance_fen                 | 月末余额 | balance at the last month end on or before the as-of date
fen     | avg_balance_fen             | 月日均余额 | average daily balance of that month
ratio   | balance_trend_3m            | 余额3个月变化 | balance_fen / balance 3 month ends earlier; null when 0
count   | txn_count_30d               | 近30天交易笔数 | transactions, last 30 days
count   | txn_count_90d               | 近90天交易笔数 | transactions, last 90 days
count   | txn_count_365d              | 近365天交易笔数 | transactions, last 365 days
fen     | txn_amount_in_30d_fen       | 近30天入账金额 | credits in fen, last 30 days
fen     | txn_amount_in_90d_fen       | 近90天入账金额 | credits in fen, last 90 days
fen     | txn_amount_out_30d_fen      | 近30天出账金额 | debits in fen, last 30 days
fen     | txn_amount_out_90d_fen      | 近90天出账金额 | debits in fen, last 90 days
days    | days_since_last_txn         | 距最近交易天数 | days from the last transaction to the as-of date; null: none in the last 365 days
fen     | max_txn_amount_90d_fen      | 近90天最大单笔 | largest single transaction in fen, last 90 days
count   | counterparties_in_30d       | 近30天入账对手数 | distinct counterparties paying in, last 30 days
count   | counterparties_out_30d      | 近30天出账对手数 | distinct counterparties paid, last 30 days
count   | internal_transfer_count_30d | 近30天本行转账笔数 | transactions with another account of this bank, last 30 days
ratio   | pass_through_ratio_30d      | 近30天过账比 | debits / credits in fen, last 30 days; null without credits
share   | night_txn_share_90d         | 近90天夜间交易占比 | share of transactions between 22:00 and 06:00 (hours 22 to 5), last 90 days; null without any
"""

_MERCHANT = """
text    | category              | 商户类别 | merchant category
text    | specialty_industry    | 经营特产 | specialty product sold, when known
text    | county_id             | 所在区县 | county
text    | county_specialty      | 区县特色产业 | the county's top specialty product by observed activity (see youshu.features.common.county_specialty); null without any
flag    | is_acquired           | 收单商户 | signed for QR acquiring on or before the as-of date
text    | acquiring_outlet_id   | 收单网点 | outlet that signed it; null unless acquired by the as-of date
text    | owner_customer_id     | 经营者客户号 | owner's customer id, when a customer
days    | tenure_days           | 签约天数 | days from the acquiring contract to the as-of date; null for prospects
metres  | distance_to_outlet_m  | 距收单网点距离(米) | great-circle distance to the acquiring outlet, metres; null for prospects
metres  | distance_to_nearest_outlet_m | 距最近网点距离(米) | great-circle distance to the nearest outlet opened on or before the as-of date, metres, prospects included (see youshu.features.nearest); null without any outlet
count   | qr_count_30d          | 近30天收款笔数 | QR payments received, last 30 days
fen     | qr_amount_30d_fen     | 近30天收款金额 | QR payments received in fen, last 30 days
count   | qr_active_days_30d    | 近30天活跃天数 | days with at least one QR payment, last 30 days
count   | qr_count_90d          | 近90天收款笔数 | QR payments received, last 90 days
fen     | qr_amount_90d_fen     | 近90天收款金额 | QR payments received in fen, last 90 days
fen_avg | qr_avg_ticket_fen     | 笔均金额 | qr_amount_90d_fen / qr_count_90d (last 90 days); null without payments
count   | qr_count_365d         | 近一年收款笔数 | QR payments received, last 365 days
count   | qr_count_last_28d     | 近28天收款笔数 | QR payments, the 28 days up to the as-of date
count   | qr_count_prev_28d     | 前28天收款笔数 | QR payments, the 28 days before those
ratio   | qr_growth_28d         | 收款笔数环比增长 | (qr_count_last_28d - qr_count_prev_28d) / qr_count_prev_28d; null when the earlier count is 0
days    | days_since_last_qr    | 距最近收款天数 | days from the last QR payment to the as-of date; null: none in the last 365 days
count   | qr_payers_90d         | 近90天本行付款客户数 | distinct identified payers (our customers), last 90 days
share   | qr_bank_app_share_90d | 近90天本行App支付占比 | share of QR payments made with the bank's app, last 90 days; null without payments
fen     | settlement_in_30d_fen | 近30天结算入账 | acquiring settlements credited to the settlement account in fen, last 30 days
share   | retention_7d          | 7天资金留存率 | clamp(1 - debits / settlement credits, 0, 1) of the settlement account over the last 7 days (see youshu.features.merchant); null without settlement credits
share   | retention_30d         | 30天资金留存率 | clamp(1 - debits / settlement credits, 0, 1) of the settlement account over the last 30 days (see youshu.features.merchant); null without settlement credits
fen     | deposit_fen           | 结算账户余额 | settlement-account balance at the last month end on or before the as-of date (acquired only)
count   | redemptions_90d       | 近90天核销笔数 | coupon redemptions at the merchant, last 90 days
"""

_OUTLET = """
text    | outlet_type                    | 网点类型 | self_operated or agency
text    | county_id                      | 所在区县 | county
text    | county_specialty               | 区县特色产业 | the county's top specialty product by observed activity (see youshu.features.common.county_specialty); null without any
text    | sub_branch_id                  | 所属支行 | sub-branch the outlet reports to
days    | tenure_days                    | 开业天数 | days from opening to the as-of date
count   | customers                      | 归属客户数 | customers managed by the outlet, onboarded by the as-of date
count   | new_customers_90d              | 近90天新客户 | of those, onboarded in the last 90 days
count   | accounts_opened_90d            | 近90天开户数 | accounts opened at the outlet, last 90 days
fen     | deposit_fen                    | 客户存款 | its customers' deposits at the last month end
fen     | holding_fen                    | 客户产品持仓 | its customers' product holdings at the last month end
fen     | aum_fen                        | 客户AUM | deposit_fen + holding_fen
count   | counter_txn_count_90d          | 近90天柜面交易笔数 | counter transactions at the outlet, last 90 days
count   | atm_txn_count_90d              | 近90天ATM交易笔数 | ATM transactions at the outlet, last 90 days
count   | acquired_merchants             | 收单商户数 | merchants the outlet signed on or before the as-of date
count   | new_acquired_merchants_90d     | 近90天新签商户 | of those, signed in the last 90 days
fen     | qr_amount_30d_fen              | 近30天收单金额 | QR payments received by its merchants in fen, last 30 days
fen     | product_sales_90d_fen          | 近90天产品销售额 | product purchases at the outlet in fen, last 90 days
fen     | wealth_sales_90d_fen           | 近90天理财销售额 | wealth-product purchases at the outlet in fen, last 90 days
count   | crm_contacts_90d               | 近90天客户接触 | CRM contacts by its staff, last 90 days
count   | loans_issued_365d              | 近一年放款笔数 | loans issued by the outlet, last 365 days
fen     | loan_principal_issued_365d_fen | 近一年放款金额 | principal issued by the outlet in fen, last 365 days
"""


def _parse(entity: Entity, table: str) -> tuple[FeatureSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        kind, name, zh, en = (part.strip() for part in line.split(" | ", 3))
        dtype, unit, default = KINDS[kind]
        specs.append(FeatureSpec(name, entity, dtype, zh, en, unit, default))
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{entity} features listed twice: {duplicated}")
    return tuple(specs)


#: Every feature per entity, in the column order of the entity's feature table.
FEATURES: dict[str, tuple[FeatureSpec, ...]] = {
    "customer": _parse("customer", _CUSTOMER),
    "account": _parse("account", _ACCOUNT),
    "merchant": _parse("merchant", _MERCHANT),
    "outlet": _parse("outlet", _OUTLET),
}


def _specs(entity: str) -> tuple[FeatureSpec, ...]:
    try:
        return FEATURES[entity]
    except KeyError:
        raise KeyError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}") from None


def feature_names(entity: str) -> list[str]:
    """Names of the features of ``entity``, in table order (without the id column and ``as_of_date``)."""
    return [spec.name for spec in _specs(entity)]


def feature_schema(entity: str) -> dict[str, str]:
    """Feature name -> dtype (``"int"``, ``"float"``, ``"bool"``, ``"string"`` or ``"date"``) for ``entity``.

    Parameters
    ----------
    entity : {"customer", "account", "merchant", "outlet"}

    Returns
    -------
    dict of str to str
        In table order; the id column and ``as_of_date`` are not included.

    Raises
    ------
    KeyError
        For an unknown entity.

    Examples
    --------
    >>> feature_schema("merchant")["qr_count_30d"]
    'int'
    """
    return {spec.name: spec.dtype for spec in _specs(entity)}


def get_feature(entity: str, name: str) -> FeatureSpec:
    """The spec of feature ``name`` of ``entity``.

    Raises
    ------
    KeyError
        When ``entity`` has no such feature (the message suggests close names).

    Examples
    --------
    >>> get_feature("customer", "aum_fen").unit
    'fen'
    """
    for spec in _specs(entity):
        if spec.name == name:
            return spec
    close = difflib.get_close_matches(name, feature_names(entity), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"{entity} has no feature {name!r}{hint}")
