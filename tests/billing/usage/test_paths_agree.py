"""The per-batch path and the bulk path charge one mixed input alike: the same stored rows, rollups, journal
entries and allowance draws.

Two twin worlds, one per path, each with its own customers (so allowances, wallets and unbilled receivables
are drawn and posted independently): a prepaid customer holding a token pack, a prepaid one with a
subscription whose overage is priced by another plan, a prepaid one with nothing, and a credit customer.
The input mixes every outcome: rated (cache, reasoning and batch tokens, an alias; half on an upstream
account mapped to a channel of a USD contract, half on one no channel names), failed requests,
unknown keys and models (unrated), repeats inside the input and of an earlier batch (duplicates), bad rows.
"""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.allowances.models import AllowanceDraw
from billing.ledger.accounts import channel_reference
from billing.ledger.models import JournalEntry
from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import GatewayKey, RatingState, UsageBatch, UsageDaily, UsageEvent, UsageHourly
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.services.contracts import channel_alias_add
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, alias_add, customer_make, event, markup_plan, source_make
from tests.billing.usage.test_allowances import pack_buy, subscribe
from tests.billing.usage.test_channel_cost import channels_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROLES = ("pack", "sub", "plain", "credit")
EVENT_COLUMNS = (
    "request_id", "occurred_at", "gateway_key", "customer_id", "model_name", "model_id", "upstream_account",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "is_batch", "succeeded", "gateway_cost", "gateway_cost_currency", "metadata",
    "rating_state", "unrated_reason", "sell_plan", "sell_amount", "sell_currency", "cost_amount",
    "cost_currency",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "customer_id", "model_id", "upstream_account", "sell_currency", "cost_currency", "requests",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "sell_amount", "cost_amount",
)  # fmt: skip


def world(prefix: str, overage) -> dict:
    """The four customers of one path, by role; their gateway keys are ``<prefix>-<role>``."""
    customers = {role: customer_make(key=f"{prefix}-{role}") for role in ROLES[:3]}
    customers["credit"] = customer_make(key=f"{prefix}-credit", mode=BillingTerms.Mode.MONTHLY)
    for role in ROLES[:3]:
        top_up(customers[role], Decimal("100"))
    # An offboarded key of the pack's customer, disabled: usage naming it before a mapped key is unrated.
    GatewayKey.objects.create(key=f"{prefix}-gone", customer=customers["pack"], is_active=False)
    pack_buy(customers["pack"], 9000, purchased_at=AT + timedelta(minutes=15))
    subscribe(customers["sub"], 4000, overage_plan=overage, starts_on=date(2026, 5, 1))
    return customers


def records(prefix: str) -> list:
    """The mixed input, its keys those of world ``prefix``."""
    rows = []
    for i in range(24):
        role = ROLES[i % 4]
        at = AT + timedelta(minutes=5 * i)
        extra = {}
        if i % 3 == 0:
            extra = {"cache_read_tokens": 200, "cache_write_tokens": 100, "cache_write_1h_tokens": 50}
        if i % 5 == 0:
            extra["reasoning_tokens"] = 120
        rows.append(
            event(
                f"e{i}",
                key=f"{prefix}-{role}",
                at=at,
                prompt=1000 + 37 * i,
                completion=500 + 11 * i,
                batch=i % 7 == 0,
                model="ds" if i % 6 == 5 else "deepseek-chat",  # an alias now and then
                upstream_account=f"up-{i % 2}",
                **extra,
            )
        )
    rows += [
        event("failed", key=f"{prefix}-plain", status="failed"),
        event("nokey", key="nobody"),
        event("nomodel", key=f"{prefix}-credit", model="gpt-nothing"),
        event("nomodel-prepaid", key=f"{prefix}-pack", model="gpt-nothing", at=AT + timedelta(hours=2)),
        event("e3", key=f"{prefix}-sub"),  # a repeat inside the input
        event("old", key=f"{prefix}-plain"),  # charged by an earlier batch
        event("bad-cache", key=f"{prefix}-plain", prompt=10, cache_read_tokens=11),
        {"request_id": "naive", "occurred_at": "2026-05-04T10:30:00", "key": f"{prefix}-plain", "model": "x"},
        # Key candidates: the customer of the first one mapped (stored as the key), on the fast and the
        # slow check (text beyond ASCII); none mapped is unrated naming them all; a bad list is a bad row.
        event("fb-alias", key=f"{prefix}-hash", key_fallbacks=[f"{prefix}-credit", f"{prefix}-plain"]),
        event("fb-slow", key=f"{prefix}-hash", key_fallbacks=["ünmapped", f"{prefix}-plain"]),
        event("fb-none", key="no-hash", key_fallbacks=["no-alias", "no-team"]),
        event("fb-bad", key=f"{prefix}-plain", key_fallbacks=f"{prefix}-credit"),
        # A disabled candidate ends the lookup: the mapped one after it is not tried.
        event("fb-disabled", key="no-hash", key_fallbacks=[f"{prefix}-gone", f"{prefix}-plain"]),
    ]
    return rows


