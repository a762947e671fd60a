"""The canonical postal-bank tables: every column with its type, keys, constraints and zh/en description.

Conventions (shared/DESIGN.md): ids are strings; money is integer fen (分); locations are WGS-84 degrees;
dates and timestamps are Asia/Shanghai local time stored without a zone.
"""

from __future__ import annotations

from youshu.schema import enums as E
from youshu.schema.spec import Column, DType, Pii, Role, TableSpec, col

# Terse type aliases keep the table listings readable.
S, I, F, B, D, T = DType.STRING, DType.INT, DType.FLOAT, DType.BOOL, DType.DATE, DType.TIMESTAMP  # noqa: E741
MONEY, LAT, LON, EVENT = Role.MONEY, Role.LATITUDE, Role.LONGITUDE, Role.EVENT_TIME


def _lat(zh: str = "纬度 (WGS-84)", en: str = "latitude, WGS-84 degrees", required: bool = True) -> Column:
    return col("lat", F, zh, en, role=LAT, required=required)


def _lon(zh: str = "经度 (WGS-84)", en: str = "longitude, WGS-84 degrees", required: bool = True) -> Column:
    return col("lon", F, zh, en, role=LON, required=required)


COUNTIES = TableSpec(
    "counties",
    "区县",
    "Counties (区县) of the province.",
    (
        col("county_id", S, "区县编号", "county id"),
        col("county_name", S, "区县名称", "county name"),
        col("city_name", S, "所属地市", "prefecture-level city the county belongs to"),
        col("is_rural", B, "是否农业县", "whether the county is mainly rural (县) rather than urban (区)"),
        col("population", I, "常住人口", "resident population", min_value=0),
        _lat("区县中心纬度", "county centre latitude, WGS-84"),
        _lon("区县中心经度", "county centre longitude, WGS-84"),
    ),
    ("county_id",),
    grain_en="one row per county",
)

OUTLETS = TableSpec(
    "outlets",
    "网点",
    "Outlets (网点): branches and agency outlets where customers bank.",
    (
        col("outlet_id", S, "网点编号", "outlet id"),
        col("outlet_name", S, "网点名称", "outlet name"),
        col("county_id", S, "所在区县", "county the outlet is in", ref="counties.county_id"),
        col("sub_branch_id", S, "所属支行", "sub-branch (支行) the outlet reports to; KPIs roll up to it"),
        col("outlet_type", S, "网点类型", "self-operated (自营) or agency (代理)", allowed=E.OutletType),
        _lat(),
        _lon(),
        col("opened_date", D, "开业日期", "date the outlet opened", role=EVENT),
    ),
    ("outlet_id",),
    grain_en="one row per outlet",
)

CUSTOMERS = TableSpec(
    "customers",
    "客户",
    "Retail and small-business customers.",
    (
        col("customer_id", S, "客户号", "customer id"),
        col("customer_type", S, "客户类型", "individual or small business", allowed=E.CustomerType),
        col("name", S, "姓名/名称", "name (personal data: masked in every export)", pii=Pii.NAME),
        col("id_card_no", S, "证件号码", "ID-card or licence number (personal data)", pii=Pii.ID_CARD),
        col("phone", S, "手机号", "mobile phone number (personal data)", pii=Pii.PHONE, required=False),
        col("gender", S, "性别", "gender, F or M; null for businesses", allowed=E.Gender, required=False),
        col("birth_date", D, "出生日期", "date of birth; null for businesses", required=False),
        col("occupation", S, "职业", "occupation", allowed=E.Occupation),
        col("county_id", S, "户籍/居住区县", "county of residence", ref="counties.county_id"),
        col("home_outlet_id", S, "归属网点", "outlet the customer is managed by", ref="outlets.outlet_id"),
        _lat("居住地纬度", "home latitude, WGS-84 (approximate, village level)"),
        _lon("居住地经度", "home longitude, WGS-84 (approximate, village level)"),
        col("onboard_date", D, "开户日期", "date the customer relationship began", role=EVENT),
    ),
    ("customer_id",),
    grain_en="one row per customer",
)

