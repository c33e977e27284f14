"""Whether a gateway should serve a customer: answered from the cache, read through on a miss.

A customer is *suspended* while any of these holds: a wallet at or below its floor (an open
``BalanceSuspension``, reason ``balance_at_floor``) or, under a hard limit, whose balance less the
reserve for its recent spend is (``balance_reserve``; ``billing.wallets.selectors.wallet_reserve``); a
staff hold (``GatewayHold``, ``manual_hold``); on credit terms with a limit and the *block* policy,
exposure (receivable + unbilled − paid deposits, ``billing.terms.selectors``) at or above the credit
limit (``credit_limit``; under *warn* it only notifies); under *block* too, an open risk flag
(``overdue_days``: an invoice unpaid beyond the terms' days; ``usage_spike``: a day's usage beyond the
spike factor × its trailing average; ``billing.dunning.risk``); an unpaid invoice past a dunning level
that suspends (``overdue``); or a suspended sub-distributor above it (``parent_suspended``): the operator
bills that sub-distributor for its whole subtree, so its customers stop with it. Entries are
invalidated, for the customer and its whole subtree, when usage is posted, a suspension opens or
closes, a hold changes or staff change a wallet's floor or limit; a short TTL bounds staleness for
other balance moves (a top-up that does not cross the floor only changes the figures, not the answer).

When the cache (Redis) cannot be reached the status is computed from the database on every call
(``common.cache_fallback``) and ``source`` says so (the API's ``X-Status-Source`` header); an invalidation
that fails is logged and the entry is stale for at most its TTL (``STATUS_TTL``, ``KEY_TTL``).
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from accounts.models import Customer
from billing.dunning.selectors import overdue_notices
from billing.gateway.models import GatewayHold
from billing.terms.models import BillingTerms, RiskFlag
from billing.terms.selectors import customer_exposure
from billing.usage.models import GatewaySource
from billing.usage.resolve import keys_resolve
from billing.wallets.models import BalanceSuspension, LimitMode, SuspensionReason, Wallet
from billing.wallets.selectors import wallet_balance, wallet_reserve
from common.cache_fallback import cache_forget, cache_read, cache_write

STATUS_TTL = 30
KEY_TTL = 300

BALANCE_DETAILS = {
    SuspensionReason.FLOOR: "The prepaid balance reached its floor.",
    SuspensionReason.RESERVE: "The prepaid balance less the reserve for recent spend reached its floor.",
}


def _status_key(customer_id: int) -> str:
    return f"gateway:status:{customer_id}"


def exposure(*, customer: Customer, currency: str) -> Decimal:
    """Receivable + unbilled − paid deposits, in ``currency`` (positive = owed); see DESIGN.md §9."""
    return customer_exposure(customer=customer, currency=currency)


RISK_DETAILS = {
    RiskFlag.Kind.OVERDUE: "Invoice {detail} is {measured} days past due (flagged beyond {threshold}).",
    RiskFlag.Kind.SPIKE: "Usage on {detail} reached {measured}, above {threshold} (spike factor × average).",
}


def _plain(value: Decimal | None, *, days: bool) -> str:
    if value is None:
        return ""
    return str(int(value)) if days else format(value.normalize(), "f")


def risk_flag_reasons(*, customer_id: int) -> list[dict]:
    """The open risk flags of a customer as suspension reasons (the caller knows its policy blocks)."""
    flags = RiskFlag.objects.filter(customer_id=customer_id, ended_at__isnull=True).order_by("kind")
    reasons = []
    for flag in flags:
        days = flag.kind == RiskFlag.Kind.OVERDUE
        detail = RISK_DETAILS[flag.kind].format(
            detail=flag.detail,
            measured=_plain(flag.measured, days=days),
            threshold=_plain(flag.threshold, days=days),
        )
        reasons.append({"code": flag.kind, "detail": detail})
    return reasons


def customer_status_compute(*, customer: Customer) -> dict:
    """Return the gateway status of ``customer`` read from the database (no cache)."""
    reasons = []
    hold = GatewayHold.objects.filter(customer=customer, ended_at__isnull=True).first()
    if hold is not None:
        reasons.append({"code": "manual_hold", "detail": hold.reason})
    suspension = BalanceSuspension.objects.filter(customer=customer, ended_at__isnull=True).first()
    if suspension is not None:
        reasons.append({"code": suspension.reason, "detail": BALANCE_DETAILS[suspension.reason]})
    terms = BillingTerms.objects.filter(customer=customer).first()
    currency = terms.currency if terms else ""
    answer = {
        "customer": customer.code,
        "currency": currency,
        "balance": None,
        "floor": None,
        "balance_headroom": None,
        "limit": None,
        "reserve": None,
        "credit_limit": None,
        "exposure": None,
        "credit_headroom": None,
    }
    wallet = Wallet.objects.filter(customer=customer, currency=currency).select_related("customer").first()
    if wallet is not None:
        balance = wallet_balance(wallet=wallet)
        answer.update(
            balance=str(balance.available),
            floor=str(balance.floor),
            balance_headroom=str(balance.headroom),
            limit=wallet.limit_mode,
            reserve=str(wallet_reserve(wallet=wallet)) if wallet.limit_mode == LimitMode.HARD else None,
        )
    if terms is not None and terms.is_credit:
        owed = exposure(customer=customer, currency=currency)
        answer.update(
            credit_limit=str(terms.credit_limit),
            exposure=str(owed),
            credit_headroom=str(terms.credit_limit - owed),
        )
        if (
            terms.credit_limit > 0
            and owed >= terms.credit_limit
            and terms.credit_policy == BillingTerms.CreditPolicy.BLOCK
        ):
            reasons.append({"code": "credit_limit", "detail": "Exposure reached the credit limit."})
        if terms.credit_policy == BillingTerms.CreditPolicy.BLOCK:
            reasons += risk_flag_reasons(customer_id=customer.pk)
    overdue = overdue_notices(customer_id=customer.pk).order_by("invoice__due_date").first()
    if overdue is not None:
        reasons.append(
            {
                "code": "overdue",
                "detail": f"Invoice {overdue.invoice.number} is overdue ({overdue.level.name}).",
            }
        )
    if customer.parent_id is not None:
        # Read through the parent's (cached) status, which itself looks further up the tree.
        parent = customer_status(customer_id=customer.parent_id)
        if parent["status"] == "suspended":
            reasons.append(
                {
                    "code": "parent_suspended",
                    "detail": f"Sub-distributor {parent['customer']} is suspended: "
                    + ", ".join(r["code"] for r in parent["reasons"]),
                }
            )
    answer["status"] = "suspended" if reasons else "active"
    answer["reasons"] = reasons
    answer["checked_at"] = timezone.now().isoformat()
    return answer


@dataclass(frozen=True)
class SourcedStatus:
    """A status answer and where it came from: ``cache`` (up to ``STATUS_TTL`` seconds old) or
    ``database`` (computed now: a cache miss, or the cache unreachable)."""

    answer: dict
    source: str


def customer_status_sourced(*, customer_id: int) -> SourcedStatus:
    """Return the cached status of a customer, computing (and, if the cache answers, caching) it on a miss."""
    answer = cache_read(_status_key(customer_id))
    if answer is not None:
        return SourcedStatus(answer=answer, source="cache")
    answer = customer_status_compute(customer=Customer.objects.get(pk=customer_id))
    cache_write(_status_key(customer_id), answer, STATUS_TTL)
    return SourcedStatus(answer=answer, source="database")


def customer_status(*, customer_id: int) -> dict:
    """Return the status of a customer, from the cache when it holds it."""
    return customer_status_sourced(customer_id=customer_id).answer


def key_cache_key(*, source_id: int, key: str) -> str:
    """Where the key → customer lookup is cached; a digest, since a gateway key may hold any character."""
    return f"gateway:key:{source_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def status_for_key(*, source: GatewaySource, key: str) -> SourcedStatus | None:
    """Return the status of the customer behind gateway ``key``, or None if the key is unknown.

    ``source`` of the answer is the status's own: a key looked up afresh does not make a cached status new.
    """
    cache_key = key_cache_key(source_id=source.pk, key=key)
    customer_id = cache_read(cache_key)
    if customer_id is None:
        customer_id = keys_resolve(source=source, keys={key}).get(key, 0)
        cache_write(cache_key, customer_id, KEY_TTL)
    if not customer_id:
        return None
    status = customer_status_sourced(customer_id=customer_id)
    return SourcedStatus(answer={"key": key, **status.answer}, source=status.source)


def status_invalidate(*, customer_ids) -> None:
    """Forget the cached status of these customers and of everyone below them in the tree.

    Called after commit: a cache that cannot be reached is logged, not raised (the write stands; the entry
    is stale for at most ``STATUS_TTL``).
    """
    customer_ids = list(customer_ids)
    if not customer_ids:
        return
    paths = Customer.objects.filter(pk__in=customer_ids, kind=Customer.Kind.SUB_DISTRIBUTOR).values_list(
        "path", flat=True
    )
    below = Q()
    for path in paths:
        below |= Q(path__startswith=path)
    affected = set(customer_ids)
    if below:
        affected |= set(Customer.objects.filter(below).values_list("pk", flat=True))
    cache_forget([_status_key(c) for c in affected], what=f"gateway status of customers {sorted(affected)}")
