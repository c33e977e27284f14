"""Which credit a debit burns: the order lots are used in, the lots valid when usage happened, and the
record of what each debit took."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, F, Q, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from billing.ledger.models import JournalTransaction
from billing.wallets.credits import GRANT_SOURCE, grants_uncredited
from billing.wallets.exceptions import WalletError
from billing.wallets.models import BUCKET_PRIORITY, Bucket, Wallet, WalletLot, WalletLotUse
from billing.wallets.selectors import BUCKET_SHORT_NAMES
from catalog.models import FreeGrant


@dataclass(frozen=True)
class LotTake:
    """What a debit takes from one lot, or from paid credit."""

    lot: WalletLot | None  # None: the paid bucket
    amount: Decimal


def buckets_normalise(buckets) -> frozenset[str] | None:
    """Validate a ``buckets`` restriction; None (or all three buckets) means no restriction."""
    if buckets is None:
        return None
    if isinstance(buckets, str) or not isinstance(buckets, Sequence | set | frozenset):
        raise WalletError(
            _("buckets must be a sequence of bucket names such as ['paid'], not %(buckets)s.")
            % {"buckets": repr(buckets)}
        )
    unknown = [b for b in buckets if b not in Bucket.values]
    if unknown:
        raise WalletError(
            _("Unknown wallet bucket(s) %(buckets)s; use paid, granted or pack.") % {"buckets": repr(unknown)}
        )
    if not buckets:
        raise WalletError(_("buckets must name at least one bucket (or be None for all of them)."))
    chosen = frozenset(buckets)
    return None if chosen == frozenset(Bucket.values) else chosen


def wallet_burn_down(
    *, wallet: Wallet, amount: Decimal, now: datetime, buckets: frozenset[str] | None = None
) -> list[LotTake]:
    """Split ``amount`` over the wallet's buckets in burn-down order; what lots cannot cover goes to paid.

    Order: earliest expiry first (never-expiring lots after dated ones), granted before pack when the
    expiry is equal, then oldest lot first; paid credit last. Expired lots awaiting breakage are skipped.
    ``buckets`` restricts the burn-down to those buckets (same order); without paid among them, lots that
    cannot cover the amount raise ``WalletError``.
    """
    lots = lots_open(now).filter(wallet=wallet)
    if buckets is not None:
        lots = lots.filter(bucket__in=buckets - {Bucket.PAID})
    return lots_burn_down(lots=list(lots), amount=amount, now=now, buckets=buckets)


def lots_open(now: datetime):
    """Lots a debit may burn at ``now``: something left, not expired (expired ones await breakage)."""
    return WalletLot.objects.filter(remaining__gt=0).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _burn_order(lot: WalletLot, now: datetime) -> tuple:
    """Earliest expiry first (never-expiring lots after dated ones), granted before pack, oldest first."""
    return (lot.expires_at is None, lot.expires_at or now, BUCKET_PRIORITY[lot.bucket], lot.pk)


def lots_burn_down(
    *, lots: list[WalletLot], amount: Decimal, now: datetime, buckets: frozenset[str] | None = None
) -> list[LotTake]:
    """``wallet_burn_down`` on lots already read (open ones, of the allowed buckets)."""
    takes, left = [], amount
    for lot in sorted(lots, key=lambda lot: _burn_order(lot, now)):
        if left <= 0:
            break
        take = min(lot.remaining, left)
        takes.append(LotTake(lot=lot, amount=take))
        left -= take
    if left > 0:
        if buckets is not None and Bucket.PAID not in buckets:
            names = [str(BUCKET_SHORT_NAMES[b]) for b in Bucket.values if b in buckets]
            if len(names) == 2:  # paid is not among them here, so granted and pack at most
                # Translators: two wallet buckets in an error message, e.g. "granted and pack".
                text = pgettext("two bucket names", "%(first)s and %(second)s") % {
                    "first": names[0],
                    "second": names[1],
                }
            else:
                text = ", ".join(names)
            raise WalletError(
                ngettext(
                    "The %(names)s bucket holds less than %(amount)s.",
                    "The %(names)s buckets hold less than %(amount)s.",
                    len(names),
                )
                % {"names": text, "amount": amount}
            )
        takes.append(LotTake(lot=None, amount=left))
    return takes


def lots_valid_from(lots: Sequence[WalletLot]) -> dict[int, datetime]:
    """When each lot became usable, by lot id: when its credit was posted, or, for a money grant's lot,
    the grant's start (the grant reaches the wallet when first needed, maybe after usage of its time).
    The lots are read with ``credited_by``; one query for the grants among them."""
    grant_of = {
        lot.pk: int(lot.credited_by.source.removeprefix(GRANT_SOURCE))
        for lot in lots
        if lot.credited_by.source.startswith(GRANT_SOURCE)
    }
    granted = dict(FreeGrant.objects.filter(pk__in=grant_of.values()).values_list("pk", "granted_at"))
    starts = {}
    for lot in lots:
        start = lot.credited_by.posted_at
        grant_start = granted.get(grant_of.get(lot.pk))
        starts[lot.pk] = min(start, grant_start) if grant_start is not None else start
    return starts


def lots_usable():
    """Lots usage may still draw: something left, expired or not (usage of a time before the expiry draws
    a lot until breakage has taken what was left), with their accounts and credits."""
    return WalletLot.objects.filter(remaining__gt=0).select_related("account", "credited_by")


def lot_bounds(customer_ids) -> dict[int, set[datetime]]:
    """Per customer, the instants where the lots its usage may draw change: each usable lot's start and
    expiry, and those of the money grants not yet credited (they will be by the debit). Usage between two
    of them draws the same lots, so a batch's prepaid sale is split there (``billing.usage.timeline``)."""
    customer_ids = list(customer_ids)
    bounds: dict[int, set[datetime]] = defaultdict(set)
    lots = list(lots_usable().filter(wallet__customer_id__in=customer_ids).select_related("wallet"))
    starts = lots_valid_from(lots)
    for lot in lots:
        bounds[lot.wallet.customer_id] |= {starts[lot.pk], lot.expires_at} - {None}
    grants = grants_uncredited(customer_ids=customer_ids).values_list(
        "customer_id", "granted_at", "expires_at"
    )
    for customer_id, granted_at, expires_at in grants:
        bounds[customer_id] |= {granted_at, expires_at}
    return bounds