ACCOUNTS = TableSpec(
    "accounts",
    "账户",
    "Deposit accounts; a customer holds one or more.",
    (
        col("account_id", S, "账号", "account id"),
        col("customer_id", S, "客户号", "owner", ref="customers.customer_id"),
        col("outlet_id", S, "开户网点", "outlet where the account was opened", ref="outlets.outlet_id"),
        col("account_type", S, "账户类型", "account type", allowed=E.AccountType),
        col("open_date", D, "开户日期", "opening date", role=EVENT),
        col("close_date", D, "销户日期", "closing date, null while open", required=False, role=EVENT),
        col("status", S, "账户状态", "status as of the extract date", allowed=E.AccountStatus),
    ),
    ("account_id",),
    grain_en="one row per account",
)

BALANCES = TableSpec(
    "balances",
    "月末余额",
    "Month-end balance per account (deposits part of AUM).",
    (
        col("account_id", S, "账号", "account", ref="accounts.account_id"),
        col("month_end_date", D, "月末日期", "last day of the month", role=EVENT),
        col("balance_fen", I, "月末余额(分)", "month-end balance in fen", role=MONEY),
        col(
            "avg_balance_fen", I, "月日均余额(分)", "average daily balance over the month in fen", role=MONEY
        ),
    ),
    ("account_id", "month_end_date"),
    grain_en="one row per account and month",
)

TRANSACTIONS = TableSpec(
    "transactions",
    "交易流水",
    "Account transactions with the counterparty and its category.",
    (
        col("txn_id", S, "流水号", "transaction id"),
        col("account_id", S, "账号", "account debited or credited", ref="accounts.account_id"),
        col("txn_at", T, "交易时间", "local time (Asia/Shanghai)", role=EVENT),
        col("direction", S, "收付方向", "in = credit, out = debit", allowed=E.Direction),
        col("amount_fen", I, "金额(分)", "amount in fen, always positive", role=MONEY, min_value=1),
        col("channel", S, "渠道", "channel", allowed=E.Channel),
        col(
            "counterparty_id",
            S,
            "对手方编号",
            "counterparty id (an account, firm or platform)",
            required=False,
        ),
        col(
            "counterparty_account_id",
            S,
            "对手方本行账号",
            "counterparty's account at this bank, when it has one (transfer graph edges)",
            required=False,
            ref="accounts.account_id",
        ),
        col(
            "counterparty_category", S, "对手方类别", "counterparty category", allowed=E.CounterpartyCategory
        ),
        col(
            "counterparty_industry",
            S,
            "对手方行业(特产)",
            "specialty product of an agricultural counterparty (tea, walnut, ...), when known",
            required=False,
            allowed=E.Industry,
        ),
        col(
            "outlet_id",
            S,
            "交易网点",
            "outlet where a counter or ATM transaction happened",
            required=False,
            ref="outlets.outlet_id",
        ),
    ),
    ("txn_id",),
    grain_en="one row per posted transaction",
)

MERCHANTS = TableSpec(
    "merchants",
    "商户",
    "Merchants: acquired by the bank (收单商户) and prospect POIs (潜在商户).",
    (
        col("merchant_id", S, "商户编号", "merchant id"),
        col("merchant_name", S, "商户名称", "shop name"),
        col("category", S, "商户类别", "category", allowed=E.MerchantCategory),
        col(
            "specialty_industry",
            S,
            "经营特产",
            "specialty product sold, for specialty markets and agri shops",
            required=False,
            allowed=E.Industry,
        ),
        col("county_id", S, "所在区县", "county", ref="counties.county_id"),
        _lat(),
        _lon(),
        col("is_acquired", B, "是否收单商户", "true when the bank acquires its QR payments"),
        col(
            "acquiring_outlet_id",
            S,
            "收单网点",
            "outlet that signed the merchant; null for prospects",
            required=False,
            ref="outlets.outlet_id",
        ),
        col(
            "onboard_date",
            D,
            "签约日期",
            "acquiring contract date; null for prospects",
            required=False,
            role=EVENT,
        ),
        col(
            "owner_customer_id",
            S,
            "经营者客户号",
            "owner's customer id, when a customer",
            required=False,
            ref="customers.customer_id",
        ),
        col(
            "settlement_account_id",
            S,
            "结算账号",
            "account receiving QR settlements",
            required=False,
            ref="accounts.account_id",
        ),
        col("status", S, "商户状态", "active or closed", allowed=E.MerchantStatus),
    ),
    ("merchant_id",),
    grain_en="one row per merchant or prospect POI",
)

