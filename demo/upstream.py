"""Demo upstream side: a contract and channel for every demo vendor, so every demo usage event is costed
at the channel it went through; then (after the usage month) upstream prepaid credit with a pack, a month
of vendor usage with a few planted discrepancies, and a reconciliation run, so the /upstream/ pages have
something to show on first run.

Idempotent: contracts and channels are keyed by name; the rest is added once (an import of the same file
changes nothing; a run over the same figures stores nothing new).
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from billing.upstream.daily import upstream_daily_run
from billing.upstream.imports import generic
from billing.upstream.imports.services import upstream_import
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import UpstreamImport, UpstreamPack
from billing.upstream.packs import upstream_pack_buy
from billing.upstream.reconcile.run import reconcile
from billing.usage.models import UsageHourly
from catalog.models import (
    AIModel,
    BookKind,
    Channel,
    ChannelKind,
    CostBasis,
    PriceBook,
    PriceEntry,
    Settlement,
    Vendor,
    VendorContract,
)
from catalog.services.books import price_entry_create
from catalog.services.contracts import channel_create, contract_create
from demo.catalog import MODELS, START

D = Decimal
VALID_FROM = date(2025, 1, 1)
DEMO_DAYS = 30  # as demo.usage.DAYS: the usage month runs from about 31 days ago until now
OPENROUTER_FEE = D("1.055")  # OpenRouter sells at the vendor's list price plus a 5.5% credit fee

# The account the demo gateway sends for each model, as it names the model: mostly a channel's name, a few
# an alias (LiteLLM's deployment id, new-api's channel:N) of it.
ROUTES = {
    "deepseek-chat": "deepseek-main",
    "deepseek-reasoner": "litellm-deepseek-r1",
    "qwen-plus": "bailian-main",
    "qwen3-max": "bailian-main",
    "glm-5.1": "zhipu-main",
    "glm-5-turbo": "channel:7",
    "kimi-k2.5": "kimi-main",
    "gemini-2.5-flash": "vertex-gemini",
    "gemini-2.5-pro": "openrouter-main",
    "claude-sonnet-4-5": "anthropic-main",
    "claude-haiku-4-5": "anthropic-main",
    "openai/gpt-4o": "openai-main",
    "gpt-5-mini": "openai-main",
    "gpt-4.1-preview-custom": "openai-main",
}

P, PP = Settlement.PREPAID, Settlement.POSTPAID
# (vendor slug, contract, currency, settlement, cost basis: a book's name or a list discount, prepaid,
#  committed per month, payment days). Amounts fit the demo's small month of traffic (a few CNY or USD per
#  channel): each prepaid amount is bought on the contract's channel (``_purchases``). Kimi's is nearly spent
#  (about two days of cover left, whatever the hour the demo loads at): the low-cover alert has a channel.
CONTRACTS = [
    ("openai", "OpenAI direct (prepaid)", "USD", P, "OpenAI contract", "10", 0, 0),
    ("anthropic", "Anthropic enterprise (postpaid)", "USD", PP, "Anthropic contract", 0, "20", 30),
    ("google", "Google Vertex AI", "USD", P, "Google contract", "2", 0, 0),
    ("openrouter", "OpenRouter credits", "USD", P, "OpenRouter cost", "1", 0, 0),
    ("deepseek", "DeepSeek prepaid", "CNY", P, "DeepSeek contract", "20", 0, 0),
    ("alibaba", "Alibaba Cloud Bailian 百炼", "CNY", P, D("0.20"), "15", 0, 0),
    ("moonshot", "Moonshot Kimi", "CNY", P, "Moonshot AI contract", "1.1", 0, 0),
    ("zhipu", "Zhipu GLM", "CNY", P, "Zhipu AI contract", "16", 0, 0),
    ("minimax", "MiniMax", "CNY", P, "MiniMax contract", "10", 0, 0),
]
# Alibaba's discount deepens with the month's list volume (CNY).
ALIBABA_TIERS = [(D(50), D("0.22")), (D(200), D("0.25"))]
# (name, contract, kind, endpoint, vendor key id, reporting zone, lag hours, aliases)
CHANNELS = [
    (
        "openai-main",
        "OpenAI direct (prepaid)",
        ChannelKind.DIRECT,
        "https://api.openai.com/v1",
        "key_demo_oai01",
        "UTC",
        24,
        [],
    ),
    (
        "anthropic-main",
        "Anthropic enterprise (postpaid)",
        ChannelKind.DIRECT,
        "https://api.anthropic.com",
        "apikey_demo_01",
        "UTC",
        24,
        [],
    ),
    (
        "vertex-gemini",
        "Google Vertex AI",
        ChannelKind.VERTEX,
        "https://aiplatform.googleapis.com",
        "",
        "UTC",
        24,
        [],
    ),
    (
        "openrouter-main",
        "OpenRouter credits",
        ChannelKind.OPENROUTER,
        "https://openrouter.ai/api/v1",
        "demo-key",
        "UTC",
        24,
        [],
    ),
    (
        "deepseek-main",
        "DeepSeek prepaid",
        ChannelKind.DIRECT,
        "https://api.deepseek.com",
        "",
        "Asia/Shanghai",
        24,
        ["litellm-deepseek-r1"],
    ),
    (
        "bailian-main",
        "Alibaba Cloud Bailian 百炼",
        ChannelKind.DIRECT,
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "",
        "Asia/Shanghai",
        24,
        [],
    ),
    # Kimi's daily usage lands by 07:00 the next day (Beijing time).
    (
        "kimi-main",
        "Moonshot Kimi",
        ChannelKind.DIRECT,
        "https://api.moonshot.cn/v1",
        "",
        "Asia/Shanghai",
        31,
        [],
    ),
    (
        "zhipu-main",
        "Zhipu GLM",
        ChannelKind.DIRECT,
        "https://open.bigmodel.cn/api/paas/v4",
        "",
        "Asia/Shanghai",
        24,
        ["channel:7"],
    ),
    (
        "minimax-main",
        "MiniMax",
        ChannelKind.DIRECT,
        "https://api.minimaxi.com/v1",
        "",
        "Asia/Shanghai",
        24,
        [],
    ),
]


def _openrouter_book() -> PriceBook:
    """OpenRouter, a reseller of the same models, at its own prices: Gemini at list plus its fee."""
    vendor, _ = Vendor.objects.get_or_create(
        slug="openrouter",
        defaults={"name": "OpenRouter", "website": "https://openrouter.ai", "country": "US"},
    )
    book, _ = PriceBook.objects.get_or_create(
        name="OpenRouter cost",
        defaults={
            "kind": BookKind.COST,
            "currency": "USD",
            "vendor": vendor,
            "description": "What OpenRouter charges us: the vendor's list price plus 5.5%.",
        },
    )
    if not PriceEntry.objects.filter(book=book).exists():
        for slug, name, _aliases, _modality, _context, tiers in MODELS:
            if slug != "google":
                continue
            price_entry_create(
                book=book,
                model=AIModel.objects.get(name=name),
                effective_from=START,
                tiers=[tier.scaled(OPENROUTER_FEE) for tier in tiers],
                source="demo",
            )
    return book


def channels_load() -> dict[str, str]:
    """Create the demo's contracts and channels (once); return the account the gateway sends per model."""
    _openrouter_book()
    vendors = {v.slug: v for v in Vendor.objects.all()}
    # A commitment starts with the demo month's first calendar month, so the daily run accrues that month's
    # shortfall once (not one for every month since VALID_FROM).
    committed_from = timezone.localdate(timezone.now() - timedelta(days=DEMO_DAYS + 1)).replace(day=1)
    for slug, name, currency, settlement, basis, prepaid, committed, days in CONTRACTS:
        if VendorContract.objects.filter(name=name).exists():
            continue
        terms = (
            {
                "cost_basis": CostBasis.LIST_DISCOUNT,
                "list_book": PriceBook.objects.get(name=f"{vendors[slug].name} list"),
                "discount": basis,
                "tiers": ALIBABA_TIERS,
            }
            if isinstance(basis, Decimal)
            else {"cost_book": PriceBook.objects.get(name=basis)}
        )
        contract_create(
            vendor=vendors[slug],
            name=name,
            currency=currency,
            valid_from=committed_from if committed else VALID_FROM,
            settlement=settlement,
            prepaid_amount=D(prepaid),
            committed_amount=D(committed),
            payment_terms_days=days,
            reference=f"DEMO-{slug.upper()}-2025",
            **terms,
        )
    contracts = {c.name: c for c in VendorContract.objects.all()}
    for name, contract, kind, endpoint, key_id, zone, lag, aliases in CHANNELS:
        if Channel.objects.filter(name=name).exists():
            continue
        channel_create(
            contract=contracts[contract],
            name=name,
            kind=kind,
            endpoint=endpoint,
            vendor_key_id=key_id,
            reporting_zone=zone,
            reporting_lag_hours=lag,
            aliases=aliases,
        )
    return ROUTES


