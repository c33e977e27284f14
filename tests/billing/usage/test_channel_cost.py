"""Cost is rated at the event's channel — its contract's book, or a discount off list — in every path, and
owed on that channel's upstream account (issue #18 item 1).

Prices per million tokens; each event is 1M prompt + 1M completion. Sell (standard plan): 2 + 8 = 10 CNY.
Best cost book (unmapped accounts): 1 + 4 = 5 CNY. Contract ``Azure USD`` (prepaid, its own USD book
0.1 + 0.4): 0.50 USD on channel ``az-usd``. Contract ``Reseller CNY`` (postpaid, 20% off the list book's
3 + 12): 12.00 CNY on channel ``rs-list`` (alias ``channel:12``). Contract ``Empty`` (a book without the
model): no cost on ``empty-1``.
"""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import StaffRole
from billing.ledger.accounts import account_get, channel_reference
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.bulk.writer import ChannelsChanged
from billing.usage.corrections import usage_correct
from billing.usage.models import GatewayKey, RatingState, UsageDaily, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, CostBasis, PriceBook, PriceEntry, PriceTier, Settlement, Vendor
from catalog.services.contracts import channel_create, contract_create
from catalog.services.fx import fx_rate_set
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, T0, customer_make, event, owned_plan, plan_assign
from tests.billing.usage.test_chain_hops import sub_make

pytestmark = pytest.mark.django_db

MILLION = 1_000_000


def money(value: str) -> Decimal:
    return Decimal(value)


def book_make(name: str, kind: str, currency: str, model, inp: str, out: str) -> PriceBook:
    book = PriceBook.objects.create(name=name, kind=kind, currency=currency)
    if model is not None:
        entry = PriceEntry.objects.create(book=book, model=model, effective_from=T0)
        PriceTier.objects.create(entry=entry, lo=0, input=Decimal(inp), output=Decimal(out))
    return book


def channels_make(model) -> dict:
    """The three contracts and their channels (see the module docstring), by channel name."""
    azure = Vendor.objects.create(name="Azure", slug="azure")
    reseller = Vendor.objects.create(name="Reseller", slug="reseller")
    usd = contract_create(
        vendor=azure,
        name="Azure USD",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_book=book_make("azure-usd", BookKind.COST, "USD", model, "0.1", "0.4"),
        settlement=Settlement.PREPAID,
    )
    listed = contract_create(
        vendor=reseller,
        name="Reseller CNY",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_basis=CostBasis.LIST_DISCOUNT,
        list_book=book_make("list-cny", BookKind.LIST, "CNY", model, "3", "12"),
        discount=Decimal("0.2"),
        settlement=Settlement.POSTPAID,
    )
    empty = contract_create(
        vendor=azure,
        name="Empty",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_book=book_make("empty-usd", BookKind.COST, "USD", None, "0", "0"),
    )
    return {
        "az-usd": channel_create(contract=usd, name="az-usd"),
        "rs-list": channel_create(contract=listed, name="rs-list", aliases=["channel:12"]),
        "empty-1": channel_create(contract=empty, name="empty-1"),
    }


def use(request_id: str, account: str, key: str = "key-a", **extra) -> dict:
    return event(request_id, key=key, prompt=MILLION, completion=MILLION, upstream_account=account, **extra)


RECORDS = [
    use("u1", "az-usd"),
    use("u2", "AZ-USD"),  # names match case-insensitively; the event keeps the spelling it came with
    use("l1", "Channel:12"),  # an alias
    use("x1", "nobody-mapped-this"),
    use("b1", ""),
    use("e1", "empty-1"),
]


def ingest(path: str, source, records, customer=None):
    """Charge ``records`` through ``path``; re-rating: first unrated (an unknown key), then rated once
    the key is mapped to ``customer``."""
    if path == "bulk":
        return bulk_ingest(source=source, records=records, key_prefix="file", chunk=4)
    if path == "rerate":
        usage_batch_ingest(source=source, records=[{**r, "key": "later"} for r in records])
        GatewayKey.objects.create(key="later", customer=customer)
        return usage_rerate()
    return usage_batch_ingest(source=source, records=records)


def channel_account(channel, kind: str):
    contract = channel.contract
    return account_get(
        kind=kind,
        currency=contract.currency,
        vendor=contract.vendor,
        reference=channel_reference(channel.pk),
    )


def cost_of_tokens(vendor, currency: str) -> Decimal:
    return account_get(kind=AccountKind.COST_OF_TOKENS, currency=currency, vendor=vendor).balance


def verified() -> None:
    for command in ("ledger_verify", "billing_verify"):
        out = StringIO()
        call_command(command, stdout=out)
        assert "OK" in out.getvalue(), out.getvalue()


