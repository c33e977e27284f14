"""How a usage correction's prepaid-time difference reaches the wallet (``corrections.usage_correct``).

The difference is summed per currency and segment of the customer's timeline (``timeline``: within a
segment the same wallet lots are valid), like a usage batch's sale:

* segments where the usage cost more: one wallet debit with ``parts`` by the events' times, so it draws
  the lots valid when the usage happened (``wallets.burn_down.lots_burn_down_by_time``), then paid credit;
* segments where it cost less: the difference goes back to where the charges came from. The charges are
  the wallet debits of the events' usage batches (the run that stored them and the one that rated them)
  and of the customer's earlier corrections over the same time, net of what those corrections gave back;
  the lot uses and bucket lines of those transactions say what each lot and bucket gave. Newest charge
  first, lots before paid credit: each lot takes back at most what the charges took from it, each bucket
  at most what they took from it, and paid credit — refundable to a bank or card — only what the lots
  cannot take, never more than the charges took from it.

A lot that breakage has closed since is never reopened (breakage is final): its share comes back as a new
lot of its bucket expiring at once, which goes straight to breakage — had the usage been priced right, that
credit would have lapsed with the lot, so the customer gets no new spendable credit and certainly no paid
credit. A lot past its expiry but not yet broken is restored, and breakage takes it as it would have. What
no charge found can hold (ledger rounding, at most a few units of the 12th place, or charges reversed
since) comes back as granted credit without expiry: spendable, never refundable.

Every posting is ``usage.prepaid`` with the correction run's source, so ``billing_verify`` adds them up with
the batches' debits; every key is under the correction's, so a rerun posts nothing.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Max, Q, Sum
from django.utils import timezone

from accounts.models import Customer
from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.money import ledger_round
from billing.usage.models import UsageCorrection, UsageEvent
from billing.usage.timeline import timeline_load
from billing.wallets.credits import wallet_credit, wallet_credit_back
from billing.wallets.debits_many import WalletDebit, wallet_debits_many
from billing.wallets.expiry import wallet_lot_expire
from billing.wallets.models import Bucket, WalletLot, WalletLotUse

BUCKET_OF_KIND = {
    AccountKind.WALLET_PAID: Bucket.PAID,
    AccountKind.WALLET_GRANTED: Bucket.GRANTED,
    AccountKind.WALLET_PACK: Bucket.PACK,
}
ZERO = Decimal(0)


def _charges(
    correction: UsageCorrection, currency: str, events: list[UsageEvent]
) -> tuple[dict[str, Decimal], list[tuple[WalletLot, Decimal]]]:
    """What the charges of ``events`` took from the customer's wallet in ``currency``, net of what was
    given back since: per bucket, and per lot with the lots the newest charges drew first."""
    customer_id = correction.customer_id
    runs = {e.batch_id for e in events} | {e.rated_in_id for e in events if e.rated_in_id}
    first, last = min(e.occurred_at for e in events), max(e.occurred_at for e in events)
    runs |= set(
        UsageCorrection.objects.filter(customer_id=customer_id, since__lte=last, until__gt=first)
        .exclude(pk=correction.pk)
        .values_list("batch_id", flat=True)
    )
    entries = JournalEntry.objects.filter(
        transaction__kind="usage.prepaid",
        transaction__source__in=[f"usage_batch:{run}" for run in runs],
        account__customer_id=customer_id,
        account__kind__in=WALLET_KINDS,
        currency=currency,
    )
    buckets = {
        BUCKET_OF_KIND[row["account__kind"]]: row["amount"]
        for row in entries.values("account__kind").annotate(amount=Sum("amount")).order_by()
    }
    uses = (
        WalletLotUse.objects.filter(transaction_id__in=entries.values("transaction_id"))
        .values("lot_id")
        .annotate(taken=Sum("amount"), newest=Max("transaction_id", filter=Q(amount__gt=0)))
        .filter(taken__gt=0)
        .order_by("-newest", "-lot_id")
    )
    lots = WalletLot.objects.in_bulk([row["lot_id"] for row in uses])
    return buckets, [(lots[row["lot_id"]], row["taken"]) for row in uses]


def _give_back_plan(
    correction: UsageCorrection, currency: str, events: list[UsageEvent], amount: Decimal
) -> tuple[list[tuple[WalletLot | None, Decimal]], Decimal]:
    """Split ``amount`` over the lots and paid credit the charges of ``events`` took it from (None: paid
    credit); return the split and what none of them can hold."""
    buckets, lots = _charges(correction, currency, events)
    room = defaultdict(Decimal, {bucket: max(taken, ZERO) for bucket, taken in buckets.items()})
    gives, left = [], amount
    for lot, taken in lots:
        # An open lot can take back no more than it has used, whatever the charges say (a reversal since).
        own = taken if lot.closed_at else min(taken, lot.amount - lot.remaining)
        give = min(left, own, room[lot.bucket])
        if give > 0:
            gives.append((lot, give))
            room[lot.bucket] -= give
            left -= give
    give = min(left, room[Bucket.PAID])
    if give > 0:
        gives.append((None, give))
        left -= give
    return gives, left


def _give_back(
    correction: UsageCorrection,
    currency: str,
    events: list[UsageEvent],
    amount: Decimal,
    revenue: LedgerAccount,
    common: dict,
) -> None:
    customer, key = correction.customer, common["idempotency_key"]
    gives, rest = _give_back_plan(correction, currency, events, amount)
    back = {"customer": customer, "currency": currency, "source_account": revenue, **common}
    kept = [(lot, give) for lot, give in gives if lot is None or lot.closed_at is None]
    if kept:
        wallet_credit_back(gives=kept, **back)
    for lot, give in gives:
        if lot is not None and lot.closed_at is not None:
            # Breakage closed the lot: a new lot of its bucket expiring at once, which breakage takes now.
            txn = wallet_credit(
                amount=give,
                bucket=lot.bucket,
                expires_at=timezone.now(),
                **{**back, "idempotency_key": f"{key}:lot{lot.pk}"},
            )
            wallet_lot_expire(lot_id=txn.wallet_lot.pk)
    if rest > 0:
        wallet_credit(amount=rest, bucket=Bucket.GRANTED, **{**back, "idempotency_key": f"{key}:rest"})


def prepaid_post(
    *,
    correction: UsageCorrection,
    changed: list[tuple[UsageEvent, Decimal]],
    revenue_of,
    memo: str,
    memo_message: dict | None,
    source: str,
    actor,
) -> None:
    """Post the prepaid-time difference of ``changed`` (event, sell difference) to the customer's wallet:
    debit what cost more by the events' times, give back what cost less where it came from."""
    customer: Customer = correction.customer
    timeline = timeline_load([customer.pk])
    by_segment: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    events: dict[tuple[str, int], list[UsageEvent]] = defaultdict(list)
    for event, sell in changed:
        segment = (event.sell_currency, timeline.segment(customer.pk, event.occurred_at))
        by_segment[segment] += sell
        events[segment].append(event)
    key = f"usage-correction:{correction.pk}"
    common = {
        "kind": "usage.prepaid",
        "memo": memo,
        "memo_message": memo_message,
        "source": source,
        "actor": actor,
    }
    debits = []
    for currency in sorted({ccy for ccy, _segment in by_segment}):
        segments = sorted(s for s in by_segment if s[0] == currency)
        parts = [
            (timeline.since(customer.pk, s[1]), ledger_round(by_segment[s]))
            for s in segments
            if ledger_round(by_segment[s]) > 0
        ]
        lower = [s for s in segments if by_segment[s] < 0]
        back = ledger_round(-sum((by_segment[s] for s in lower), ZERO))
        if back > 0:
            cheaper = [e for s in lower for e in events[s]]
            _give_back(
                correction,
                currency,
                cheaper,
                back,
                revenue_of(currency),
                {**common, "idempotency_key": f"{key}:prepaid-back:{currency}"},
            )
        if parts:
            debits.append(
                WalletDebit(
                    customer=customer,
                    currency=currency,
                    amount=sum(amount for _since, amount in parts),
                    idempotency_key=f"{key}:prepaid:{currency}",
                    target_account=revenue_of(currency),
                    kind="usage.prepaid",
                    memo=memo,
                    memo_message=memo_message,
                    source=source,
                    allow_below_floor=True,  # the usage happened
                    parts=tuple(parts),
                )
            )
    wallet_debits_many(debits=debits, actor=actor)