ACQUIRING_TRANSACTIONS = TableSpec(
    "acquiring_transactions",
    "收单交易",
    "QR-code payments received by acquired merchants.",
    (
        col("acq_txn_id", S, "收单流水号", "acquiring transaction id"),
        col("merchant_id", S, "商户编号", "merchant paid", ref="merchants.merchant_id"),
        col("paid_at", T, "支付时间", "local time (Asia/Shanghai)", role=EVENT),
        col("amount_fen", I, "金额(分)", "amount in fen", role=MONEY, min_value=1),
        col("payment_method", S, "支付方式", "wallet or app the payer used", allowed=E.PaymentMethod),
        col(
            "payer_customer_id",
            S,
            "付款客户号",
            "payer, when a customer of this bank",
            required=False,
            ref="customers.customer_id",
        ),
    ),
    ("acq_txn_id",),
    grain_en="one row per QR payment",
)

PRODUCTS = TableSpec(
    "products",
    "产品",
    "Wealth, fund, insurance and other products sold by the bank.",
    (
        col("product_id", S, "产品编号", "product id"),
        col("product_name", S, "产品名称", "product name"),
        col("category", S, "产品类别", "category", allowed=E.ProductCategory),
        col("risk_level", S, "风险等级", "risk level R1 (lowest) to R5", allowed=E.RiskLevel),
        col("term_days", I, "期限(天)", "term in days; 0 for open-ended", min_value=0),
        col("launch_date", D, "发行日期", "launch date", role=EVENT),
    ),
    ("product_id",),
)

PURCHASES = TableSpec(
    "purchases",
    "产品购买",
    "Product purchases (events).",
    (
        col("purchase_id", S, "购买流水号", "purchase id"),
        col("customer_id", S, "客户号", "buyer", ref="customers.customer_id"),
        col("product_id", S, "产品编号", "product", ref="products.product_id"),
        col("purchase_date", D, "购买日期", "purchase date", role=EVENT),
        col("amount_fen", I, "购买金额(分)", "amount in fen", role=MONEY, min_value=1),
        col("channel", S, "渠道", "channel", allowed=E.Channel),
        col("outlet_id", S, "销售网点", "selling outlet", ref="outlets.outlet_id"),
    ),
    ("purchase_id",),
)

HOLDINGS = TableSpec(
    "holdings",
    "产品持仓",
    "Month-end holdings of products per customer (non-deposit part of AUM).",
    (
        col("customer_id", S, "客户号", "holder", ref="customers.customer_id"),
        col("product_id", S, "产品编号", "product", ref="products.product_id"),
        col("month_end_date", D, "月末日期", "last day of the month", role=EVENT),
        col("value_fen", I, "持仓市值(分)", "holding value in fen", role=MONEY),
    ),
    ("customer_id", "product_id", "month_end_date"),
)

CRM_CONTACTS = TableSpec(
    "crm_contacts",
    "客户接触",
    "CRM contacts between staff and customers.",
    (
        col("contact_id", S, "接触编号", "contact id"),
        col("customer_id", S, "客户号", "customer contacted", ref="customers.customer_id"),
        col("outlet_id", S, "网点", "outlet of the staff member", ref="outlets.outlet_id"),
        col("staff_id", S, "员工号", "staff id"),
        col("contact_at", T, "接触时间", "local time", role=EVENT),
        col("channel", S, "接触方式", "channel", allowed=E.ContactChannel),
        col("purpose", S, "接触目的", "purpose", allowed=E.ContactPurpose),
        col("outcome", S, "接触结果", "outcome", allowed=E.ContactOutcome),
    ),
    ("contact_id",),
)