# -- after the usage month: credit bought, the vendors' figures, a reconciliation ---------------------

VENDOR_FILE = "demo-vendor-usage.csv"
# Each prepaid contract's prepaid amount is bought as a prepayment on its channel, except Zhipu's, bought as
# a 资源包 (amount pack) that gives more credit than it costs and expires: (channel, credit, days valid).
PACK = ("zhipu-main", D(20), 60)


def load() -> list[tuple[str, str]]:
    """Buy upstream credit, run the upstream ledger's days of the month, import the vendors' month with
    planted discrepancies and reconcile it (once: later loads find the vendor file imported and add
    nothing); return no logins."""
    if UpstreamImport.objects.filter(filename=VENDOR_FILE).exists():
        return []
    now = timezone.now()
    _purchases(now)
    first = timezone.localdate(now - timedelta(days=DEMO_DAYS + 1))
    for offset in range((timezone.localdate(now) - first).days):
        # Each morning's run as it would have happened: burn the day, expire, accrue shortfalls; no alerts.
        upstream_daily_run(day=first + timedelta(days=offset), alerts=False)
    rows = _our_days(now)
    _plant(rows)
    upstream_import(content=_csv(rows), filename=VENDOR_FILE, fmt=UpstreamImport.Format.GENERIC)
    days = sorted({day for _channel, _model, day in rows})
    reconcile(date_from=days[0], date_to=days[-1], now=now)
    mismatch_scan(date_from=days[0], date_to=days[-1])
    return []


