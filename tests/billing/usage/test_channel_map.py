"""Upstream accounts no channel names are listed for staff (``unmapped_channels``); mapping one later
(``channel_map``) moves its stored usage's cost onto the channel, posting only the difference, once.

Figures as in ``test_channel_cost``: 1M + 1M tokens cost 5 CNY at the best cost book, 0.50 USD on
channel ``az-usd`` (prepaid contract) and 12 CNY on ``rs-list`` (postpaid, 20% off list).
"""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from accounts.models import StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.usage.channel_map import channel_map
from billing.usage.channels import unmapped_channels
from billing.usage.models import UsageBatch, UsageDaily, UsageEvent, UsageHourly
from billing.usage.services import usage_batch_ingest
from catalog.models import ChannelAlias
from tests.billing.factories import staff
from tests.billing.usage.factories import AT, customer_make, owned_plan, plan_assign
from tests.billing.usage.test_chain_hops import sub_make
from tests.billing.usage.test_channel_cost import (
    channel_account,
    channels_make,
    cost_of_tokens,
    money,
    use,
    verified,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(model):
    return channels_make(model)


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def seen(source, model, channels):
    """Usage on the unmapped account ``new-key`` (two spellings, two days) by an operator customer, and
    by an end customer of a resale sub-distributor S (whose purchase, hop 1, the operator sells); one
    event on a mapped channel."""
    customer_make(key="key-a", mode=BillingTerms.Mode.MONTHLY)
    s = sub_make(key="key-s", terms=BillingTerms.Mode.MONTHLY)
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    end = customer_make(key="key-e", parent=s, mode=BillingTerms.Mode.MONTHLY)
    plan_assign(end, owned_plan(s, "S retail", "0.5"))
    usage_batch_ingest(
        source=source,
        records=[
            use("n1", "new-key"),
            use("n2", "NEW-KEY", at=AT + timedelta(days=1)),
            use("n3", "new-key", key="key-e"),
            use("m1", "az-usd"),
        ],
    )
    return s, end


def test_unmapped_channels_lists_accounts_no_channel_names(seen):
    [row] = unmapped_channels()

    assert row.account == "new-key"  # the spelling most events use
    assert row.spellings == ("NEW-KEY", "new-key")
    # each gateway event once: n3 counts through S's purchase (the row the operator sells), not twice
    assert row.events == 3
    assert row.costs == (("CNY", money("15")),)
    assert (row.first_seen, row.last_seen) == (date(2026, 5, 4), date(2026, 5, 5))
    assert unmapped_channels(search="NEW")[0].account == "new-key"
    assert unmapped_channels(search="azure") == []
    assert [r.events for r in unmapped_channels(since=date(2026, 5, 5))] == [1]
    with pytest.raises(ValueError):
        unmapped_channels(sort="cost")


def test_mapping_moves_the_cost_onto_the_channel_and_posts_only_the_difference(
    seen, model, channels, finance
):
    s, _end = seen
    azure = channels["az-usd"]
    vendor_level = account_get(kind=AccountKind.UPSTREAM_PREPAID, currency="CNY", vendor=model.vendor)
    assert vendor_level.balance == money("-15.00")
    s_row = UsageEvent.objects.get(request_id="n3", hop=0)

    mapped = channel_map(upstream_account="New-Key", channel=azure, user=finance)

    assert mapped.events == 3
    assert mapped.moved_off == {"CNY": money("15")}
    assert mapped.moved_on == {"USD": money("1.5")}
    assert ChannelAlias.objects.filter(channel=azure, alias="New-Key").exists()
    # the cost moved off the vendor's account and its cost of tokens, onto the channel and Azure's
    vendor_level.refresh_from_db()
    assert vendor_level.balance == 0
    assert cost_of_tokens(model.vendor, "CNY") == 0
    assert cost_of_tokens(azure.contract.vendor, "USD") == money("2.00")  # m1's 0.50 and the three moved
    assert channel_account(azure, AccountKind.UPSTREAM_PREPAID).balance == money("-2.00")
    # the events: the operator's rows at the channel's price, recorded as re-rated by the run
    moved = UsageEvent.objects.filter(request_id__in=["n1", "n2", "n3"], customer__seller__isnull=True)
    assert sorted((r.request_id, r.hop, r.cost_amount, r.cost_currency, r.rated_in_id) for r in moved) == [
        ("n1", 0, money("0.5"), "USD", mapped.batch.pk),
        ("n2", 0, money("0.5"), "USD", mapped.batch.pk),
        ("n3", 1, money("0.5"), "USD", mapped.batch.pk),
    ]
    assert moved.get(request_id="n3").customer_id == s.pk
    # S's end customer's row costs S's wholesale price: unchanged
    s_row_now = UsageEvent.objects.get(request_id="n3", hop=0)
    assert (s_row_now.cost_amount, s_row_now.cost_currency, s_row_now.rated_in_id) == (
        s_row.cost_amount,
        s_row.cost_currency,
        s_row.rated_in_id,
    )
    # the rollups moved with them: no CNY cost left on the account for the operator's rows
    for rollup in (UsageHourly, UsageDaily):
        operator = rollup.objects.filter(upstream_account__iexact="new-key", customer__seller__isnull=True)
        assert sorted(operator.values_list("cost_currency", flat=True).distinct()) == ["USD"]
        totals = operator.aggregate(
            cost=Sum("cost_amount"), requests=Sum("requests"), sell=Sum("sell_amount")
        )
        # the sales stay: 10 + 10 to the customer, 6 to S at wholesale
        assert totals == {"cost": money("1.5"), "requests": 3, "sell": money("26")}
    assert unmapped_channels() == []
    assert mapped.batch.fmt == "channel_map" and mapped.batch.response["by"] == finance.pk
    verified()


def test_mapping_again_is_refused_and_posts_nothing(seen, channels, finance):
    channel_map(upstream_account="new-key", channel=channels["az-usd"], user=finance)
    posted = JournalTransaction.objects.count()

    with pytest.raises(ValidationError) as refused:
        channel_map(upstream_account="NEW-KEY", channel=channels["az-usd"], user=finance)

    assert "already names channel az-usd" in refused.value.message_dict["upstream_account"][0]
    assert JournalTransaction.objects.count() == posted
    assert UsageBatch.objects.filter(fmt="channel_map").count() == 1


def test_mapped_cost_equals_what_a_new_event_on_the_channel_costs(source, seen, channels, finance):
    """Mapping rates at the same price an event ingested on the channel afterwards gets: on a postpaid
    contract, owed on the channel's accrued account."""
    listed = channels["rs-list"]
    channel_map(upstream_account="new-key", channel=listed, user=finance)
    usage_batch_ingest(source=source, records=[use("after", "new-key")])

    costs = set(
        UsageEvent.objects.filter(
            upstream_account__iexact="new-key", customer__seller__isnull=True
        ).values_list("cost_amount", "cost_currency")
    )
    assert costs == {(money("12"), "CNY")}
    assert channel_account(listed, AccountKind.UPSTREAM_ACCRUED).balance == money("-48.00")
    assert cost_of_tokens(listed.contract.vendor, "CNY") == money("48.00")
    verified()


def test_mapping_refuses_what_it_cannot_do(seen, channels, finance):
    for account, channel, field in (
        ("", channels["az-usd"], "upstream_account"),
        ("rs-list", channels["az-usd"], "upstream_account"),  # another channel's name
        ("AZ-USD", channels["az-usd"], "upstream_account"),  # names the channel already
    ):
        with pytest.raises(ValidationError) as refused:
            channel_map(upstream_account=account, channel=channel, user=finance)
        assert field in refused.value.message_dict
    assert not UsageBatch.objects.filter(fmt="channel_map").exists()


def test_mapping_an_account_without_usage_only_adds_the_alias(channels, finance):
    mapped = channel_map(upstream_account="fresh", channel=channels["az-usd"], user=finance)
    assert (mapped.events, mapped.moved_off, mapped.moved_on) == (0, {}, {})
    assert ChannelAlias.objects.filter(alias="fresh").exists()
    assert not JournalTransaction.objects.exists()
