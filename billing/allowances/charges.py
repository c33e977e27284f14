"""Paying subscription months and packs from the wallet: who pays each one, and the debit that pays it.

Be extremely careful changing who pays what: the period close bills the same source keys
(``subscription:<id>:<YYYY-MM>``, ``pack:<id>``) and skips those this module owns
(:func:`billing.allowances.selectors.keys_paid_by_wallet`), so the two together charge every month and
pack exactly once.

* **The terms in force when it starts decide.** A subscription month belongs to the wallet when the
  customer was prepaid at the month's start (operator time zone; a subscription's first month starts on
  its first day), to the credit invoice otherwise; a pack belongs to the wallet when the customer was
  prepaid when it was bought (``billing.terms.spans``). A switch of terms in between changes nothing for
  that month or pack, so it is never paid twice nor skipped.
* **Explicit payment wins.** A month or pack paid from the wallet on purpose (by card in the portal, or
  from wallet credit by a credit-terms customer) has an ``AllowanceCharge``; the close skips its key too.
* **A purchase stops at the floor, a renewal does not.** Selling a pack or starting a subscription is
  refused when paid credit is short (nothing is written). A renewal is charged when its month starts even
  below the floor, like metered usage: the month's token allowance is granted from its first day
  (``drawdown``) and the fee is owed for it; crossing the floor suspends the wallet as usage does, so the
  customer tops up before using more (finance see it on the wallet; nothing is left silently unpaid).
* **Full months, no proration**: a month is charged its plan's monthly fee, rounded once to the
  currency's minor unit, exactly what the close puts on a credit customer's invoice line (tax aside:
  prepaid wallets are debited without tax, as prepaid usage is).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.allowances.exceptions import PurchaseError
from billing.allowances.models import AllowanceCharge, PackPurchase, Subscription
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.money import line_round, money_text
from billing.terms.spans import spans_of
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import wallet_lock
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.selectors import wallet_balance
from catalog.models import AllowanceUnit
from common.days import local_midnight

KIND_SUBSCRIPTION = "wallet.subscription"
KIND_PACK = "wallet.pack"
ZERO = Decimal("0")


def price_round(amount: Decimal, currency: str) -> Decimal:
    """A catalog price as charged: rounded once to the minor unit, as the close rounds its invoice line."""
    return line_round(amount, tax_rate=ZERO, currency=currency).amount


def month_key(subscription_id: int, month: date) -> str:
    return f"subscription:{subscription_id}:{month:%Y-%m}"


def pack_key(purchase_id: int) -> str:
    return f"pack:{purchase_id}"


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_anchor(subscription: Subscription, month: date) -> datetime:
    """When a subscription month starts: the month's first instant, or the subscription's first day."""
    return local_midnight(max(month, subscription.starts_on))


def months_started(subscription: Subscription, now: datetime) -> list[date]:
    """The first days of the subscription's months that have started by ``now`` (and not after its end)."""
    months, month = [], subscription.starts_on.replace(day=1)
    last = timezone.localdate(now)
    if subscription.ends_on is not None:
        last = min(last, subscription.ends_on)
    while month <= last and month_anchor(subscription, month) <= now:
        months.append(month)
        month = next_month(month)
    return months


def prepaid_at(moments: dict[int, list[datetime]]) -> dict[tuple[int, datetime], bool]:
    """Whether each customer (by id) was prepaid at each of its ``moments`` (one read of the terms
    spans)."""
    spans = spans_of(list(moments))
    return {(cid, at): not spans[cid].at(at).is_credit for cid, ats in moments.items() for at in ats}


def wallet_charge(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    source_key: str,
    kind: str,
    memo: str,
    actor=None,
    subscription: Subscription | None = None,
    month: date | None = None,
    pack_purchase: PackPurchase | None = None,
    stop_at_floor: bool,
    target_kind: str = AccountKind.REVENUE_SUBSCRIPTIONS,
) -> AllowanceCharge:
    """Debit ``amount`` from ``customer``'s paid credit to ``target_kind`` (subscription revenue), once
    per ``source_key``.

    Replaying the key returns the first charge; the same key for another customer, currency or amount
    raises ``PurchaseError``. ``stop_at_floor`` refuses (``PurchaseError``, nothing written) a charge that
    would take paid credit below the wallet's floor; without it the charge is made anyway (a renewal).
    Granted credit and packs are left alone: they pay for usage, never for purchases.
    """
    with transaction.atomic():
        # The wallet lock first: a second charger of the same key waits here, then finds the first one.
        wallet = wallet_lock(customer=customer, currency=currency)
        existing = AllowanceCharge.objects.filter(source_key=source_key).first()
        if existing is not None:
            if (existing.customer_id, existing.currency, existing.amount) != (customer.pk, currency, amount):
                raise PurchaseError(
                    _(
                        "%(key)s was already charged %(charged)s %(first_currency)s; it cannot be charged "
                        "again as %(amount)s %(currency)s."
                    )
                    % {
                        "key": source_key,
                        "charged": money_text(existing.amount, existing.currency),
                        "first_currency": existing.currency,
                        "amount": money_text(amount, currency),
                        "currency": currency,
                    }
                )
            return existing
        if stop_at_floor:
            paid = wallet_balance(wallet=wallet).paid
            if paid - amount < wallet.floor:
                raise PurchaseError(
                    _(
                        "Not enough paid credit: %(paid)s %(currency)s in the wallet (floor %(floor)s), "
                        "%(amount)s %(currency)s needed. Top up first."
                    )
                    % {
                        "paid": money_text(paid, currency),
                        "floor": money_text(wallet.floor, currency),
                        "amount": money_text(amount, currency),
                        "currency": currency,
                    }
                )
        try:
            txn = wallet_debit(
                customer=customer,
                currency=currency,
                amount=amount,
                idempotency_key=source_key,
                target_account=account_get(kind=target_kind, currency=currency, book=customer.seller),
                kind=kind,
                memo=memo,
                source=source_key,
                actor=actor,
                allow_below_floor=not stop_at_floor,
                buckets=["paid"],
            )
        except WalletError as exc:
            raise PurchaseError(str(exc)) from exc
        if customer.is_reseller:
            # A resale sub-distributor's fee is a cost of what it sells, paid from its wallet at its
            # seller: mirrored in its own book.
            seller_book_mirror(transaction=txn, counter=AccountKind.COST_OF_TOKENS, actor=actor)
        return AllowanceCharge.objects.create(
            source_key=source_key,
            customer=customer,
            subscription=subscription,
            month=month,
            pack_purchase=pack_purchase,
            amount=amount,
            currency=currency,
            transaction=txn,
            actor=actor,
        )