def _purchases(now) -> None:
    bought = now - timedelta(days=DEMO_DAYS + 5)
    channels = Channel.objects.select_related("contract__vendor").filter(
        contract__settlement=Settlement.PREPAID, contract__prepaid_amount__gt=0
    )
    for channel in channels:
        pack = channel.name == PACK[0]
        upstream_pack_buy(
            channel=channel,
            kind=UpstreamPack.Kind.AMOUNT if pack else UpstreamPack.Kind.PREPAYMENT,
            name=f"GLM 资源包: {PACK[1]} CNY of credit" if pack else "",
            reference=f"DEMO-{channel.name.upper()}-1",
            price=channel.contract.prepaid_amount,
            credit=PACK[1] if pack else None,
            purchased_at=bought,
            expires_at=bought + timedelta(days=PACK[2]) if pack else None,
            payment="bank",
        )


def _our_days(now) -> dict[tuple[str, str, date], dict]:
    """Our rated usage the operator sells per channel × model × vendor day (in the channel's zone), for the
    days whose vendor figures are due: what an honest vendor would report."""
    channels = list(Channel.objects.prefetch_related("aliases").select_related("contract"))
    named = {n.lower(): c for c in channels for n in [c.name, *(a.alias for a in c.aliases.all())]}
    rows: dict[tuple[str, str, date], dict] = defaultdict(lambda: defaultdict(D))
    hourly = UsageHourly.objects.filter(customer__seller__isnull=True).select_related("model")
    for r in hourly:
        channel = named.get(r.upstream_account.lower())
        if channel is None or r.cost_currency != channel.contract.currency:
            continue
        day = r.hour.astimezone(ZoneInfo(channel.reporting_zone)).date()
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(channel.reporting_zone))
        if end + timedelta(hours=channel.reporting_lag_hours) > now:
            continue
        row = rows[(channel.name, r.model.name, day)]
        row["zone"], row["currency"] = channel.reporting_zone, channel.contract.currency
        row["requests"] += r.requests
        row["input"] += r.prompt_tokens - r.cache_read_tokens - r.cache_write_tokens - r.cache_write_1h_tokens
        row["cache_read"] += r.cache_read_tokens
        row["cache_write"] += r.cache_write_tokens + r.cache_write_1h_tokens
        row["output"] += r.completion_tokens
        row["reasoning"] += r.reasoning_tokens
        row["cost"] += r.cost_amount
    return rows


