"""The dashboard's figures against the ledger: every kind of posting made through the services, each figure
checked by hand and funded float against its formula summed from the journal's entries."""

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from accounts.models import StaffRole
from billing.exposure.balances import FIGURE_KINDS
from billing.exposure.figures import figures_for_day, previous_month
from billing.ledger.models import JournalEntry
from billing.receivables.services import payment_record
from billing.upstream.bills import vendor_bill_record
from billing.upstream.models import VendorBill
from billing.upstream.packs import upstream_pack_buy
from billing.usage.services import usage_batch_ingest
from catalog.models import FxRate, PriceBook, Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.billing.factories import staff, topup
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.billing.usage.factories import customer_make, default_plan, priced_model, source_make
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
_n = itertools.count(1)


@dataclass
class World:
    prepaid: object
    credit: object
    invoiced: object
    invoice: object
    source: object
    channel: object
    finance: object


def _local(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def use(source, key: str, at: datetime, *, account: str = "deepseek-main"):
    """One event of 1M prompt and 0.5M completion tokens: sold at 6 CNY, costing 3 CNY on the channel."""
    n = next(_n)
    result = usage_batch_ingest(
        source=source,
        records=[
            {
                "request_id": f"dash-{n}",
                "occurred_at": at.isoformat(),
                "key": key,
                "model": "deepseek-chat",
                "prompt_tokens": 1_000_000,
                "completion_tokens": 500_000,
                "upstream_account": account,
            }
        ],
        idempotency_key=f"dash-batch-{n}",
        now=max(at, timezone.now()),
    )
    assert result.accepted == 1, result
    return result


def ledger_world() -> World:
    """A ledger with every kind of posting, all in CNY, in the operator's book (see the module test).

    * prepaid customer: top-up 500 today; one event today (6 sold, 3 cost);
    * credit customer (limit 5): one event today (6 unbilled, 3 cost) — over its limit;
    * invoiced customer: a 100 service invoice issued on the 1st of last month, 40 paid today;
    * a prepaid channel: a 300 pack paid from the bank on the 1st of last month, drawn by both events;
    * a postpaid channel: a 12.50 vendor bill for January, unpaid.
    """
    today = timezone.localdate()
    model = priced_model()
    default_plan()
    contract = contract_create(
        vendor=model.vendor,
        name="DeepSeek direct",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=PriceBook.objects.get(name="cost-CNY"),
        settlement=Settlement.PREPAID,
    )
    channel = channel_create(contract=contract, name="deepseek-main")
    postpaid = channel_create(
        contract=contract_create(
            vendor=model.vendor,
            name="DeepSeek postpaid",
            currency="CNY",
            valid_from=date(2026, 1, 1),
            cost_book=PriceBook.objects.get(name="cost-CNY"),
            settlement=Settlement.POSTPAID,
        ),
        name="deepseek-post",
    )
    source = source_make()[0]
    last_month = previous_month(today)[0]
    upstream_pack_buy(
        channel=channel,
        kind="amount",
        reference="PACK-1",
        price=Decimal("300"),
        credit=Decimal("300"),
        purchased_at=_local(last_month, 9),
        payment="bank",
    )
    vendor_bill_record(
        channel=postpaid,
        number="VB-1",
        kind=VendorBill.Kind.USAGE,
        month=date(2026, 1, 1),
        amount=Decimal("12.50"),
        currency="CNY",
        issued_on=date(2026, 2, 3),
        source="test",
    )
    prepaid = customer_make(key="key-p")
    topup(prepaid, "500", "dash-topup")
    credit = customer_make(key="key-c", mode="monthly", credit_limit=Decimal("5"))
    now = timezone.now()
    use(source, "key-p", now - timedelta(minutes=5))
    use(source, "key-c", now - timedelta(minutes=5))
    invoiced = CustomerFactory(name="Invoiced Ltd")
    credit_terms(invoiced)
    invoice = issued_invoice(invoiced, "100.00", issue_date=last_month)
    finance = staff(StaffRole.FINANCE)
    payment_record(
        customer=invoiced,
        amount=Decimal("40"),
        currency="CNY",
        received_on=today,
        reference="BANK-1",
        actor=finance,
        idempotency_key="dash-pay-1",
    )
    return World(prepaid, credit, invoiced, invoice, source, channel, finance)


def _from_entries(kinds) -> Decimal:
    """Debit-positive sum of the operator book's entries on these kinds: the journal, not cached balances."""
    total = JournalEntry.objects.filter(account__kind__in=kinds, account__book__isnull=True).aggregate(
        s=Sum("amount")
    )["s"]
    return total or Decimal(0)


def test_every_figure_matches_a_hand_computation_and_float_its_formula_over_the_journal():
    ledger_world()

    figures = figures_for_day()
    cny = figures.currencies["CNY"]

    # by hand
    assert cny["cash"] == Decimal("240")  # 500 top-up − 300 pack + 40 payment
    assert cny["deposits"] == Decimal("494")  # 500 − 6 of usage
    assert cny["unbilled"] == Decimal("6")
    assert cny["receivables"] == Decimal("60")  # 100 − 40
    assert cny["overdue"] == Decimal("60")  # due on the 1st of last month
    assert cny["upstream_prepaid"] == Decimal("294")  # 300 − 2 × 3 drawn
    assert cny["payables"] == Decimal("12.5")
    assert cny["funded_float"] == Decimal("294") + 6 + 60 - 494 - Decimal("12.5")
    assert cny["revenue"] == Decimal("12") and cny["cost"] == Decimal("6") and cny["margin"] == 6
    assert cny["revenue_prev"] == Decimal("100") and cny["cost_prev"] == 0
    # the formula over the journal's entries (credit-normal terms flipped)
    term = {name: _from_entries(kinds) for name, kinds in FIGURE_KINDS.items()}
    formula = (
        term["upstream_prepaid"]
        + term["unbilled"]
        + term["receivables"]
        + term["deposits"]
        + term["payables"]
    )
    assert cny["funded_float"] == formula
    # base CNY is CNY itself
    assert figures.base["funded_float"] == cny["funded_float"] and figures.missing_rates == []


def test_a_currency_without_a_rate_is_named_and_left_out_of_base_until_the_rate_exists():
    usd = CustomerFactory(name="Dollar Co")
    topup(usd, "100", "usd-topup", currency="USD")
    topup(CustomerFactory(name="Yuan Co"), "50", "cny-topup")

    figures = figures_for_day()
    assert figures.missing_rates == ["USD"]
    assert figures.currencies["USD"]["cash"] == Decimal("100")
    assert figures.base["cash"] == Decimal("50")  # USD left out, not counted at 0 or 1 silently

    FxRate.objects.create(base="USD", quote="CNY", date=timezone.localdate(), rate=Decimal("7.1"))
    figures = figures_for_day()
    assert figures.missing_rates == []
    assert figures.base["cash"] == Decimal("760")


def test_a_past_day_reads_the_ledger_as_it_was_then():
    world = ledger_world()
    yesterday = timezone.localdate() - timedelta(days=1)

    before = figures_for_day(yesterday)
    topup(world.prepaid, "1000", "late-topup")
    after = figures_for_day(yesterday)

    cny = after.currencies["CNY"]
    assert cny["cash"] == Decimal("-300")  # only the pack was effective by then
    assert cny["receivables"] == Decimal("100") and cny["overdue"] == Decimal("100")  # paid today
    assert cny["deposits"] == 0 and cny["unbilled"] == 0
    assert before.currencies == after.currencies
