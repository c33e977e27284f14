"""Getting a wallet and locking it, and checking the amount: the first steps of every wallet write.

Every wallet write locks the wallet row first (SELECT … FOR UPDATE) and only then posts to the ledger, so
two writers on one wallet queue instead of both reading the same balance: no lost update, and a hard floor
holds under concurrency. Lock order is always wallet(s) by id, then ledger accounts by id.
"""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.wallets.exceptions import WalletError
from billing.wallets.models import Wallet


def _low_balance_default(currency: str) -> Decimal | None:
    value = getattr(settings, "WALLET_LOW_BALANCE_THRESHOLDS", {}).get(currency)
    return Decimal(str(value)) if value is not None else None


def wallet_get_or_create(*, customer: Customer, currency: str) -> Wallet:
    """Return ``customer``'s wallet in ``currency``, creating it with a zero floor if missing."""
    wallet, _created = Wallet.objects.get_or_create(
        customer=customer,
        currency=currency,
        defaults={"low_balance_threshold": _low_balance_default(currency)},
    )
    return wallet


def wallet_lock(*, customer: Customer, currency: str) -> Wallet:
    """Return ``customer``'s wallet in ``currency`` locked for this transaction (created if missing)."""
    wallet = wallet_get_or_create(customer=customer, currency=currency)
    return Wallet.objects.select_for_update().select_related("customer").get(pk=wallet.pk)


def amount_check(amount) -> None:
    """Refuse (``WalletError``) anything but a finite, positive ``Decimal`` as a credit or debit amount."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        message = _("The amount must be a positive Decimal, not %(amount)s.") % {"amount": repr(amount)}
        raise WalletError(message)