def role_of(customers: dict) -> dict:
    return {c.pk: role for role, c in customers.items()}


def stored_events(source, roles: dict, prefix: str) -> dict:
    """The source's events by request id, column by column; customers and keys as roles."""
    out = {}
    for row in UsageEvent.objects.filter(source=source).values(*EVENT_COLUMNS):
        row["customer_id"] = roles.get(row["customer_id"], row["customer_id"])
        row["gateway_key"] = row["gateway_key"].removeprefix(f"{prefix}-")
        row["unrated_reason"] = row["unrated_reason"].replace(f"'{prefix}-", "'")
        if "key_fallbacks" in row["metadata"]:
            kept = row["metadata"]["key_fallbacks"]
            row["metadata"]["key_fallbacks"] = [k.removeprefix(f"{prefix}-") for k in kept]
        out[row["request_id"]] = row
    return out


def rollups(model, roles: dict) -> Counter:
    bucket = "hour" if model is UsageHourly else "day"
    rows = model.objects.filter(customer_id__in=roles).values_list(bucket, *ROLLUP_COLUMNS)
    return Counter((r[0], roles[r[1]], *r[2:]) for r in rows)


def entries(source, roles: dict) -> Counter:
    """The journal entries of the source's batches: (transaction kind, account kind, currency, the
    account's customer as a role, its vendor, its reference, amount)."""
    batches = [
        f"usage_batch:{pk}" for pk in UsageBatch.objects.filter(source=source).values_list("pk", flat=True)
    ]
    rows = JournalEntry.objects.filter(transaction__source__in=batches).values_list(
        "transaction__kind",
        "account__kind",
        "account__currency",
        "account__customer_id",
        "account__vendor_id",
        "account__reference",
        "amount",
    )
    return Counter(
        (kind, account, ccy, roles.get(cid), vendor, reference, amount)
        for kind, account, ccy, cid, vendor, reference, amount in rows
    )


def draws(roles: dict) -> Counter:
    rows = AllowanceDraw.objects.filter(allowance__customer_id__in=roles).values_list(
        "allowance__customer_id", "tokens"
    )
    return Counter((roles[cid], tokens) for cid, tokens in rows)