@pytest.fixture
def channels(model):
    return channels_make(model)


PATHS = ["services", pytest.param("bulk", marks=pytest.mark.postgres), "rerate"]


@pytest.mark.parametrize("path", PATHS)
def test_each_event_costs_its_channels_price_and_is_owed_on_that_channel(source, model, channels, path):
    customer = customer_make(key="key-a")
    top_up(customer, Decimal("100"))

    result = ingest(path, source, RECORDS, customer)

    assert (result.accepted, result.unrated) == (6, 0)
    rows = {r.request_id: r for r in UsageEvent.objects.filter(rating_state=RatingState.RATED)}
    assert {rid: (r.cost_amount, r.cost_currency, r.sell_amount) for rid, r in rows.items()} == {
        "u1": (money("0.5"), "USD", money("10")),  # the contract's own book, in its currency
        "u2": (money("0.5"), "USD", money("10")),
        "l1": (money("12"), "CNY", money("10")),  # 20% off list: 15 × 0.8
        "x1": (money("5"), "CNY", money("10")),  # unmapped: the best cost book, as before
        "b1": (money("5"), "CNY", money("10")),
        "e1": (None, "", money("10")),  # the contract prices no such model: margin unknown
    }
    # each event keeps the account as sent
    assert rows["u2"].upstream_account == "AZ-USD"
    assert rows["l1"].upstream_account == "Channel:12"
    azure, reseller = channels["az-usd"].contract.vendor, channels["rs-list"].contract.vendor
    # Prepaid contract: its channel's prepaid asset is drawn; postpaid: the channel's accrued liability
    assert channel_account(channels["az-usd"], AccountKind.UPSTREAM_PREPAID).balance == money("-1.00")
    assert channel_account(channels["rs-list"], AccountKind.UPSTREAM_ACCRUED).balance == money("-12.00")
    assert channel_account(channels["rs-list"], AccountKind.UPSTREAM_PREPAID).balance == 0
    assert channel_account(channels["empty-1"], AccountKind.UPSTREAM_PREPAID).balance == 0
    # Cost of tokens of the contract's vendor (Azure resells DeepSeek's model here), not the model's
    assert cost_of_tokens(azure, "USD") == money("1.00")
    assert cost_of_tokens(reseller, "CNY") == money("12.00")
    assert cost_of_tokens(model.vendor, "CNY") == money("10.00")
    vendor_level = account_get(kind=AccountKind.UPSTREAM_PREPAID, currency="CNY", vendor=model.vendor)
    assert vendor_level.balance == money("-10.00")
    assert sorted(UsageDaily.objects.values_list("upstream_account", "cost_currency", "cost_amount")) == [
        ("", "CNY", money("5")),
        ("AZ-USD", "USD", money("0.5")),
        ("Channel:12", "CNY", money("12")),
        ("az-usd", "USD", money("0.5")),
        ("empty-1", "", money("0")),
        ("nobody-mapped-this", "CNY", money("5")),
    ]
    verified()


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_a_replayed_batch_posts_nothing(source, model, channels, path):
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    ingest(path, source, RECORDS)
    posted = JournalTransaction.objects.count()

    again = ingest(path, source, RECORDS)

    assert again.replayed
    assert JournalTransaction.objects.count() == posted
    assert channel_account(channels["az-usd"], AccountKind.UPSTREAM_PREPAID).balance == money("-1.00")
    assert UsageEvent.objects.count() == len(RECORDS)


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_resale_chain_the_top_hop_costs_the_channels_price(source, model, channels, path):
    wholesale = owned_plan(None, "Wholesale", "0.2")  # 6.00 CNY: the best cost book's 5 × 1.2
    s = sub_make(key="key-s", terms=BillingTerms.Mode.MONTHLY)
    plan_assign(s, wholesale)
    end = customer_make(key="key-e", parent=s, mode=BillingTerms.Mode.MONTHLY)
    plan_assign(end, owned_plan(s, "S retail", "0.5"))

    ingest(path, source, [use("c1", "az-usd", key="key-e"), use("c2", "rs-list", key="key-e")])

    rows = {(r.request_id, r.hop): r for r in UsageEvent.objects.all()}
    # The end customer's row costs what S pays (its wholesale price), whatever the channel
    assert (rows[("c1", 0)].cost_amount, rows[("c1", 0)].cost_currency) == (money("6"), "CNY")
    assert (rows[("c2", 0)].cost_amount, rows[("c2", 0)].cost_currency) == (money("6"), "CNY")
    # S's purchase, the row the operator sells, costs the channel's contract price
    assert (rows[("c1", 1)].customer_id, rows[("c1", 1)].cost_amount) == (s.pk, money("0.5"))
    assert rows[("c1", 1)].cost_currency == "USD"
    assert (rows[("c2", 1)].cost_amount, rows[("c2", 1)].cost_currency) == (money("12"), "CNY")
    assert channel_account(channels["az-usd"], AccountKind.UPSTREAM_PREPAID).balance == money("-0.50")
    assert channel_account(channels["rs-list"], AccountKind.UPSTREAM_ACCRUED).balance == money("-12.00")
    # S's book owes its seller the wholesale price of both requests, not any channel's cost
    due = account_get(kind=AccountKind.DUE_TO_SELLER, currency="CNY", book=s).balance
    assert due == money("-12.00")
    verified()