def lots_burn_down_by_time(
    *,
    lots: list[WalletLot],
    parts: Sequence[tuple[datetime | None, Decimal]],
    starts: dict[int, datetime],
    now: datetime,
) -> list[LotTake]:
    """Burn usage down by when it happened: ``parts`` are ``(since, amount)`` — what was used from
    ``since`` on (None: before every lot's start), in stretches within which the same lots are valid — and
    each, oldest first, burns the lots valid at its time (``starts[lot] <= since < expires_at``) in the
    usual order; what they cannot cover goes to paid credit. Return one take per lot and one for paid.

    A lot that expired is still drawn by usage of before its expiry until breakage takes the rest
    (``expiry``); usage of that time arriving after breakage finds it empty and is charged to the lots
    still valid at its time, then paid credit — breakage is final, never reopened.
    """
    left = {lot.pk: lot.remaining for lot in lots}
    taken: dict[int, Decimal] = defaultdict(Decimal)
    paid = Decimal(0)
    for since, amount in sorted(parts, key=lambda part: (part[0] is not None, part[0] or now)):
        valid = [
            lot
            for lot in lots
            if since is not None
            and starts[lot.pk] <= since
            and (lot.expires_at is None or since < lot.expires_at)
            and left[lot.pk] > 0
        ]
        for lot in sorted(valid, key=lambda lot: _burn_order(lot, now)):
            if amount <= 0:
                break
            take = min(left[lot.pk], amount)
            taken[lot.pk] += take
            left[lot.pk] -= take
            amount -= take
        paid += amount
    by_pk = {lot.pk: lot for lot in lots}
    takes = [LotTake(lot=by_pk[pk], amount=amount) for pk, amount in taken.items()]
    return [*takes, LotTake(lot=None, amount=paid)] if paid > 0 else takes


def lot_uses_record(uses: Sequence[tuple[JournalTransaction, list[LotTake]]]) -> None:
    """Record the lots each debit transaction burnt and lower what they hold: two statements for any
    number of debits (a usage batch debits every prepaid customer at once)."""
    rows = [
        WalletLotUse(lot=take.lot, transaction=txn, amount=take.amount)
        for txn, takes in uses
        for take in takes
        if take.lot is not None
    ]
    if not rows:
        return
    WalletLotUse.objects.bulk_create(rows)
    burnt: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        burnt[row.lot.pk] += row.amount
    WalletLot.objects.filter(pk__in=burnt).update(
        remaining=Case(
            *(When(pk=pk, then=F("remaining") - amount) for pk, amount in burnt.items()),
            output_field=WalletLot._meta.get_field("remaining"),
        )
    )