@pytest.mark.parametrize("chunk", [1000, 7], ids=["one-chunk", "chunks-of-7"])
def test_per_batch_and_bulk_paths_store_roll_up_and_post_the_same(monkeypatch, model, chunk):
    monkeypatch.setattr("billing.usage.bulk.producer.SLICE", 3)
    alias_add(model, "ds")
    channel = channels_make(model)["az-usd"]
    channel_alias_add(channel=channel, alias="up-0")
    overage = markup_plan("overage", "1.5")
    ref, bulk = world("ref", overage), world("blk", overage)
    ref_source, bulk_source = source_make("ref")[0], source_make("blk")[0]
    usage_batch_ingest(source=ref_source, records=[event("old", key="ref-plain")], idempotency_key="before")
    bulk_ingest(source=bulk_source, records=[event("old", key="blk-plain")], key_prefix="before")

    reference = usage_batch_ingest(source=ref_source, records=records("ref"), idempotency_key="mixed")
    result = bulk_ingest(source=bulk_source, records=records("blk"), key_prefix="mixed", chunk=chunk)

    counts = (result.accepted, result.duplicates, result.rejected, result.unrated)
    assert counts == (reference.accepted, reference.duplicates, reference.rejected, reference.unrated)
    assert counts == (32, 2, 3, 5)
    key = lambda e: (e["index"], e["field"])  # noqa: E731
    assert sorted(result.errors, key=key) == sorted(reference.errors, key=key)

    ref_roles, bulk_roles = role_of(ref), role_of(bulk)
    expected, got = stored_events(ref_source, ref_roles, "ref"), stored_events(bulk_source, bulk_roles, "blk")
    assert set(got) == set(expected)
    for request_id, row in expected.items():
        assert got[request_id] == row, request_id
    states = Counter(row["rating_state"] for row in got.values())
    assert states == {RatingState.RATED: 27, RatingState.UNRATED: 5, RatingState.NOT_CHARGED: 1}  # "old" too
    fallbacks = ("fb-alias", "fb-slow", "fb-none", "fb-disabled")
    assert [(got[r]["gateway_key"], got[r]["customer_id"]) for r in fallbacks] == [
        ("credit", "credit"),
        ("plain", "plain"),
        ("no-hash", None),
        ("no-hash", None),
    ]
    assert got["fb-disabled"]["unrated_reason"] == "unknown_key: the gateway key 'gone' is disabled"
    assert got["fb-slow"]["metadata"] == {"key_fallbacks": ["ünmapped", "plain"]}  # kept for re-rating
    assert got["fb-none"]["unrated_reason"] == (
        "unknown_key: no customer has any of the keys 'no-hash', 'no-alias', 'no-team' (tried in this order)"
    )
    assert {r["unrated_reason"].split(":")[0] for r in got.values() if r["unrated_reason"]} == {
        "unknown_key",
        "unknown_model",
    }
    covered = [r for r in got.values() if r["sell_amount"] == 0]
    overage = [r for r in got.values() if r["sell_plan"] == "overage"]
    assert covered and overage  # the pack covered some events whole, the overage plan priced others

    for rollup in (UsageHourly, UsageDaily):
        assert rollups(rollup, bulk_roles) == rollups(rollup, ref_roles)
    if chunk == 1000:  # one batch each: the same allowance draws and journal entries, one for one
        assert draws(bulk_roles) == draws(ref_roles) != Counter()
        assert entries(bulk_source, bulk_roles) == entries(ref_source, ref_roles)
    else:  # a draw and a posting per chunk: the same tokens per customer, the same sums per account

        def summed(found: Counter, key) -> Counter:
            total: Counter = Counter()
            for (*what, amount), n in found.items():
                total[key(what)] += amount * n
            return total

        assert summed(draws(bulk_roles), tuple) == summed(draws(ref_roles), tuple) != Counter()
        by_account = lambda what: tuple(what[1:])  # noqa: E731 (the transaction kind aside)
        assert summed(entries(bulk_source, bulk_roles), by_account) == summed(
            entries(ref_source, ref_roles), by_account
        )
    kinds = {account for _k, account, *_ in entries(bulk_source, bulk_roles)}
    assert {"wallet_paid", "unbilled_receivable", "revenue_usage", "cost_of_tokens"} <= kinds
    owed = {(account, ccy, ref) for _k, account, ccy, _c, _v, ref, _a in entries(bulk_source, bulk_roles)}
    assert {
        ("upstream_prepaid", "USD", channel_reference(channel.pk)),
        ("upstream_prepaid", "CNY", ""),
    } <= owed
    assert {
        r["cost_currency"] for r in got.values() if r["upstream_account"] == "up-0" and r["cost_amount"]
    } == {"USD"}
    for role in ROLES[:3]:
        balances = [
            wallet_balance(wallet=Wallet.objects.get(customer=w[role])).available for w in (ref, bulk)
        ]
        assert balances[0] == balances[1] < Decimal("100")

    # Re-rating decides as ingest did: every unrated event stays so, for the same reason, on both paths.
    assert usage_rerate().unrated == 10
    assert stored_events(ref_source, ref_roles, "ref") == expected
    assert stored_events(bulk_source, bulk_roles, "blk") == got