def _plant(rows) -> None:
    """One difference of each kind the reconciliation classifies, each on its own channel and day."""
    taken: set = set()

    def one(channel: str, *, models: int = 1) -> tuple[tuple, dict]:
        """The channel's row with the most uncached input (so a planted difference passes the token
        tolerance) on a day with at least ``models`` models and no difference planted yet."""
        per_day: dict[date, int] = defaultdict(int)
        for name, _model, day in rows:
            if name == channel:
                per_day[day] += 1
        keys = [k for k in rows if k[0] == channel and per_day[k[2]] >= models and k[2] not in taken]
        key = max(keys, key=lambda k: (rows[k]["input"], k))
        taken.add(key[2])
        return key, rows[key]

    # missing_upstream_data: Kimi sent nothing for a day we used it.
    key, _row = one("kimi-main")
    for k in [k for k in rows if k[0] == key[0] and k[2] == key[2]]:
        del rows[k]
    # no_upstream_record: one of two models OpenAI shows no usage of.
    key, _row = one("openai-main", models=2)
    del rows[key]
    # model_mismatch (货不对版): OpenRouter reports, and charges, the cheaper Flash for what we sent as Pro.
    key, row = one("openrouter-main")
    del rows[key]
    row["cost"] *= D("0.25")
    rows[(key[0], "gemini-2.5-flash", key[2])] = row
    # unbilled_usage: DeepSeek served half again as many requests as reached our billing (lost on 429s).
    _key, row = one("deepseek-main")
    for field in ("requests", "input", "output", "cost"):
        row[field] = (row[field] * D("1.5")).to_integral_value() if field != "cost" else row[field] * D("1.5")
    # token_drift: Bailian's tokenizer counts a tenth more input on the same requests.
    _key, row = one("bailian-main")
    row["cost"] *= (row["input"] * D("1.1") + row["output"]) / (row["input"] + row["output"])
    row["input"] = (row["input"] * D("1.1")).to_integral_value()
    # cache_mismatch: Anthropic counts 40% of what we saw as uncached as cache reads (same totals).
    _key, row = one("anthropic-main")
    moved = (row["input"] * D("0.4")).to_integral_value()
    row["input"] -= moved
    row["cache_read"] += moved
    # price_mismatch: Vertex charges a fifth more for the same tokens.
    _key, row = one("vertex-gemini")
    row["cost"] *= D("1.2")


def _csv(rows) -> bytes:
    lines = [generic.HEADER]
    for (channel, model, day), r in sorted(rows.items()):
        counts = [r[f] for f in ("requests", "input", "cache_read", "cache_write", "output", "reasoning")]
        cost = r["cost"].quantize(D("0.000001"))
        cells = [day.isoformat(), r["zone"], channel, model, *(str(int(n)) for n in counts), str(cost)]
        lines.append(",".join([*cells, r["currency"]]))
    return ("\n".join(lines) + "\n").encode()
