"""Crafted data for the 货不对版 signals: models priced on contracts, channels, events through ingest."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.terms.models import BillingTerms
from billing.upstream.models import VendorUsage
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, CostBasis, PriceBook, PriceEntry, PriceTier, Vendor
from catalog.services.contracts import channel_create, contract_create
from tests.billing.usage.factories import T0, customer_make, default_plan, priced_model, source_make

DAY = date(2026, 5, 20)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on the operator's day ``day`` (minutes may run past 59: 10:75 is 11:15)."""
    return timezone.make_aware(datetime.combine(day, time.min)) + timedelta(hours=hour, minutes=minute)


def price(book: PriceBook, model, inp: str, out: str, cache_read: str | None = None) -> None:
    entry = PriceEntry.objects.create(book=book, model=model, effective_from=T0)
    PriceTier.objects.create(
        entry=entry,
        lo=0,
        input=Decimal(inp),
        output=Decimal(out),
        cache_read=Decimal(cache_read) if cache_read else None,
    )


class World:
    """Two models of one vendor (an expensive one and a cheap one), a contract book pricing both, a list
    book, three channels on the contract, a customer and a gateway source."""

    def __init__(self):
        self.opus = priced_model("claude-opus", cost_input="15", cost_output="75", vendor_name="Anthropic")
        self.haiku = priced_model("claude-haiku", cost_input="1", cost_output="5", vendor_name="Anthropic")
        self.vendor = Vendor.objects.get(name="Anthropic")
        default_plan()
        self.book = PriceBook.objects.create(name="contract-anthropic", kind=BookKind.COST, currency="CNY")
        price(self.book, self.opus, "15", "75")
        price(self.book, self.haiku, "1", "5")
        self.list_book = PriceBook.objects.create(name="list-anthropic", kind=BookKind.LIST, currency="CNY")
        price(self.list_book, self.opus, "20", "100")
        price(self.list_book, self.haiku, "1.5", "7.5")
        self.contract = contract_create(
            vendor=self.vendor,
            name="Anthropic direct",
            currency="CNY",
            valid_from=date(2026, 1, 1),
            cost_basis=CostBasis.BOOK,
            cost_book=self.book,
            list_book=self.list_book,
        )
        self.channels = [
            channel_create(contract=self.contract, name=name, aliases=aliases)
            for name, aliases in (("ant-a", ["deploy-a"]), ("ant-b", []), ("ant-c", []), ("ant-d", []))
        ]
        self.customer = customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
        self.source = source_make()[0]
        self._batches = 0

    def ingest(self, records: list[dict]) -> None:
        self._batches += 1
        result = usage_batch_ingest(
            source=self.source, records=records, idempotency_key=f"mismatch-{self._batches}"
        )
        assert not result.errors, result.errors[:3]


def record(
    request_id: str,
    *,
    channel: str,
    when: datetime,
    model: str = "claude-opus",
    prompt: int = 1000,
    completion: int = 500,
    reported: str | None = None,
) -> dict:
    row = {
        "request_id": request_id,
        "occurred_at": when.isoformat(),
        "key": "key-a",
        "model": model,
        "upstream_account": channel,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
    }
    if reported is not None:
        row["metadata"] = {"response_model": reported}
    return row


def vendor_row(channel, model, *, day: date = DAY, cost, input_tokens=0, output_tokens=0, **extra):
    start = timezone.make_aware(datetime.combine(day, time.min))
    return VendorUsage.objects.create(
        channel=channel,
        day=day,
        starts_at=start,
        ends_at=start + timedelta(days=1),
        model_name=model.name,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=Decimal(cost),
        currency="CNY",
        **extra,
    )