def subscription_month_charge(
    *, subscription: Subscription, month: date, actor=None, stop_at_floor: bool
) -> AllowanceCharge | None:
    """Charge one month of ``subscription`` to the wallet (None when the plan has no fee)."""
    plan = subscription.plan
    amount = price_round(plan.monthly_fee, plan.currency)
    if amount <= 0:
        return None
    return wallet_charge(
        customer=subscription.customer,
        currency=plan.currency,
        amount=amount,
        source_key=month_key(subscription.pk, month),
        kind=KIND_SUBSCRIPTION,
        memo=f"{plan.name} ({month:%Y-%m})",
        actor=actor,
        subscription=subscription,
        month=month,
        stop_at_floor=stop_at_floor,
    )


def pack_charge(*, purchase: PackPurchase, actor=None, stop_at_floor: bool) -> AllowanceCharge | None:
    """Charge a pack purchase to the wallet; a credit pack's allowance then lands in the pack bucket.

    The charge and the fill are one transaction: a charge that committed alone would leave a credit pack
    paid with no credit, and nothing would retry it (``charges_due`` skips packs that have their charge).
    """
    credit = purchase.pack.unit == AllowanceUnit.CREDIT
    with transaction.atomic():
        charge = None
        if purchase.price > 0:
            charge = wallet_charge(
                customer=purchase.customer,
                currency=purchase.currency,
                amount=purchase.price,
                source_key=pack_key(purchase.pk),
                kind=KIND_PACK,
                memo=purchase.pack.name,
                actor=actor,
                pack_purchase=purchase,
                stop_at_floor=stop_at_floor,
                target_kind=AccountKind.PROMOTIONAL_CREDIT if credit else AccountKind.REVENUE_SUBSCRIPTIONS,
            )
        if credit:
            _credit_pack_fill(purchase=purchase, actor=actor)
    return charge


def _credit_pack_fill(*, purchase: PackPurchase, actor) -> None:
    """Put a credit pack's allowance in the wallet's pack bucket, expiring with the pack.

    Its price was paid from paid credit into *promotional credit* rather than revenue, and the allowance
    comes out of it: the pack is revenue when its credit pays for usage (or breakage when it expires), and
    what it gives beyond its price is the promotion's cost. Booking the price as revenue as well would
    count the same money twice.
    """
    txn = wallet_credit(
        customer=purchase.customer,
        currency=purchase.currency,
        amount=purchase.pack.allowance,
        bucket="pack",
        idempotency_key=f"{pack_key(purchase.pk)}:credit",
        source_account=account_get(
            kind=AccountKind.PROMOTIONAL_CREDIT, currency=purchase.currency, book=purchase.customer.seller
        ),
        kind=KIND_PACK,
        memo=purchase.pack.name,
        expires_at=purchase.expires_at,
        actor=actor,
    )
    if purchase.customer.is_reseller:
        seller_book_mirror(transaction=txn, counter=AccountKind.COST_OF_TOKENS, actor=actor)


def charges_due(*, now: datetime | None = None) -> int:
    """Charge every started subscription month and every pack the wallet owes and has not paid yet.

    The beat runs this hourly: months are charged when they start, and a pack recorded without its
    charge (e.g. by the admin site) is charged too. Below the floor if need be (module docstring). Safe
    to re-run: each key is charged once. Returns how many charges were made.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    subs = list(
        Subscription.objects.filter(starts_on__lte=today, plan__monthly_fee__gt=0)
        .select_related("plan", "customer")
        .order_by("pk")
    )
    charged = set(
        AllowanceCharge.objects.filter(subscription__in=subs).values_list("subscription_id", "month")
    )
    months = {s.pk: [m for m in months_started(s, now) if (s.pk, m) not in charged] for s in subs}
    packs = list(
        PackPurchase.objects.filter(charge__isnull=True, purchased_at__lte=now, price__gt=0)
        .select_related("pack", "customer")
        .order_by("pk")
    )
    moments: dict[int, list[datetime]] = {}
    for s in subs:
        moments.setdefault(s.customer_id, []).extend(month_anchor(s, m) for m in months[s.pk])
    for p in packs:
        moments.setdefault(p.customer_id, []).append(p.purchased_at)
    prepaid = prepaid_at(moments)
    made = 0
    for s in subs:
        for m in months[s.pk]:
            if prepaid[(s.customer_id, month_anchor(s, m))]:
                made += subscription_month_charge(subscription=s, month=m, stop_at_floor=False) is not None
    for p in packs:
        if prepaid[(p.customer_id, p.purchased_at)]:
            made += pack_charge(purchase=p, stop_at_floor=False) is not None
    return made
