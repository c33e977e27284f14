"""The core money path: ingest → dedupe → rate → store → roll up → post."""

import hashlib
import json
from decimal import Decimal
from unittest import mock

import pytest
from django.db.models import Sum

from accounts.models import Customer
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.usage.models import RatingState, UsageBatch, UsageDaily, UsageEvent, UsageHourly
from billing.usage.services import BatchConflict, usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event, markup_plan, plan_assign
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db

# 1000 prompt × 2/M + 500 completion × 8/M = 0.002 + 0.004 sell; cost 0.001 + 0.002
SELL = Decimal("0.006")
COST = Decimal("0.003")


def balance(customer):
    return wallet_balance(wallet=Wallet.objects.get(customer=customer, currency="CNY")).available


def test_batch_is_rated_stored_and_debited(source, prepaid):
    top_up(prepaid, Decimal("10"))

    result = usage_batch_ingest(source=source, records=[event("r1"), event("r2")], idempotency_key="b1")

    assert (result.accepted, result.duplicates, result.rejected, result.unrated) == (2, 0, 0, 0)
    rows = UsageEvent.objects.order_by("request_id")
    assert [r.sell_amount for r in rows] == [SELL, SELL]
    assert [r.cost_amount for r in rows] == [COST, COST]
    assert {r.rating_state for r in rows} == {RatingState.RATED}
    assert balance(prepaid) == Decimal("10") - 2 * SELL
    revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY")
    assert revenue.balance == -2 * SELL
    cost = account_get(kind=AccountKind.COST_OF_TOKENS, currency="CNY", vendor=rows[0].model.vendor)
    assert cost.balance == 2 * COST


def test_wallet_balance_is_top_ups_minus_rated_usage(source, prepaid):
    top_up(prepaid, Decimal("5"), key="t1")
    top_up(prepaid, Decimal("3"), key="t2")
    for n in range(3):
        usage_batch_ingest(
            source=source,
            records=[event(f"b{n}-{i}", prompt=1000 * (i + 1)) for i in range(4)],
            idempotency_key=f"b{n}",
        )

    rated = UsageEvent.objects.aggregate(total=Sum("sell_amount"))["total"]
    assert balance(prepaid) == Decimal("8") - rated
    # One journal transaction per batch × customer — sale and cost together — not one per request.
    assert JournalTransaction.objects.filter(kind="usage.prepaid").count() == 3
    assert not JournalTransaction.objects.filter(kind="usage.cost").exists()


def test_prepaid_sale_and_cost_are_one_transaction_posted_once(source, prepaid):
    top_up(prepaid, Decimal("10"))
    records = [event("r1"), event("r2")]

    usage_batch_ingest(source=source, records=records, idempotency_key="once")
    replay = usage_batch_ingest(source=source, records=records, idempotency_key="once")

    assert replay.replayed
    (txn,) = JournalTransaction.objects.filter(kind__startswith="usage")
    by_kind = {e.account.kind: e.amount for e in txn.entries.select_related("account")}
    assert by_kind[AccountKind.REVENUE_USAGE] == -2 * SELL
    assert by_kind[AccountKind.COST_OF_TOKENS] == 2 * COST
    assert by_kind[AccountKind.UPSTREAM_PREPAID] == -2 * COST
    assert by_kind[AccountKind.WALLET_PAID] == 2 * SELL
    assert balance(prepaid) == Decimal("10") - 2 * SELL


def test_duplicates_never_double_charge(source, prepaid):
    top_up(prepaid, Decimal("10"))
    usage_batch_ingest(source=source, records=[event("r1"), event("r2")], idempotency_key="first")

    again = usage_batch_ingest(
        source=source, records=[event("r2"), event("r3"), event("r3")], idempotency_key="second"
    )

    assert (again.accepted, again.duplicates) == (1, 2)
    assert UsageEvent.objects.count() == 3
    assert balance(prepaid) == Decimal("10") - 3 * SELL


def test_replayed_batch_key_returns_first_answer_and_conflicting_body_is_refused(source, prepaid):
    records = [event("r1"), {"request_id": "bad"}]
    first = usage_batch_ingest(source=source, records=records, idempotency_key="k")

    replay = usage_batch_ingest(source=source, records=records, idempotency_key="k")

    assert replay.replayed and replay.as_dict() == first.as_dict()
    assert UsageBatch.objects.count() == 1
    with pytest.raises(BatchConflict, match="different batch"):
        usage_batch_ingest(source=source, records=[event("r9")], idempotency_key="k")