def test_a_usd_contract_under_cny_customers_costs_in_usd_at_any_fx(source, model, channels):
    """No exchange rate is needed: the contract's book is in its own currency, and cost is kept in it."""
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    usage_batch_ingest(source=source, records=[use("u1", "az-usd")])
    row = UsageEvent.objects.get()
    assert (row.sell_currency, row.cost_currency, row.cost_amount) == ("CNY", "USD", money("0.5"))
    assert cost_of_tokens(channels["az-usd"].contract.vendor, "USD") == money("0.50")
    assert cost_of_tokens(channels["az-usd"].contract.vendor, "CNY") == 0


def test_a_correction_posts_the_cost_difference_on_the_channel(source, model, channels):
    customer = customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    usage_batch_ingest(source=source, records=[use("u1", "az-usd"), use("x1", "other")])
    # The contract's price was wrong: 0.2 + 0.8 USD, not 0.1 + 0.4
    wrong = PriceTier.objects.filter(entry__book__name="azure-usd")
    wrong.update(input=Decimal("0.2"), output=Decimal("0.8"))

    usage_correct(
        customer=customer,
        model=model,
        since=AT.replace(hour=0),
        until=AT.replace(hour=23),
        reason="Azure price typed at half",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="fix-azure",
    )

    assert UsageEvent.objects.get(request_id="u1").cost_amount == money("1")
    assert channel_account(channels["az-usd"], AccountKind.UPSTREAM_PREPAID).balance == money("-1.00")
    assert cost_of_tokens(channels["az-usd"].contract.vendor, "USD") == money("1.00")
    # the unmapped event's cost, on the vendor's account, is untouched
    vendor_level = account_get(kind=AccountKind.UPSTREAM_PREPAID, currency="CNY", vendor=model.vendor)
    assert vendor_level.balance == money("-5.00")
    verified()


@pytest.mark.postgres
def test_bulk_refuses_a_chunk_rated_before_its_account_was_mapped(monkeypatch, source, model, channels):
    """The producer rated ``az-usd`` as unmapped (its view, patched here, predates the mapping): the
    writer, checking under the mapping lock, writes nothing of the chunk rather than owe its cost on the
    vendor's account, and says what to do; a run on the mapping as it is then charges it."""
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    monkeypatch.setattr("billing.usage.bulk.producer.channels_load", lambda accounts: {})

    with pytest.raises(ChannelsChanged, match=r"'az-usd'.*Run the ingest again"):
        bulk_ingest(source=source, records=[use("u1", "az-usd")], key_prefix="file", parallel=False)

    assert not UsageEvent.objects.exists()
    assert not JournalTransaction.objects.exists()
    monkeypatch.undo()
    bulk_ingest(source=source, records=[use("u1", "az-usd")], key_prefix="file", parallel=False)
    assert UsageEvent.objects.get().cost_currency == "USD"


def test_a_contract_in_another_currency_than_its_book_converts_at_the_days_rate(source, model, channels):
    """A USD contract at 20% off the CNY list book: 15 × 0.8 = 12 CNY, at 0.125 USD a yuan 1.50 USD,
    converted at the rate of the event's day."""
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    contract = contract_create(
        vendor=channels["az-usd"].contract.vendor,
        name="Azure off list",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_basis=CostBasis.LIST_DISCOUNT,
        list_book=PriceBook.objects.get(name="list-cny"),
        discount=Decimal("0.2"),
        settlement=Settlement.POSTPAID,
    )
    channel = channel_create(contract=contract, name="az-list")
    fx_rate_set(base="CNY", quote="USD", on=AT.date(), rate=Decimal("0.125"))

    usage_batch_ingest(source=source, records=[use("fx", "az-list")])

    row = UsageEvent.objects.get()
    assert (row.cost_amount, row.cost_currency) == (money("1.5"), "USD")
    assert channel_account(channel, AccountKind.UPSTREAM_ACCRUED).balance == money("-1.50")
