"""A wallet's status: its floor and alerting settings, the balance suspension and the low-balance alert.

Every wallet write ends by re-reading the balance here, with the wallet still locked, to open or close a
suspension and the low-balance alert; the e-mail and webhook go out after commit.
"""

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.wallets.exceptions import WalletError
from billing.wallets.models import BalanceSuspension, Wallet
from billing.wallets.notification_tasks import notify_wallet_email_task, notify_wallet_webhook_task
from billing.wallets.selectors import wallet_balance


def wallet_settings_update(
    *,
    wallet: Wallet,
    floor: Decimal,
    low_balance_threshold: Decimal | None,
    alert_email: str = "",
    webhook_url: str = "",
    webhook_secret: str | None = None,
) -> Wallet:
    """Change a wallet's floor and alerting; re-evaluates suspension against the new floor."""
    if floor > 0:
        raise WalletError(_("The floor must be zero or negative."))
    with transaction.atomic():
        locked = Wallet.objects.select_for_update().select_related("customer").get(pk=wallet.pk)
        locked.floor = floor
        locked.low_balance_threshold = low_balance_threshold
        locked.alert_email = alert_email
        locked.webhook_url = webhook_url
        fields = ["floor", "low_balance_threshold", "alert_email", "webhook_url"]
        if webhook_secret is not None:
            locked.webhook_secret = webhook_secret
            fields.append("webhook_secret")
        locked.save(update_fields=fields)
        wallet_status_refresh(locked)
    return locked


def wallet_status_refresh(wallet: Wallet) -> None:
    """Open or close the balance suspension and low-balance alert to match the wallet's balance now.

    Runs inside the caller's transaction with the wallet locked; notifications go out after commit.
    """
    wallet_status_apply(
        wallet=wallet,
        available=wallet_balance(wallet=wallet).available,
        open_suspension=BalanceSuspension.objects.filter(wallet=wallet, ended_at__isnull=True).first(),
    )


def wallet_status_apply(
    *, wallet: Wallet, available: Decimal, open_suspension: BalanceSuspension | None
) -> None:
    """``wallet_status_refresh`` with the wallet's available balance and open suspension already read."""
    events: list[str] = []
    if available <= wallet.floor and open_suspension is None:
        BalanceSuspension.objects.create(wallet=wallet, customer=wallet.customer, balance_at_start=available)
        events.append("wallet.suspended")
    elif available > wallet.floor and open_suspension is not None:
        open_suspension.ended_at = timezone.now()
        open_suspension.save(update_fields=["ended_at"])
        events.append("wallet.restored")
    threshold = wallet.low_balance_threshold
    if threshold is not None and available <= threshold and wallet.low_balance_alerted_at is None:
        wallet.low_balance_alerted_at = timezone.now()
        wallet.save(update_fields=["low_balance_alerted_at"])
        events.insert(0, "wallet.low_balance")
    elif (threshold is None or available > threshold) and wallet.low_balance_alerted_at is not None:
        wallet.low_balance_alerted_at = None
        wallet.save(update_fields=["low_balance_alerted_at"])
    for event in events:
        _notify_on_commit(wallet=wallet, event=event, available=available)


def _notify_on_commit(*, wallet: Wallet, event: str, available: Decimal) -> None:
    payload = {
        "id": str(uuid.uuid4()),
        "type": event,
        "created": int(timezone.now().timestamp()),
        "customer": wallet.customer.code,
        "currency": wallet.currency,
        "available": str(available),
        "floor": str(wallet.floor),
        "threshold": str(wallet.low_balance_threshold) if wallet.low_balance_threshold is not None else None,
    }
    wallet_id = wallet.pk
    if event != "wallet.restored":
        transaction.on_commit(lambda: notify_wallet_email_task.delay(wallet_id, payload))
    transaction.on_commit(lambda: notify_wallet_webhook_task.delay(wallet_id, payload))
