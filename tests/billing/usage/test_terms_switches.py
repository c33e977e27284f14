"""Usage is charged under the terms in force when it happened, whenever it arrives (the audit's switch
stories, with its figures): credit-time usage accrues to unbilled, prepaid-time usage is debited from the
wallet, on the per-batch path, the bulk path and re-rating alike — every event charged exactly once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.services import billing_terms_update, customer_onboard
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import GatewayKey, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
SWITCH = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
BACK = datetime(2026, 11, 20, tzinfo=UTC)
# Sell 2 per million prompt tokens, 8 per million completion tokens (tests.billing.usage.factories).
SIZE_6_48 = {"prompt": 1_000_000, "completion": 560_000}  # 2.00 + 4.48
SIZE_9_59 = {"prompt": 1_000_000, "completion": 948_750}  # 2.00 + 7.59
SIZE_0_1296 = {"prompt": 20_000, "completion": 11_200}  # 0.04 + 0.0896


def onboard(code: str, mode: str):
    customer = customer_onboard(
        name=code,
        code=code,
        kind="end_customer",
        parent=None,
        language="en",
        contact_email="",
        mode=mode,
        currency="CNY",
        terms_from=NOV_1,
    )
    GatewayKey.objects.create(key=f"key-{code}", customer=customer)
    return customer


def switch(customer, mode: str, at: datetime) -> None:
    with mock.patch("billing.terms.services.timezone.now", return_value=at):
        billing_terms_update(customer=customer, values={"mode": mode})


def events(customer, prefix: str, times: list[datetime], size: dict) -> list[dict]:
    return [event(f"{prefix}{i}", key=f"key-{customer.code}", at=at, **size) for i, at in enumerate(times)]


def unbilled(customer) -> Decimal:
    return account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance


def wallet(customer) -> Decimal:
    return wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY")).available


def revenue() -> Decimal:
    return -account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY").balance


def ingest_api(source, records, key):
    return usage_batch_ingest(source=source, records=records, idempotency_key=key)


def ingest_bulk(source, records, key):
    return bulk_ingest(source=source, records=records, key_prefix=key)


PATHS = pytest.mark.parametrize("ingest", [ingest_api, ingest_bulk], ids=["per-batch", "bulk"])


@PATHS
def test_leaving_credit_late_credit_time_usage_accrues_and_never_touches_the_wallet(source, model, ingest):
    customer = onboard("leaver", "monthly")
    top_up(customer, Decimal("100"))
    switch(customer, "prepaid", SWITCH)

    # 32.40 of usage from before the switch (the last at 12:29:59), delivered after it
    times = [SWITCH - timedelta(hours=h) for h in (30, 20, 10, 1)] + [SWITCH - timedelta(seconds=1)]
    ingest(source, events(customer, "late", times, SIZE_6_48), "b1")

    assert unbilled(customer) == Decimal("32.40")
    assert wallet(customer) == Decimal("100")  # charged once: not the wallet too (the audit: both)
    assert revenue() == Decimal("32.40")
    assert not JournalTransaction.objects.filter(kind="usage.prepaid").exists()


@PATHS
def test_joining_credit_late_prepaid_time_usage_is_debited_from_the_wallet(source, model, ingest):
    customer = onboard("joiner", "prepaid")
    top_up(customer, Decimal("100"))
    switch(customer, "monthly", SWITCH)

    # 28.77 of prepaid-time usage delivered after the switch (the audit: never charged)
    times = [SWITCH - timedelta(days=2), SWITCH - timedelta(hours=5), SWITCH - timedelta(minutes=1)]
    ingest(source, events(customer, "late", times, SIZE_9_59), "b1")

    assert wallet(customer) == Decimal("100") - Decimal("28.77")
    assert unbilled(customer) == 0
    assert revenue() == Decimal("28.77")


@PATHS
def test_credit_prepaid_credit_every_event_is_charged_once_under_its_own_terms(source, model, ingest):
    customer = onboard("roundtrip", "monthly")
    top_up(customer, Decimal("100"))
    switch(customer, "prepaid", SWITCH)

    # during the prepaid span: 38.88 of credit-time usage arrives (six events, one at 12:15 of the
    # switch day), and some of the prepaid span's own, 12.96, with one event at the switch instant itself
    credit_time = [SWITCH - timedelta(days=d) for d in (5, 4, 3, 2, 1)] + [SWITCH - timedelta(minutes=15)]
    prepaid_time = [SWITCH, SWITCH + timedelta(days=1)]
    ingest(
        source,
        events(customer, "c", credit_time, SIZE_6_48) + events(customer, "p", prepaid_time, SIZE_6_48),
        "b1",
    )
    assert unbilled(customer) == Decimal("38.88")  # the audit: taken from the wallet
    assert wallet(customer) == Decimal("100") - Decimal("12.96")

    switch(customer, "monthly", BACK)
    # after the return: 25.92 of prepaid-time usage (the last a second before the return), then usage
    # of the new credit span (from the return instant on)
    late_prepaid = [BACK - timedelta(days=d) for d in (6, 4, 2)] + [BACK - timedelta(seconds=1)]
    ingest(
        source,
        events(customer, "q", late_prepaid, SIZE_6_48) + events(customer, "r", [BACK], SIZE_6_48),
        "b2",
    )

    assert wallet(customer) == Decimal("100") - Decimal("12.96") - Decimal(
        "25.92"
    )  # the audit: never charged
    assert unbilled(customer) == Decimal("38.88") + Decimal("6.48")
    total = sum(UsageEvent.objects.values_list("sell_amount", flat=True))
    assert total == Decimal("84.24")
    assert revenue() == total  # every event once: what unbilled and the wallet took adds up to the sale
    assert unbilled(customer) + (Decimal("100") - wallet(customer)) == total


def test_a_batch_across_a_switch_keeps_its_idempotency_keys(source, model):
    customer = onboard("keys", "monthly")
    top_up(customer, Decimal("100"))
    switch(customer, "prepaid", SWITCH)

    result = ingest_api(
        source,
        events(customer, "x", [SWITCH - timedelta(hours=1), SWITCH + timedelta(hours=1)], SIZE_6_48),
        "b1",
    )

    keys = set(
        JournalTransaction.objects.filter(kind__startswith="usage").values_list("idempotency_key", "kind")
    )
    batch, cid = result.batch_id, customer.pk
    assert keys == {
        (f"usage:b{batch}:c{cid}", "usage.accrual"),
        (f"usage:b{batch}:c{cid}:CNY", "usage.prepaid"),
    }
    replay = ingest_api(
        source,
        events(customer, "x", [SWITCH - timedelta(hours=1), SWITCH + timedelta(hours=1)], SIZE_6_48),
        "b1",
    )
    assert replay.replayed
    assert (unbilled(customer), wallet(customer)) == (Decimal("6.48"), Decimal("93.52"))


@pytest.mark.parametrize(
    ("first", "then", "accrued", "debited"),
    [("monthly", "prepaid", "64.80", "0"), ("prepaid", "monthly", "0", "64.80")],
)
def test_usage_before_onboarding_is_charged_under_the_first_terms_when_re_rated(
    source, model, first, then, accrued, debited
):
    # 500 requests arrive under a key nobody has mapped yet: kept unrated
    before = [NOV_1 - timedelta(days=3) + timedelta(minutes=i) for i in range(500)]
    records = [event(f"u{i}", key="key-newco", at=at, **SIZE_0_1296) for i, at in enumerate(before)]
    assert ingest_api(source, records, "early").unrated == 500

    # the customer is onboarded from 1 Nov and has switched terms since; its key is mapped, the traffic
    # re-rated: it predates the first span, so the first terms charge it (not the current ones)
    customer = onboard("newco", first)
    top_up(customer, Decimal("100"))
    switch(customer, then, SWITCH)
    assert usage_rerate().accepted == 500

    assert unbilled(customer) == Decimal(accrued)
    assert Decimal("100") - wallet(customer) == Decimal(debited)
    assert revenue() == Decimal("64.80")