def test_partly_bad_batch_keeps_good_rows_and_reports_each_bad_one(source, prepaid):
    records = [
        event("ok-1"),
        event("neg", prompt=-5),
        {"request_id": "no-time", "key": "key-a", "model": "deepseek-chat"},
        event("ok-2"),
        event("cache", prompt=10, cache_read_tokens=50),
        "not an object",
    ]

    result = usage_batch_ingest(source=source, records=records, idempotency_key="mixed")

    assert (result.accepted, result.rejected) == (2, 4)
    assert {(e["index"], e["field"]) for e in result.errors} == {
        (1, "prompt_tokens"),
        (2, "occurred_at"),
        (4, "cache_read_tokens"),
        (5, "non_field_errors"),
    }
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"ok-1", "ok-2"}


def test_killed_mid_batch_leaves_nothing_and_redelivery_completes_once(source, prepaid):
    top_up(prepaid, Decimal("10"))
    records = [event("r1"), event("r2")]

    with (
        mock.patch("billing.usage.services.sums_post", side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        usage_batch_ingest(source=source, records=records, idempotency_key="crash")

    assert UsageEvent.objects.count() == 0
    assert UsageBatch.objects.count() == 0
    assert UsageHourly.objects.count() == 0
    assert not JournalTransaction.objects.filter(kind__startswith="usage").exists()

    result = usage_batch_ingest(source=source, records=records, idempotency_key="crash")
    replay = usage_batch_ingest(source=source, records=records, idempotency_key="crash")

    assert result.accepted == 2 and replay.replayed
    assert balance(prepaid) == Decimal("10") - 2 * SELL
    assert JournalTransaction.objects.filter(kind="usage.prepaid").count() == 1


def test_rollups_equal_sums_of_raw_events(source, model):
    customer_make(key="key-a")
    customer_make(key="key-b")
    records = [
        event(
            f"r{i}",
            key="key-a" if i % 2 else "key-b",
            prompt=100 * i + 10,
            completion=7 * i,
            cache_read_tokens=i,
        )
        for i in range(30)
    ]
    records += [event("late", at=event_time(hours=30))]
    usage_batch_ingest(source=source, records=records[:15], idempotency_key="a")
    usage_batch_ingest(source=source, records=records[15:], idempotency_key="b")

    fields = ["prompt_tokens", "cache_read_tokens", "completion_tokens", "sell_amount", "cost_amount"]
    raw = UsageEvent.objects.filter(rating_state=RatingState.RATED)
    for rollup in (UsageHourly, UsageDaily):
        per_customer = {
            c: rollup.objects.filter(customer_id=c).aggregate(
                **{f: Sum(f) for f in fields}, requests=Sum("requests")
            )
            for c in raw.values_list("customer_id", flat=True).distinct()
        }
        for customer_id, sums in per_customer.items():
            expected = raw.filter(customer_id=customer_id).aggregate(**{f: Sum(f) for f in fields})
            expected["requests"] = raw.filter(customer_id=customer_id).count()
            assert sums == expected
    assert UsageDaily.objects.values("day").distinct().count() == 2


def event_time(hours: int):
    from datetime import timedelta

    from tests.billing.usage.factories import AT

    return AT + timedelta(hours=hours)


def test_credit_terms_customer_accrues_unbilled_in_one_transaction(source, model):
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY, credit_limit=Decimal("1000"))

    usage_batch_ingest(source=source, records=[event("r1", key="key-c"), event("r2", key="key-c")])

    unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer)
    assert unbilled.balance == 2 * SELL
    txn = JournalTransaction.objects.get(kind="usage.accrual")
    assert txn.entries.count() == 4  # Dr unbilled / Cr revenue / Dr cost / Cr upstream
    assert not Wallet.objects.filter(customer=customer).exists()


def test_failed_requests_are_stored_but_not_charged(source, prepaid):
    top_up(prepaid, Decimal("1"))

    usage_batch_ingest(source=source, records=[event("ok"), event("boom", status="failed")])

    failed = UsageEvent.objects.get(request_id="boom")
    assert failed.rating_state == RatingState.NOT_CHARGED and failed.sell_amount is None
    assert balance(prepaid) == Decimal("1") - SELL