CAMPAIGNS = TableSpec(
    "campaigns",
    "营销活动",
    "Marketing campaigns, including alliances with partner merchants (异业联盟).",
    (
        col("campaign_id", S, "活动编号", "campaign id"),
        col("campaign_name", S, "活动名称", "campaign name (zh)"),
        col("campaign_type", S, "活动类型", "type", allowed=E.CampaignType),
        col("start_date", D, "开始日期", "start date", role=EVENT),
        col("end_date", D, "结束日期", "end date"),
        col(
            "outlet_id",
            S,
            "发起网点",
            "organising outlet; null for province-wide",
            required=False,
            ref="outlets.outlet_id",
        ),
        col("description", S, "活动说明", "what the customer does and gets (zh)"),
        col(
            "control_share",
            F,
            "对照组比例",
            "share of eligible customers randomly held out as control",
            min_value=0,
            max_value=1,
        ),
    ),
    ("campaign_id",),
)

CAMPAIGN_MEMBERS = TableSpec(
    "campaign_members",
    "活动客群",
    "Customers assigned to a campaign, with the randomized control flag.",
    (
        col("campaign_id", S, "活动编号", "campaign", ref="campaigns.campaign_id"),
        col("customer_id", S, "客户号", "customer", ref="customers.customer_id"),
        col("is_control", B, "是否对照组", "true when randomly held out (no offer made)"),
        col("assigned_date", D, "分组日期", "date of assignment", role=EVENT),
    ),
    ("campaign_id", "customer_id"),
)

COUPONS = TableSpec(
    "coupons",
    "优惠券",
    "Coupons issued to treatment customers, redeemable at a partner merchant.",
    (
        col("coupon_id", S, "券编号", "coupon id"),
        col("campaign_id", S, "活动编号", "campaign", ref="campaigns.campaign_id"),
        col("customer_id", S, "客户号", "holder", ref="customers.customer_id"),
        col(
            "merchant_id",
            S,
            "合作商户",
            "partner merchant where it can be redeemed",
            required=False,
            ref="merchants.merchant_id",
        ),
        col("issued_date", D, "发券日期", "issue date", role=EVENT),
        col("face_value_fen", I, "面值(分)", "face value in fen", role=MONEY),
    ),
    ("coupon_id",),
)

REDEMPTIONS = TableSpec(
    "redemptions",
    "核销",
    "Coupon redemptions at partner merchants.",
    (
        col("redemption_id", S, "核销编号", "redemption id"),
        col("coupon_id", S, "券编号", "coupon", ref="coupons.coupon_id"),
        col("merchant_id", S, "核销商户", "merchant where redeemed", ref="merchants.merchant_id"),
        col("redeemed_at", T, "核销时间", "local time", role=EVENT),
    ),
    ("redemption_id",),
)

REFERRALS = TableSpec(
    "referrals",
    "引荐转化",
    "New accounts or bound cards that followed a campaign contact or redemption.",
    (
        col("referral_id", S, "引荐编号", "referral id"),
        col("campaign_id", S, "活动编号", "campaign", ref="campaigns.campaign_id"),
        col("customer_id", S, "客户号", "customer who converted", ref="customers.customer_id"),
        col(
            "merchant_id",
            S,
            "引荐商户",
            "partner merchant that referred, if any",
            required=False,
            ref="merchants.merchant_id",
        ),
        col("referral_date", D, "转化日期", "date of the new account or card binding", role=EVENT),
        col("outcome", S, "转化结果", "what the customer did", allowed=E.ReferralOutcome),
        col(
            "account_id",
            S,
            "新账号",
            "the account opened or bound",
            required=False,
            ref="accounts.account_id",
        ),
    ),
    ("referral_id",),
)

