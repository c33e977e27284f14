"""An event's cost sits on the account its upstream account maps to now: every change of a name's mapping
(``channel_map``, the channel page's alias add and remove, channel create and rename) moves the cost of
the events stored under it (``upstream_account_recost``); a missing exchange rate leaves the event unrated.

Figures as in ``test_channel_cost``: 1M + 1M tokens cost 5 CNY at the best cost book (on the vendor's
account), 0.50 USD on ``az-usd`` (prepaid), 12 CNY on ``rs-list`` (postpaid, alias ``channel:12``), and
``empty-1``'s contract prices nothing.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.terms.models import BillingTerms
from billing.upstream.channels.selectors import channel_cost_rows
from billing.usage.channel_map import (
    channel_map,
    mapped_alias_add,
    mapped_alias_remove,
    mapped_channel_create,
    mapped_channel_update,
)
from billing.usage.corrections import usage_correct
from billing.usage.models import RatingState, UsageDaily, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, ChannelAlias, PriceEntry, PriceTier, Settlement, Vendor
from catalog.services.contracts import channel_create, contract_create
from catalog.services.fx import fx_rate_set
from tests.billing.factories import staff
from tests.billing.usage.factories import AT, customer_make
from tests.billing.usage.test_channel_cost import (
    book_make,
    channel_account,
    channels_make,
    money,
    use,
    verified,
)

pytestmark = pytest.mark.django_db
K = AccountKind


@pytest.fixture
def channels(model):
    return channels_make(model)


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def customer():
    return customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)


def vendor_level(model):
    return account_get(kind=K.UPSTREAM_PREPAID, currency="CNY", vendor=model.vendor).balance


def cost_of(request_id: str) -> tuple:
    e = UsageEvent.objects.get(request_id=request_id)
    return e.cost_amount, e.cost_currency


def clean() -> None:
    assert ledger_problems() == []
    verified()


def test_alias_removed_then_mapped_again_moves_only_the_vendor_level_cost(
    source, model, channels, customer, finance
):
    az = channels["az-usd"]
    mapped_alias_add(channel=az, alias="key-x", user=finance)
    usage_batch_ingest(source=source, records=[use("a1", "key-x")])  # 0.50 USD on az-usd
    prepaid = channel_account(az, K.UPSTREAM_PREPAID)
    assert prepaid.balance == money("-0.50")

    _removed, back = mapped_alias_remove(channel=az, alias="key-x", user=finance)
    # removing the alias moved a1 back to the vendor's account at the best cost book
    assert (back.events, back.moved_off, back.moved_on) == (1, {"USD": money("0.5")}, {"CNY": money("5")})
    assert cost_of("a1") == (money("5"), "CNY")
    prepaid.refresh_from_db()
    assert (prepaid.balance, vendor_level(model)) == (0, money("-5.00"))
    usage_batch_ingest(source=source, records=[use("a2", "key-x")])  # unmapped: 5 CNY, vendor-level

    mapped = channel_map(upstream_account="key-x", channel=az, user=finance)

    assert (mapped.events, mapped.moved_off, mapped.moved_on) == (
        2,
        {"CNY": money("10")},
        {"USD": money("1")},
    )
    prepaid.refresh_from_db()
    assert (prepaid.balance, vendor_level(model)) == (money("-1.00"), 0)
    assert {cost_of("a1"), cost_of("a2")} == {(money("0.5"), "USD")}
    rollup = UsageDaily.objects.filter(upstream_account="key-x", customer__seller__isnull=True)
    assert list(rollup.values_list("cost_currency", "cost_amount", "requests")) == [("USD", money("1"), 2)]
    clean()


def test_mapping_a_name_that_already_names_the_channel_is_refused(source, model, channels, customer, finance):
    az = channels["az-usd"]
    usage_batch_ingest(source=source, records=[use("a1", "az-usd")])
    posted = JournalTransaction.objects.count()

    with pytest.raises(ValidationError) as refused:
        channel_map(upstream_account="AZ-USD", channel=az, user=finance)

    assert "already names channel az-usd" in refused.value.message_dict["upstream_account"][0]
    assert JournalTransaction.objects.count() == posted
    assert (channel_account(az, K.UPSTREAM_PREPAID).balance, vendor_level(model)) == (money("-0.50"), 0)
    clean()


def test_mapping_to_a_channel_that_cannot_price_the_usage_is_refused(
    source, model, channels, customer, finance
):
    usage_batch_ingest(source=source, records=[use("y1", "key-y")])  # unmapped: 5 CNY

    with pytest.raises(ValidationError) as refused:
        channel_map(upstream_account="key-y", channel=channels["empty-1"], user=finance)

    message = refused.value.message_dict["upstream_account"][0]
    assert model.name in message and "empty-1" in message and "nothing was changed" in message
    assert cost_of("y1") == (money("5"), "CNY")
    assert vendor_level(model) == money("-5.00")
    assert not ChannelAlias.objects.filter(alias="key-y").exists()
    clean()


def test_mapping_an_alias_of_another_channel_moves_it_and_its_cost(
    source, model, channels, customer, finance
):
    listed, az = channels["rs-list"], channels["az-usd"]
    usage_batch_ingest(source=source, records=[use("l1", "channel:12")])  # 12 CNY owed on rs-list
    assert channel_account(listed, K.UPSTREAM_ACCRUED).balance == money("-12.00")

    mapped = channel_map(upstream_account="Channel:12", channel=az, user=finance)

    assert (mapped.moved_off, mapped.moved_on) == ({"CNY": money("12")}, {"USD": money("0.5")})
    assert list(
        ChannelAlias.objects.filter(alias__iexact="channel:12").values_list("channel", flat=True)
    ) == [az.pk]
    assert channel_account(listed, K.UPSTREAM_ACCRUED).balance == 0
    assert channel_account(az, K.UPSTREAM_PREPAID).balance == money("-0.50")
    assert vendor_level(model) == 0
    assert mapped.batch.response["was_name"] == "rs-list"
    clean()


def test_a_correction_after_an_alias_was_added_keeps_the_cost_on_the_channel(
    source, model, channels, customer, finance
):
    listed = channels["rs-list"]
    usage_batch_ingest(source=source, records=[use("a1", "key-x")])  # unmapped: 5 CNY, vendor-level
    mapped_alias_add(channel=listed, alias="key-x", user=finance)  # moves the 5 off, 12 on
    assert vendor_level(model) == 0

    # the event is at the channel's price already: the correction finds nothing to post
    with pytest.raises(ValidationError, match="Nothing to re-rate"):
        usage_correct(
            customer=customer,
            model=model,
            since=AT.replace(hour=0),
            until=AT.replace(hour=23),
            reason="re-rate",
            actor=finance,
            idempotency_key="c1",
        )

    assert cost_of("a1") == (money("12"), "CNY")
    assert (channel_account(listed, K.UPSTREAM_ACCRUED).balance, vendor_level(model)) == (money("-12.00"), 0)
    clean()


def test_a_correction_after_an_alias_was_added_posts_its_difference_on_the_channel(
    source, model, channels, customer, finance
):
    listed = channels["rs-list"]
    usage_batch_ingest(source=source, records=[use("a1", "key-x")])  # unmapped: 5 CNY, vendor-level
    mapped_alias_add(channel=listed, alias="key-x", user=finance)  # 12 CNY on rs-list
    # the list price was wrong: 4 + 16 a million, so 20% off is 16 CNY
    PriceTier.objects.filter(entry__book__name="list-cny").update(input=Decimal("4"), output=Decimal("16"))

    usage_correct(
        customer=customer,
        model=model,
        since=AT.replace(hour=0),
        until=AT.replace(hour=23),
        reason="list price",
        actor=finance,
        idempotency_key="c2",
    )

    assert cost_of("a1") == (money("16"), "CNY")
    assert (channel_account(listed, K.UPSTREAM_ACCRUED).balance, vendor_level(model)) == (money("-16.00"), 0)
    clean()


def test_removing_an_alias_the_best_cost_book_cannot_price_is_refused(
    source, model, channels, customer, finance
):
    az = channels["az-usd"]
    mapped_alias_add(channel=az, alias="key-x", user=finance)
    usage_batch_ingest(source=source, records=[use("a1", "key-x")])
    PriceEntry.objects.filter(model=model, book__kind=BookKind.COST).delete()  # no cost book prices it now

    with pytest.raises(ValidationError) as refused:
        mapped_alias_remove(channel=az, alias="key-x", user=finance)

    assert "best cost book" in refused.value.message_dict["alias"][0]
    assert ChannelAlias.objects.filter(channel=az, alias="key-x").exists()
    assert channel_account(az, K.UPSTREAM_PREPAID).balance == money("-0.50")
    clean()


def test_creating_and_renaming_a_channel_moves_the_usage_stored_under_its_names(
    source, model, channels, customer, finance
):
    usage_batch_ingest(source=source, records=[use("n1", "new-az"), use("n2", "later-name")])
    assert vendor_level(model) == money("-10.00")
    contract = channels["az-usd"].contract

    created = mapped_channel_create(user=finance, contract=contract, name="new-az")
    assert cost_of("n1") == (money("0.5"), "USD")
    assert vendor_level(model) == money("-5.00")

    mapped_channel_update(channel=created, user=finance, name="later-name")

    assert cost_of("n2") == (money("0.5"), "USD")
    assert vendor_level(model) == 0
    assert channel_account(created, K.UPSTREAM_PREPAID).balance == money("-1.00")
    clean()


def test_the_channel_page_alias_forms_move_the_cost(source, model, channels, customer):
    client = Client()
    client.force_login(staff(StaffRole.FINANCE))
    az = channels["az-usd"]
    usage_batch_ingest(source=source, records=[use("a1", "key-x")])

    added = client.post(reverse("upstream-channel-alias-add", args=[az.pk]), {"alias": "key-x"}, follow=True)
    assert "1 events already stored" in added.content.decode()
    assert (channel_account(az, K.UPSTREAM_PREPAID).balance, vendor_level(model)) == (money("-0.50"), 0)

    client.post(reverse("upstream-channel-alias-remove", args=[az.pk]), {"alias": "key-x"})
    assert (channel_account(az, K.UPSTREAM_PREPAID).balance, vendor_level(model)) == (0, money("-5.00"))
    clean()


def test_a_missing_contract_rate_leaves_the_event_unrated_until_the_rate_exists(source, model, customer):
    azure = Vendor.objects.create(name="Azure", slug="azure")
    contract = contract_create(
        vendor=azure,
        name="Azure USD",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_book=book_make("az-cny", BookKind.COST, "CNY", model, "1", "4"),
        settlement=Settlement.PREPAID,
    )
    az = channel_create(contract=contract, name="az")

    [preview] = channel_cost_rows(az, AT)  # the channel page's cost preview says why, instead of a 500
    assert "No CNY→USD exchange rate" in preview.unavailable and "stays unrated" in preview.unavailable

    result = usage_batch_ingest(source=source, records=[use("a1", "az")])

    e = UsageEvent.objects.get(request_id="a1")
    assert (result.unrated, e.rating_state) == (1, RatingState.UNRATED)
    assert e.unrated_reason.startswith("missing_fx: No CNY→USD exchange rate")
    assert channel_account(az, K.UPSTREAM_PREPAID).balance == 0

    fx_rate_set(base="CNY", quote="USD", on=AT.date(), rate=Decimal("0.125"))
    usage_rerate()

    assert cost_of("a1") == (money("0.625"), "USD")
    assert channel_account(az, K.UPSTREAM_PREPAID).balance == money("-0.625")
    clean()