def test_sub_distributor_wholesale_plan_prices_its_end_customers(source, model):
    # Direct mode: the sub-distributor only groups its customers, which the operator prices and bills.
    reseller = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    BillingTerms.objects.create(customer=reseller, mode=BillingTerms.Mode.PREPAID, currency="CNY")
    plan_assign(reseller, markup_plan("wholesale", "0.1"))
    end = customer_make(key="key-end", parent=reseller, mode=BillingTerms.Mode.MONTHLY)

    usage_batch_ingest(source=source, records=[event("r1", key="key-end")])

    row = UsageEvent.objects.get()
    assert row.customer_id == end.pk and row.sell_plan == "wholesale"
    assert row.sell_amount == COST * Decimal("1.1")


def test_unknown_key_and_model_are_kept_unrated_with_reason(source, prepaid):
    result = usage_batch_ingest(
        source=source, records=[event("r1", key="nobody"), event("r2", model="gpt-9"), event("r3")]
    )

    assert (result.accepted, result.unrated) == (3, 2)
    reasons = dict(UsageEvent.objects.values_list("request_id", "unrated_reason"))
    assert reasons["r1"].startswith("unknown_key") and reasons["r2"].startswith("unknown_model")
    assert UsageHourly.objects.aggregate(n=Sum("requests"))["n"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_cache_failing_after_the_batch_committed_does_not_fail_the_batch(source, prepaid, monkeypatch):
    """The gateway status refresh runs after the commit: Redis failing there is logged, and the batch,
    stored and charged, is answered as accepted (not an error a gateway would retry)."""

    def unreachable(customer_ids):
        raise ConnectionError("redis gone")

    monkeypatch.setattr("billing.usage.charging.after_commit", unreachable)
    top_up(prepaid, Decimal("100"))

    result = usage_batch_ingest(source=source, records=[event("r1")], idempotency_key="k")

    assert result.accepted == 1 and UsageEvent.objects.count() == 1
    assert balance(prepaid) < Decimal("100")


def test_a_number_and_a_string_of_the_same_digits_are_different_bodies_under_one_key(source, prepaid):
    number = [event("r1", gateway_cost=Decimal("1.5"), gateway_cost_currency="USD")]
    text = [event("r1", gateway_cost="1.5", gateway_cost_currency="USD")]
    first = usage_batch_ingest(source=source, records=number, idempotency_key="k")

    assert usage_batch_ingest(source=source, records=number, idempotency_key="k").as_dict() == first.as_dict()
    with pytest.raises(BatchConflict, match="different batch"):
        usage_batch_ingest(source=source, records=text, idempotency_key="k")
    usage_batch_ingest(source=source, records=text, idempotency_key="k2")
    with pytest.raises(BatchConflict, match="different batch"):
        usage_batch_ingest(source=source, records=number, idempotency_key="k2")


def legacy_hash(records: list) -> str:
    return hashlib.sha256(
        json.dumps(records, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def test_a_batch_hashed_before_decimals_were_tagged_still_replays(source, prepaid):
    """Batches stored earlier hold the old hash (json.dumps with default=str, lower-case hex): a retry of
    such a batch is still its replay, with or without a key; another body under its key is still refused."""
    records = [event("r1", gateway_cost=Decimal("1.5"), gateway_cost_currency="USD")]
    first = usage_batch_ingest(source=source, records=records, idempotency_key="old")
    UsageBatch.objects.filter(idempotency_key="old").update(request_hash=legacy_hash(records))

    replay = usage_batch_ingest(source=source, records=records, idempotency_key="old")

    assert replay.replayed and replay.as_dict() == first.as_dict()
    with pytest.raises(BatchConflict, match="different batch"):
        usage_batch_ingest(source=source, records=[event("r9")], idempotency_key="old")
    keyless = [event("r2")]
    first = usage_batch_ingest(source=source, records=keyless)
    UsageBatch.objects.filter(pk=first.batch_id).update(request_hash=legacy_hash(keyless))
    assert usage_batch_ingest(source=source, records=keyless).replayed
    assert UsageEvent.objects.count() == 2