LOANS = TableSpec(
    "loans",
    "贷款",
    "Loans with their repayment status as of the extract date.",
    (
        col("loan_id", S, "借据号", "loan id"),
        col("customer_id", S, "客户号", "borrower", ref="customers.customer_id"),
        col("outlet_id", S, "放款网点", "lending outlet", ref="outlets.outlet_id"),
        col("product", S, "贷款产品", "loan product", allowed=E.LoanProduct),
        col(
            "purpose_industry",
            S,
            "贷款用途(特产)",
            "specialty product financed, for agricultural loans",
            required=False,
            allowed=E.Industry,
        ),
        col("principal_fen", I, "本金(分)", "principal in fen", role=MONEY, min_value=1),
        col(
            "annual_rate_bp",
            I,
            "年利率(基点)",
            "annual interest rate in basis points",
            min_value=0,
            max_value=3600,
        ),
        col("issue_date", D, "放款日期", "issue date", role=EVENT),
        col("maturity_date", D, "到期日期", "maturity date"),
        col("status", S, "状态", "repayment status as of the extract date", allowed=E.LoanStatus),
    ),
    ("loan_id",),
)

LOAN_REPAYMENTS = TableSpec(
    "loan_repayments",
    "还款计划与记录",
    "Scheduled instalments and what was paid.",
    (
        col("loan_id", S, "借据号", "loan", ref="loans.loan_id"),
        col("due_date", D, "应还日期", "due date"),
        col("amount_due_fen", I, "应还金额(分)", "amount due in fen", role=MONEY),
        col("paid_date", D, "实还日期", "date paid; null if unpaid", required=False, role=EVENT),
        col("amount_paid_fen", I, "实还金额(分)", "amount paid in fen", role=MONEY),
    ),
    ("loan_id", "due_date"),
)

KPI_TARGETS = TableSpec(
    "kpi_targets",
    "考核目标",
    "KPI targets per outlet and period.",
    (
        col("outlet_id", S, "网点", "outlet", ref="outlets.outlet_id"),
        col("period_start", D, "考核期开始", "first day of the period"),
        col("period_end", D, "考核期结束", "last day of the period"),
        col("metric", S, "指标", "KPI metric", allowed=E.KpiMetric),
        col("target_value", I, "目标值", "target (count, or fen for money metrics)", min_value=0),
    ),
    ("outlet_id", "period_start", "metric"),
)

RISK_CASES = TableSpec(
    "risk_cases",
    "涉案账户通报",
    "Confirmed risky-account (money-mule) cases the bank has been told of: police notices and its own "
    "investigations, with the dates of the confirmed activity. Training labels for the risk model.",
    (
        col("account_id", S, "账号", "account confirmed as risky", ref="accounts.account_id"),
        col("reported_on", D, "通报日期", "date the bank learned of the case", role=EVENT),
        col("active_from", D, "涉案起始日", "first day of the confirmed illicit activity"),
        col("active_to", D, "涉案截止日", "last day of the confirmed illicit activity"),
        col("source", S, "来源", "police notice or internal investigation", allowed=E.CaseSource),
    ),
    ("account_id", "reported_on"),
    grain_en="one row per confirmed case",
)

TABLES: tuple[TableSpec, ...] = (
    COUNTIES,
    OUTLETS,
    CUSTOMERS,
    ACCOUNTS,
    BALANCES,
    TRANSACTIONS,
    MERCHANTS,
    ACQUIRING_TRANSACTIONS,
    PRODUCTS,
    PURCHASES,
    HOLDINGS,
    CRM_CONTACTS,
    CAMPAIGNS,
    CAMPAIGN_MEMBERS,
    COUPONS,
    REDEMPTIONS,
    REFERRALS,
    LOANS,
    LOAN_REPAYMENTS,
    KPI_TARGETS,
    RISK_CASES,
)

TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def get_table(name: str) -> TableSpec:
    """Return the spec of canonical table ``name``.

    Raises
    ------
    KeyError
        Naming the known tables, when ``name`` is not one of them.
    """
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; canonical tables are: {', '.join(TABLES_BY_NAME)}") from None
