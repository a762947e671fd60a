"""Enumerated values of the canonical tables, with Chinese display names."""

from __future__ import annotations

from enum import StrEnum


class OutletType(StrEnum):
    SELF_OPERATED = "self_operated"  # 自营网点
    AGENCY = "agency"  # 代理网点 (postal-company agency outlet)


class Gender(StrEnum):
    FEMALE = "F"
    MALE = "M"


class Occupation(StrEnum):
    FARMER = "farmer"
    WORKER = "worker"
    RETIREE = "retiree"
    MERCHANT_OWNER = "merchant_owner"
    ENTERPRISE_OWNER = "enterprise_owner"
    CIVIL_SERVANT = "civil_servant"
    TEACHER_DOCTOR = "teacher_doctor"
    STUDENT = "student"
    OTHER = "other"


class CustomerType(StrEnum):
    INDIVIDUAL = "individual"  # 个人客户
    BUSINESS = "business"  # 个体工商户/小微企业


class AccountType(StrEnum):
    DEBIT_CARD = "debit_card"  # 借记卡 (demand)
    PASSBOOK = "passbook"  # 活期存折
    TIME_DEPOSIT = "time_deposit"  # 定期存款
    BUSINESS = "business"  # 对公/经营账户


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"  # 久悬/睡眠户
    CLOSED = "closed"
    FROZEN = "frozen"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Channel(StrEnum):
    COUNTER = "counter"  # 柜面
    MOBILE = "mobile"  # 手机银行
    ATM = "atm"
    QR = "qr"  # 扫码支付
    POS = "pos"
    ONLINE = "online"  # 网银/第三方快捷支付
    AUTO = "auto"  # 批量代发/代扣


class CounterpartyCategory(StrEnum):
    PAYROLL = "payroll"  # 代发工资
    PENSION = "pension"  # 养老金
    SOCIAL_SECURITY = "social_security"  # 社保/医保
    AGRI_SUBSIDY = "agri_subsidy"  # 惠农补贴
    AGRI_BUYER = "agri_buyer"  # 农产品收购商
    FARM_INPUT = "farm_input"  # 农资供应商
    FARMER = "farmer"  # 农户 (person)
    DISTRIBUTOR = "distributor"  # 经销商
    ECOMMERCE = "ecommerce"  # 电商平台
    LOGISTICS = "logistics"  # 物流快递
    OTHER_BANK_WEALTH = "other_bank_wealth"  # 他行理财平台
    FUND_SECURITIES = "fund_securities"  # 基金/证券公司
    INSURER = "insurer"  # 保险公司
    UTILITY = "utility"  # 水电燃气
    TELECOM = "telecom"  # 通信缴费
    MERCHANT = "merchant"  # 商户消费
    ACQUIRING_SETTLEMENT = "acquiring_settlement"  # 收单结算
    P2P = "p2p"  # 个人转账
    CASH = "cash"  # 现金存取
    LOAN = "loan"  # 贷款放款/还款
    TAX = "tax"  # 税费
    OTHER = "other"


class MerchantCategory(StrEnum):
    SPECIALTY_MARKET = "specialty_market"  # 特色市场
    FOOD = "food"  # 餐饮美食
    DAILY_SERVICES = "daily_services"  # 民生服务
    RETAIL = "retail"  # 商超零售
    AGRI_SUPPLIES = "agri_supplies"  # 农资农贸
    HEALTH = "health"  # 医疗健康
    EDUCATION = "education"  # 教育培训
    TRANSPORT = "transport"  # 交通出行
    LEISURE = "leisure"  # 休闲娱乐
    OTHER = "other"  # 其他


MERCHANT_CATEGORY_ZH: dict[str, str] = {
    "specialty_market": "特色市场",
    "food": "餐饮美食",
    "daily_services": "民生服务",
    "retail": "商超零售",
    "agri_supplies": "农资农贸",
    "health": "医疗健康",
    "education": "教育培训",
    "transport": "交通出行",
    "leisure": "休闲娱乐",
    "other": "其他",
}


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class PaymentMethod(StrEnum):
    BANK_APP = "bank_app"  # 邮储银行App扫码
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"  # 云闪付


class ProductCategory(StrEnum):
    WEALTH = "wealth"  # 理财
    FUND = "fund"  # 基金
    INSURANCE = "insurance"  # 保险 (代销)
    TREASURY_BOND = "treasury_bond"  # 国债
    PRECIOUS_METAL = "precious_metal"  # 贵金属
    TIME_DEPOSIT = "time_deposit"  # 大额存单/定期


class RiskLevel(StrEnum):
    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"


class ContactChannel(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    SMS = "sms"
    WECHAT = "wechat"
    COUNTER = "counter"


class ContactPurpose(StrEnum):
    WEALTH = "wealth"
    INSURANCE = "insurance"
    LOAN = "loan"
    SERVICE = "service"
    MERCHANT = "merchant"
    OTHER = "other"


class ContactOutcome(StrEnum):
    NOT_REACHED = "not_reached"
    REACHED = "reached"
    INTERESTED = "interested"
    DECLINED = "declined"


class CampaignType(StrEnum):
    COUPON = "coupon"  # 异业联盟优惠券
    REFERRAL = "referral"  # 推荐有礼
    PRODUCT_PROMOTION = "product_promotion"


class ReferralOutcome(StrEnum):
    NEW_ACCOUNT = "new_account"
    CARD_BOUND = "card_bound"  # 绑卡


class LoanProduct(StrEnum):
    AGRI = "agri"  # 农户小额贷款
    BUSINESS = "business"  # 个人经营贷款
    CONSUMER = "consumer"
    MORTGAGE = "mortgage"
    CHAIN_CREDIT = "chain_credit"  # 产业e贷


class LoanStatus(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    REPAID = "repaid"
    DEFAULTED = "defaulted"


class KpiMetric(StrEnum):
    NEW_EFFECTIVE_MERCHANTS = "new_effective_merchants"  # 新增有效收单商户
    ASSETS_BROUGHT_IN_FEN = "assets_brought_in_fen"  # 新增资产
    NEW_CUSTOMERS = "new_customers"
    WEALTH_SALES_FEN = "wealth_sales_fen"


class CaseSource(StrEnum):
    """Where a confirmed risky-account case came from."""

    POLICE_NOTICE = "police_notice"  # 公安通报 (涉案账户名单)
    INVESTIGATION = "investigation"  # 行内调查核实


class Industry(StrEnum):
    """Agricultural specialty products (一县一品) used on counterparties, merchants and loans."""

    TEA = "tea"
    WALNUT = "walnut"
    CITRUS = "citrus"
    APPLE = "apple"
    KIWI = "kiwi"
    CHILI = "chili"
    MUSHROOM = "mushroom"
    RICE = "rice"
    HONEY = "honey"
    CATTLE = "cattle"
    PIG = "pig"
    BAMBOO = "bamboo"


INDUSTRY_ZH: dict[str, str] = {
    "tea": "茶叶",
    "walnut": "核桃",
    "citrus": "柑橘",
    "apple": "苹果",
    "kiwi": "猕猴桃",
    "chili": "辣椒",
    "mushroom": "食用菌",
    "rice": "大米",
    "honey": "蜂蜜",
    "cattle": "肉牛",
    "pig": "生猪",
    "bamboo": "竹笋",
}
