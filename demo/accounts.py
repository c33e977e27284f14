"""Demo organisations and users a reseller would recognise. Idempotent: keyed by code and e-mail."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.utils.translation import gettext as _

from accounts.models import Customer, MemberRole, SellerProfile, StaffRole, User
from accounts.services import customer_user_create, staff_user_create
from billing.terms.models import BillingTerms
from billing.terms.services import customer_onboard

DEMO_PASSWORD = "demo-pass-2026"

# Fixed base32 secrets so the printed logins keep working across `make run`; demo only. Every staff
# member must pass TOTP before any staff page (accounts/two_factor.py), so every demo staff user has one.
DEMO_TOTP_SECRETS = {
    "admin@distributor.example.com": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "finance@distributor.example.com": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
    "sales@distributor.example.com": "ONQWYZLTFVSGK3LPFV2G65DQFVVWK6JN",
    "support@distributor.example.com": "ON2XA4DPOJ2C2ZDFNVXS25DPORYC223F",
    "auditor@distributor.example.com": "MF2WI2LUN5ZC2ZDFNVXS25DPORYC223F",
}

STAFF = [
    ("admin@distributor.example.com", StaffRole.ADMIN, "Ada", "Admin"),
    ("sales@distributor.example.com", StaffRole.SALES, "Sam", "Sales"),
    ("finance@distributor.example.com", StaffRole.FINANCE, "Fei", "Finance"),
    ("support@distributor.example.com", StaffRole.SUPPORT, "Sue", "Support"),
    ("auditor@distributor.example.com", StaffRole.AUDITOR, "Audrey", "Auditor"),
]

M, Q, P = BillingTerms.Mode.MONTHLY, BillingTerms.Mode.QUARTERLY, BillingTerms.Mode.PREPAID
SUB, END = Customer.Kind.SUB_DISTRIBUTOR, Customer.Kind.END_CUSTOMER

# How each demo sub-distributor sells (accounts.chain): East China resells in its own book; Pacific Hub is
# an agent, its customers billed by us at its retail plan while it earns a commission.
CHAIN_MODES = {"huadong-ai": Customer.ChainMode.RESALE, "pacific-hub": Customer.ChainMode.AGENCY}

# (code, name, kind, parent code, billing mode, currency, language)
CUSTOMERS = [
    ("huadong-ai", "华东智算分销 East China AI Reseller", SUB, None, M, "CNY", "zh-hans"),
    ("pacific-hub", "Pacific Token Hub", SUB, None, Q, "USD", "en"),
    ("hangzhou-edu", "杭州学而教育科技", END, "huadong-ai", P, "CNY", "zh-hans"),
    ("suzhou-mfg", "苏州精工智造", END, "huadong-ai", M, "CNY", "zh-hans"),
    ("nanjing-legal", "南京律联法律科技", END, "huadong-ai", P, "CNY", "zh-hans"),
    ("sg-fintech", "Lion City Fintech Pte", END, "pacific-hub", M, "USD", "en"),
    ("kl-commerce", "Kuala Lumpur Commerce Sdn Bhd", END, "pacific-hub", P, "USD", "en"),
    ("sydney-health", "Harbour Health Analytics", END, "pacific-hub", Q, "USD", "en"),
    ("acme-agents", "Acme Agents Inc.", END, None, M, "USD", "en"),
    ("shanghai-media", "上海星图传媒", END, None, M, "CNY", "zh-hans"),
    ("shenzhen-iot", "深圳万联物联", END, None, Q, "CNY", "zh-hans"),
    ("beijing-search", "北京深答搜索", END, None, M, "CNY", "zh-hans"),
    ("indie-dev-li", "李明 (independent developer)", END, None, P, "CNY", "zh-hans"),
    ("berlin-translate", "Berlin Translate GmbH", END, None, P, "EUR", "en"),
    ("tokyo-games", "Tokyo Pixel Games KK", END, None, P, "USD", "en"),
    ("chengdu-cs", "成都客服云", END, None, P, "CNY", "zh-hans"),
    ("wuhan-bio", "武汉生物信息研究所", END, None, Q, "CNY", "zh-hans"),
    ("coding-club", "Open Coding Club", END, None, P, "USD", "en"),
]

# What the reseller's customers see on their documents instead of the operator's details.
SELLER_PROFILES = {
    "huadong-ai": {
        "legal_name": "上海华东智算科技有限公司 East China AI Computing Co., Ltd.",
        "address": "上海市浦东新区张江路 88 号 / 88 Zhangjiang Road, Pudong, Shanghai",
        "tax_id": "91310115MA1K4DEMO8",
        "bank_name": "招商银行上海张江支行 China Merchants Bank, Zhangjiang",
        "bank_account_name": "上海华东智算科技有限公司",
        "bank_account_number": "6214 8300 0000 0088",
        "bank_code": "CMBCCNBS",
        "billing_email": "billing@huadong-ai.example.com",
    }
}

# (e-mail, customer code, role)
CUSTOMER_USERS = [
    ("owner@acme-agents.example.com", "acme-agents", MemberRole.OWNER),
    ("billing@acme-agents.example.com", "acme-agents", MemberRole.BILLING),
    ("viewer@acme-agents.example.com", "acme-agents", MemberRole.VIEWER),
    ("owner@huadong-ai.example.com", "huadong-ai", MemberRole.OWNER),
    ("owner@pacific-hub.example.com", "pacific-hub", MemberRole.OWNER),
    ("owner@hangzhou-edu.example.com", "hangzhou-edu", MemberRole.OWNER),
    ("owner@indie-dev-li.example.com", "indie-dev-li", MemberRole.OWNER),
]


def load() -> list[tuple[str, str]]:
    """Create what is missing; return (role, e-mail) for every demo login."""
    logins: list[tuple[str, str]] = []
    for email, role, first, last in STAFF:
        user = User.objects.filter(email=email).first() or staff_user_create(
            email=email, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last
        )
        if (
            email in DEMO_TOTP_SECRETS
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, DEMO_TOTP_SECRETS[email])
        logins.append((_("Staff (dashboard): %(role)s") % {"role": StaffRole(role).label}, email))

    for code, name, kind, parent_code, mode, currency, language in CUSTOMERS:
        if Customer.objects.filter(code=code).exists():
            continue
        customer_onboard(
            name=name,
            code=code,
            kind=kind,
            parent=Customer.objects.get(code=parent_code) if parent_code else None,
            language=language,
            contact_email=f"accounts@{code}.example.com",
            mode=mode,
            currency=currency,
            chain_mode=CHAIN_MODES.get(code, Customer.ChainMode.RESALE),
        )

    for code, profile in SELLER_PROFILES.items():
        SellerProfile.objects.get_or_create(customer=Customer.objects.get(code=code), defaults=profile)

    for email, code, role in CUSTOMER_USERS:
        if not User.objects.filter(email=email).exists():
            customer_user_create(
                email=email, password=DEMO_PASSWORD, customer=Customer.objects.get(code=code), role=role
            )
        logins.append((_portal_label(Customer.objects.get(code=code), role), email))
    return logins


def _portal_label(customer: Customer, role: str) -> str:
    """Who a portal login acts for, so a newcomer knows which users are sub-distributors."""
    if customer.is_sub_distributor:
        kind = _("sub-distributor, %(mode)s") % {"mode": customer.get_chain_mode_display().lower()}
    else:
        kind = customer.get_kind_display().lower()
    return _("Portal: %(customer)s (%(kind)s), %(role)s") % {
        "customer": customer.name,
        "kind": kind,
        "role": MemberRole(role).label.lower(),
    }
