"""Price books for the connector tests that rate what real gateways report: every token class and unit
priced apart (per million tokens, per image, per second, in CNY), so that a count read into the wrong class
shows in the amount."""

from decimal import Decimal

from catalog.models import BookKind, PriceBook
from catalog.rating import UNIT_FIELDS, USAGE_FIELDS, TierPrices
from tests.billing.usage.factories import customer_make, default_plan
from tests.catalog.factories import AIModelFactory, VendorFactory, add_prices, tier

MILLION = Decimal(1_000_000)


def priced(name: str, sell: TierPrices, *, service_tiers=(), vendor: str = "Vendor") -> None:
    """Model ``name`` sold at ``sell`` (and ``service_tiers``) and bought at half of it."""
    model = AIModelFactory(name=name, vendor=VendorFactory(name=vendor, slug=vendor.lower()))
    for kind, scale in ((BookKind.SELL, Decimal(1)), (BookKind.COST, Decimal("0.5"))):
        book, _ = PriceBook.objects.get_or_create(
            name=f"{kind}-CNY", defaults={"kind": kind, "currency": "CNY"}
        )
        add_prices(
            book,
            model,
            half(sell, scale),
            service_tiers=[(label, (half(t, scale),)) for label, t in service_tiers],
        )


def half(prices: TierPrices, scale: Decimal) -> TierPrices:
    fields = {
        name: getattr(prices, name) * scale
        for name in TierPrices.__dataclass_fields__
        if name not in ("lo", "hi") and getattr(prices, name) is not None
    }
    return TierPrices(lo=prices.lo, hi=prices.hi, **fields)


def gateway_catalog() -> None:
    """The models the LiteLLM and new-api tests send, and customer ``key-a`` on the default plan."""
    priced(
        "gpt-4o", tier(input="2.5", output="10", cache_read="1.25", cache_write_5m="3.125"), vendor="OpenAI"
    )
    priced(
        "claude-sonnet-4-5",
        tier(input="3", output="15", cache_read="0.3", cache_write_5m="3.75", cache_write_1h="6"),
        vendor="Anthropic",
    )
    audio = tier(input="2.5", output="10", audio_input="40", audio_output="80")
    priced("gpt-4o-audio-preview-2024-12-17", audio, vendor="OpenAI")
    priced("dall-e-3", tier(input="0", output="0", image="0.3"), vendor="OpenAI")
    priced("whisper-1", tier(input="0", output="0", audio_second="0.0001"), vendor="OpenAI")
    priced(
        "o4-mini",
        tier(input="1.1", output="4.4"),
        service_tiers=[("flex", tier(input="0.55", output="2.2"))],
        vendor="OpenAI",
    )
    default_plan()
    customer_make(key="key-a")


def per_million(*terms: tuple[int, str]) -> Decimal:
    """Σ tokens × price per million, exactly: ``(50, "3")`` is 50 tokens at 3 per million."""
    return sum((tokens * Decimal(price) for tokens, price in terms), Decimal(0)) / MILLION


def counts(event) -> dict:
    """A canonical event's non-zero counts, tokens and units, by field name."""
    return {name: getattr(event, name) for name in (*USAGE_FIELDS, *UNIT_FIELDS) if getattr(event, name)}
