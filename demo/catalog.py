"""Demo catalog: vendors, models, list and cost books, exchange rates, plans, packs and grants.

Idempotent: everything is keyed by name or slug, and prices are added only to books that lack them.
``load`` runs before the demo customers exist; ``load_assignments`` runs after them.
List prices follow the vendors' public pages (CN rows as tabulated in tests/catalog/goldens/).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from catalog.models import (
    AIModel,
    AllowanceUnit,
    BookKind,
    FreeGrant,
    FxRate,
    Modality,
    ModelGroup,
    Pack,
    PlanAssignment,
    PlanRule,
    PriceBook,
    PriceEntry,
    SellPlan,
    SubscriptionPlan,
    Vendor,
)
from catalog.rating import TierPrices
from catalog.services.books import WindowSpec, model_alias_add, price_entry_create
from catalog.services.imports.mappings import provider_mappings_default_seed
from catalog.services.plans import plan_assign, plan_create, plan_rule_create

D = Decimal
START = datetime(2025, 1, 1, tzinfo=UTC)
PRICE_CUT = datetime(2026, 1, 1, tzinfo=UTC)

VENDORS = [
    ("OpenAI", "openai", "https://openai.com", "US"),
    ("Anthropic", "anthropic", "https://www.anthropic.com", "US"),
    ("Google", "google", "https://ai.google.dev", "US"),
    ("DeepSeek", "deepseek", "https://www.deepseek.com", "CN"),
    ("Alibaba Cloud", "alibaba", "https://www.alibabacloud.com", "CN"),
    ("Moonshot AI", "moonshot", "https://www.moonshot.cn", "CN"),
    ("Zhipu AI", "zhipu", "https://www.zhipuai.cn", "CN"),
    ("MiniMax", "minimax", "https://www.minimaxi.com", "CN"),
]

# vendor slug → (list currency, book-wide batch multiplier, contract discount off list)
VENDOR_TERMS = {
    "openai": ("USD", D("0.5"), D("0.10")),
    "anthropic": ("USD", D("0.5"), D("0.08")),
    "google": ("USD", D("0.5"), D("0.10")),
    "deepseek": ("CNY", None, D("0.15")),
    "alibaba": ("CNY", D("0.5"), D("0.20")),
    "moonshot": ("CNY", D("0.6"), D("0.15")),
    "zhipu": ("CNY", None, D("0.20")),
    "minimax": ("CNY", None, D("0.25")),
}


def t(lo, hi, input, output, **more) -> TierPrices:
    return TierPrices(lo=lo, hi=hi, input=D(input), output=D(output), **{k: D(v) for k, v in more.items()})


# (vendor, canonical name, aliases, modality, context window, tiers)
MODELS = [
    (
        "openai",
        "gpt-5",
        ["openai/gpt-5"],
        Modality.MULTIMODAL,
        272_000,
        [t(0, None, "1.25", "10", cache_read="0.125")],
    ),
    (
        "openai",
        "gpt-5-mini",
        ["openai/gpt-5-mini"],
        Modality.MULTIMODAL,
        272_000,
        [t(0, None, "0.25", "2", cache_read="0.025")],
    ),
    (
        "openai",
        "gpt-4o",
        ["openai/gpt-4o", "gpt-4o-2024-08-06"],
        Modality.MULTIMODAL,
        128_000,
        [t(0, None, "2.5", "10", cache_read="1.25", batch_input="1.25", batch_output="5")],
    ),
    (
        "anthropic",
        "claude-sonnet-4.5",
        ["anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"],
        Modality.MULTIMODAL,
        1_000_000,
        [
            t(0, 200_000, "3", "15", cache_read="0.3", cache_write_5m="3.75", cache_write_1h="6"),
            t(200_000, None, "6", "22.5", cache_read="0.6", cache_write_5m="7.5", cache_write_1h="12"),
        ],
    ),
    (
        "anthropic",
        "claude-opus-4.6",
        ["anthropic/claude-opus-4.6", "claude-opus-4-6"],
        Modality.MULTIMODAL,
        200_000,
        [t(0, None, "5", "25", cache_read="0.5", cache_write_5m="6.25", cache_write_1h="10")],
    ),
    (
        "anthropic",
        "claude-haiku-4.5",
        ["anthropic/claude-haiku-4.5", "claude-haiku-4-5"],
        Modality.MULTIMODAL,
        200_000,
        [t(0, None, "1", "5", cache_read="0.1", cache_write_5m="1.25", cache_write_1h="2")],
    ),
    (
        "google",
        "gemini-2.5-pro",
        ["gemini/gemini-2.5-pro"],
        Modality.MULTIMODAL,
        1_048_576,
        [t(0, 200_000, "1.25", "10", cache_read="0.125"), t(200_000, None, "2.5", "15", cache_read="0.25")],
    ),
    (
        "google",
        "gemini-2.5-flash",
        ["gemini/gemini-2.5-flash"],
        Modality.MULTIMODAL,
        1_048_576,
        [t(0, None, "0.3", "2.5", cache_read="0.03")],
    ),
    (
        "deepseek",
        "deepseek-v3.2",
        ["deepseek-chat", "deepseek-reasoner", "deepseek/deepseek-chat"],
        Modality.TEXT,
        128_000,
        [t(0, None, "2", "3", cache_read="0.2")],
    ),
    (
        "alibaba",
        "qwen3-max",
        ["dashscope/qwen3-max", "qwen-max-latest"],
        Modality.TEXT,
        262_144,
        [t(0, 32_000, "2.5", "10"), t(32_000, 128_000, "4", "16"), t(128_000, 252_000, "7", "28")],
    ),
    (
        "alibaba",
        "qwen-plus",
        ["dashscope/qwen-plus"],
        Modality.TEXT,
        131_072,
        [t(0, None, "0.8", "2", cache_read="0.16")],
    ),
    (
        "moonshot",
        "kimi-k2.5",
        ["moonshot/kimi-k2.5", "kimi-latest"],
        Modality.TEXT,
        262_144,
        [t(0, None, "4", "21", cache_read="0.7")],
    ),
    (
        "zhipu",
        "glm-5.1",
        ["zai/glm-5.1", "glm-5"],
        Modality.TEXT,
        200_000,
        [t(0, 32_000, "6", "24"), t(32_000, None, "8", "28")],
    ),
    (
        "zhipu",
        "glm-5-turbo",
        ["zai/glm-5-turbo"],
        Modality.TEXT,
        200_000,
        [t(0, 32_000, "5", "22"), t(32_000, None, "7", "26")],
    ),
    (
        "minimax",
        "minimax-m2.7",
        ["MiniMax-M2.7", "minimax/minimax-m2.7"],
        Modality.TEXT,
        204_800,
        [t(0, None, "2.1", "8.4")],
    ),
]

# DeepSeek cut its output price on 2026-01-01; the old price shows how history is kept.
DEEPSEEK_BEFORE_CUT = [t(0, None, "2", "8", cache_read="0.5")]
# Since the cut DeepSeek also sells at half price off-peak (错峰): Beijing nights, 00:30–08:30 every day.
# Its list and contract prices both carry the window; plans derived from them inherit it.
DEEPSEEK_OFF_PEAK = {
    "label": "Off-peak",
    "time_zone": "Asia/Shanghai",
    "rules": [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:30", "end": "08:30"}],
    "share": D("0.5"),
}

FX_RATES = [
    ("USD", "CNY", date(2025, 1, 1), "7.1"),
    ("USD", "CNY", date(2026, 1, 1), "7.12"),
    ("CNY", "USD", date(2025, 1, 1), "0.1408"),
    ("CNY", "USD", date(2026, 1, 1), "0.1404"),
    ("USD", "EUR", date(2025, 1, 1), "0.92"),
    ("CNY", "EUR", date(2025, 1, 1), "0.13"),
    # Into the base currency, for the working-capital figures of the euro customer (billing.exposure).
    ("EUR", "CNY", date(2025, 1, 1), "7.7"),
]

L, C, E = PlanRule.Method.LIST_DISCOUNT, PlanRule.Method.COST_MARKUP, PlanRule.Method.EXPLICIT
W = PlanRule.Method.WHOLESALE_MARKUP
# (name, currency, default, margin floor, description, rule method, markup or discount)
PLANS = [
    ("Standard CNY", "CNY", True, "0.05", "Sell at the vendors' list price.", L, "0"),
    ("Standard USD", "USD", True, "0.05", "Sell at the vendors' list price.", L, "0"),
    ("Standard EUR", "EUR", True, "0.05", "Sell at the vendors' list price, converted to euros.", L, "0"),
    (
        "Wholesale CNY",
        "CNY",
        False,
        "0.02",
        "Sub-distributors: 5% off list for the whole subtree.",
        L,
        "0.05",
    ),
    (
        "Wholesale USD",
        "USD",
        False,
        "0.02",
        "Sub-distributors: 5% off list for the whole subtree.",
        L,
        "0.05",
    ),
    ("Cost plus 5.5% USD", "USD", False, "0.05", "OpenRouter-style: our cost plus a 5.5% fee.", C, "0.055"),
    (
        "Undercut 9% USD",
        "USD",
        False,
        "0",
        "WorldRouter-style: 9% below list (loses money on Anthropic models, bought at 8% off).",
        L,
        "0.09",
    ),
]


def load() -> list[tuple[str, str]]:
    vendors = {}
    for name, slug, website, country in VENDORS:
        vendors[slug], _ = Vendor.objects.get_or_create(
            slug=slug, defaults={"name": name, "website": website, "country": country}
        )
    # LiteLLM's providers of these vendors, as data the provider mappings page edits (imports read it).
    provider_mappings_default_seed()
    models = _models(vendors)
    _books(vendors, models)
    for base, quote, day, rate in FX_RATES:
        FxRate.objects.get_or_create(
            base=base, quote=quote, date=day, defaults={"rate": D(rate), "source": "demo"}
        )
    _plans(models)
    _allowances(vendors, models)
    return []


def _models(vendors) -> dict[str, AIModel]:
    models = {}
    for slug, name, aliases, modality, context, _tiers in MODELS:
        model, _ = AIModel.objects.get_or_create(
            name=name, defaults={"vendor": vendors[slug], "modality": modality, "context_window": context}
        )
        for alias in aliases:
            model_alias_add(model=model, alias=alias)
        models[name] = model
    return models


def _books(vendors, models) -> None:
    for slug, (currency, batch, discount) in VENDOR_TERMS.items():
        vendor = vendors[slug]
        listing, _ = PriceBook.objects.get_or_create(
            name=f"{vendor.name} list",
            defaults={
                "kind": BookKind.LIST,
                "currency": currency,
                "vendor": vendor,
                "batch_multiplier": batch,
            },
        )
        cost, _ = PriceBook.objects.get_or_create(
            name=f"{vendor.name} contract",
            defaults={
                "kind": BookKind.COST,
                "currency": currency,
                "vendor": vendor,
                "batch_multiplier": batch,
                "description": f"Prepaid contract: {discount * 100:f}% off list.",
            },
        )
        for model_slug, name, _aliases, _modality, _context, tiers in MODELS:
            if model_slug != slug:
                continue
            model = models[name]
            history = [(START, tiers)]
            if name == "deepseek-v3.2":
                history = [(START, DEEPSEEK_BEFORE_CUT), (PRICE_CUT, tiers)]
            for book, factor in ((listing, D(1)), (cost, D(1) - discount)):
                if PriceEntry.objects.filter(book=book, model=model).exists():
                    continue
                for start, prices in history:
                    tiers = [tier.scaled(factor) for tier in prices]
                    off_peak = name == "deepseek-v3.2" and start == PRICE_CUT
                    price_entry_create(
                        book=book,
                        model=model,
                        effective_from=start,
                        tiers=tiers,
                        windows=[_deepseek_off_peak(tiers[0])] if off_peak else (),
                        source="demo",
                    )


def _deepseek_off_peak(tier: TierPrices) -> WindowSpec:
    share = DEEPSEEK_OFF_PEAK["share"]
    return WindowSpec(
        label=DEEPSEEK_OFF_PEAK["label"],
        time_zone=DEEPSEEK_OFF_PEAK["time_zone"],
        rules=DEEPSEEK_OFF_PEAK["rules"],
        input=tier.input * share,
        cache_read=(tier.cache_read or tier.input) * share,
        output=tier.output * share,
    )


def _plans(models) -> None:
    for name, currency, default, floor, description, method, value in PLANS:
        plan, created = SellPlan.objects.get_or_create(
            name=name,
            defaults={
                "currency": currency,
                "is_default": default,
                "margin_floor": D(floor),
                "description": description,
            },
        )
        if created:
            amount = {"markup": D(value)} if method == C else {"discount": D(value)}
            plan_rule_create(plan=plan, method=method, effective_from=START, **amount)
    # A negotiated deal: explicit Claude prices from a sell book, everything else 5% off list (above every
    # contract's cost: Anthropic's is 8% off).
    book, _ = PriceBook.objects.get_or_create(
        name="Coding club prices", defaults={"kind": BookKind.SELL, "currency": "USD"}
    )
    if not PriceEntry.objects.filter(book=book).exists():
        price_entry_create(
            book=book,
            model=models["claude-sonnet-4.5"],
            effective_from=START,
            tiers=[
                t(0, 200_000, "2.9", "14.5", cache_read="0.29", cache_write_5m="3.6", cache_write_1h="5.8"),
                t(
                    200_000,
                    None,
                    "5.8",
                    "21.8",
                    cache_read="0.58",
                    cache_write_5m="7.2",
                    cache_write_1h="11.6",
                ),
            ],
            source="demo",
        )
    plan, created = SellPlan.objects.get_or_create(
        name="Coding club",
        defaults={"currency": "USD", "margin_floor": D("0.02"), "description": "Negotiated deal."},
    )
    if created:
        plan_rule_create(plan=plan, method=L, discount=D("0.05"), effective_from=START)
        plan_rule_create(
            plan=plan, method=E, source_book=book, model=models["claude-sonnet-4.5"], effective_from=START
        )


def _allowances(vendors, models) -> None:
    deepseek, _ = ModelGroup.objects.get_or_create(name="DeepSeek models")
    deepseek.vendors.add(vendors["deepseek"])
    coding, _ = ModelGroup.objects.get_or_create(
        name="Coding models", defaults={"description": "Chinese coding models in the coding plan."}
    )
    coding.ai_models.add(*(models[n] for n in ("glm-5.1", "kimi-k2.5", "qwen3-max", "minimax-m2.7")))
    Pack.objects.get_or_create(
        name="DeepSeek 100M tokens",
        defaults={
            "group": deepseek,
            "allowance": D(100_000_000),
            "price": D("180"),
            "currency": "CNY",
            "validity_days": 90,
        },
    )
    Pack.objects.get_or_create(
        name="Credit pack 1,000 CNY",
        defaults={
            "unit": AllowanceUnit.CREDIT,
            "allowance": D("1050"),
            "price": D("1000"),
            "currency": "CNY",
            "validity_days": 365,
        },
    )
    standard = SellPlan.objects.get(owner=None, name="Standard CNY")
    for name, fee, allowance in (
        ("Coding plan Lite", "40", 18_000_000),
        ("Coding plan Pro", "200", 120_000_000),
    ):
        SubscriptionPlan.objects.get_or_create(
            name=name,
            defaults={
                "group": coding,
                "monthly_fee": D(fee),
                "allowance": D(allowance),
                "currency": "CNY",
                "overage_plan": standard,
            },
        )


# (customer code, plan name)
ASSIGNMENTS = [
    ("huadong-ai", "Wholesale CNY"),
    ("pacific-hub", "Wholesale USD"),
    ("acme-agents", "Cost plus 5.5% USD"),
    ("tokyo-games", "Undercut 9% USD"),
    ("coding-club", "Coding club"),
]


# Sub-distributors' own retail plans: (owner code, name, currency, default, method, markup or discount).
RETAIL_PLANS = [
    ("huadong-ai", "华东零售 East China Retail", "CNY", True, W, "0.15"),
    ("huadong-ai", "华东企业 East China Enterprise", "CNY", False, W, "0.08"),
    ("pacific-hub", "Pacific Hub Retail", "USD", True, L, "0"),
]
# (customer code, retail plan name): the rest of a reseller's customers take its default plan.
RETAIL_ASSIGNMENTS = [("suzhou-mfg", "华东企业 East China Enterprise")]


def _retail_plans() -> None:
    for owner_code, name, currency, default, method, value in RETAIL_PLANS:
        owner = Customer.objects.filter(code=owner_code).first()
        if owner is None or SellPlan.objects.filter(owner=owner, name=name).exists():
            continue
        plan = plan_create(name=name, currency=currency, is_default=default, owner=owner)
        amount = {"discount": D(value)} if method == L else {"markup": D(value)}
        plan_rule_create(plan=plan, method=method, effective_from=START, **amount)
    for code, plan_name in RETAIL_ASSIGNMENTS:
        customer = Customer.objects.filter(code=code).first()
        if customer is not None and not PlanAssignment.objects.filter(customer=customer).exists():
            plan = SellPlan.objects.get(owner=customer.price_owner, name=plan_name)
            plan_assign(customer=customer, plan=plan, effective_from=START, note="demo")


def load_assignments() -> list[tuple[str, str]]:
    """Give demo customers their plans and grants (runs after the accounts demo) and check margins."""
    from catalog.services.alerts import price_check_run

    for code, plan_name in ASSIGNMENTS:
        customer = Customer.objects.filter(code=code).first()
        if customer is not None and not PlanAssignment.objects.filter(customer=customer).exists():
            plan_assign(
                customer=customer,
                plan=SellPlan.objects.get(owner=None, name=plan_name),
                effective_from=START,
                note="demo",
            )
    _retail_plans()
    now = timezone.now()
    grants = [
        ("indie-dev-li", AllowanceUnit.CREDIT, D("50"), "CNY", 30),
        ("coding-club", AllowanceUnit.TOKENS, D(10_000_000), "USD", 60),
    ]
    for code, unit, amount, currency, days in grants:
        customer = Customer.objects.filter(code=code).first()
        if customer is not None and not FreeGrant.objects.filter(customer=customer).exists():
            FreeGrant.objects.create(
                customer=customer,
                unit=unit,
                amount=amount,
                currency=currency,
                granted_at=now,
                expires_at=now + timedelta(days=days),
                reason="Welcome grant (demo)",
            )
    price_check_run(trigger="demo data")
    return []
