"""Which credit a debit burns: the order lots are used in, and the record of what each debit took."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, F, Q, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from billing.ledger.models import JournalTransaction
from billing.wallets.exceptions import WalletError
from billing.wallets.models import BUCKET_PRIORITY, Bucket, Wallet, WalletLot, WalletLotUse
from billing.wallets.selectors import BUCKET_SHORT_NAMES


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


def lots_burn_down(
    *, lots: list[WalletLot], amount: Decimal, now: datetime, buckets: frozenset[str] | None = None
) -> list[LotTake]:
    """``wallet_burn_down`` on lots already read (open ones, of the allowed buckets)."""
    ordered = sorted(
        lots,
        key=lambda lot: (lot.expires_at is None, lot.expires_at or now, BUCKET_PRIORITY[lot.bucket], lot.pk),
    )
    takes, left = [], amount
    for lot in ordered:
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
