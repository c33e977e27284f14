"""A wallet's status: its floor, limit and alerting settings, the balance suspension, the floor
overshoots of a hard limit and the low-balance alert.

Every wallet write ends by re-reading the balance here, with the wallet still locked, to open or close a
suspension, an overshoot and the low-balance alert; the e-mail and webhook go out after commit.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.wallets.exceptions import WalletError
from billing.wallets.models import (
    MAX_RESERVE_MINUTES,
    BalanceSuspension,
    FloorOvershoot,
    LimitMode,
    SuspensionReason,
    Wallet,
)
from billing.wallets.notification_tasks import notify_wallet_email_task, notify_wallet_webhook_task
from billing.wallets.selectors import wallet_balance, wallet_reserve
from billing.wallets.signals import wallet_limit_changed
from common.outbox import task_queue_on_commit


def wallet_settings_update(
    *,
    wallet: Wallet,
    floor: Decimal,
    low_balance_threshold: Decimal | None,
    alert_email: str = "",
    webhook_url: str = "",
    webhook_secret: str | None = None,
    limit_mode: str | None = None,
    reserve_minutes: int | None = None,
) -> Wallet:
    """Change a wallet's floor, limit and alerting; re-evaluates suspension against the new limit.

    ``limit_mode`` None keeps the current limit (and ``reserve_minutes``, which is only read with it:
    None there means the default horizon). Leaving a hard limit ends an open floor overshoot; the crossing
    stays reported. The gateway status cache is refreshed after commit, suspension or not.
    """
    if floor > 0:
        raise WalletError(_("The floor must be zero or negative."))
    if limit_mode is not None and limit_mode not in LimitMode.values:
        raise WalletError(_("Unknown limit %(mode)r: soft or hard.") % {"mode": limit_mode})
    if reserve_minutes is not None and not 0 <= reserve_minutes <= MAX_RESERVE_MINUTES:
        raise WalletError(_("Reserve minutes must be between 0 and %(max)s.") % {"max": MAX_RESERVE_MINUTES})
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
        if limit_mode is not None:
            locked.limit_mode = limit_mode
            locked.reserve_minutes = reserve_minutes
            fields += ["limit_mode", "reserve_minutes"]
        locked.save(update_fields=fields)
        if locked.limit_mode != LimitMode.HARD:
            FloorOvershoot.objects.filter(wallet=locked, ended_at__isnull=True).update(
                ended_at=timezone.now()
            )
        wallet_status_refresh(locked)
        customer_id = locked.customer_id
        transaction.on_commit(lambda: wallet_limit_changed.send(sender=Wallet, customer_id=customer_id))
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
    *,
    wallet: Wallet,
    available: Decimal,
    open_suspension: BalanceSuspension | None,
    now: datetime | None = None,
) -> None:
    """``wallet_status_refresh`` with the wallet's available balance and open suspension already read.

    Soft limit: suspended while available ≤ floor. Hard limit: suspended while available − reserve ≤ floor
    (``selectors.wallet_reserve``), so service stops before the floor; usage charged after that (requests
    already under way) can still take the balance below it, and that crossing is recorded and reported.
    """
    events: list[tuple[str, dict]] = []
    hard = wallet.limit_mode == LimitMode.HARD
    reserve = wallet_reserve(wallet=wallet, now=now) if hard else Decimal("0")
    limit_info = {"limit": wallet.limit_mode, "reserve": str(reserve) if hard else None}
    if available - reserve <= wallet.floor and open_suspension is None:
        reason = SuspensionReason.FLOOR if available <= wallet.floor else SuspensionReason.RESERVE
        BalanceSuspension.objects.create(
            wallet=wallet,
            customer=wallet.customer,
            balance_at_start=available,
            reason=reason,
            reserve_at_start=reserve,
        )
        events.append(("wallet.suspended", {**limit_info, "reason": reason.value}))
    elif available - reserve > wallet.floor and open_suspension is not None:
        open_suspension.ended_at = timezone.now()
        open_suspension.save(update_fields=["ended_at"])
        events.append(("wallet.restored", limit_info))
    if hard:
        crossed = _overshoot_track(wallet=wallet, available=available)
        if crossed is not None:
            events.append(("wallet.floor_overshoot", {**limit_info, "excess": str(crossed.excess)}))
    threshold = wallet.low_balance_threshold
    if threshold is not None and available <= threshold and wallet.low_balance_alerted_at is None:
        wallet.low_balance_alerted_at = timezone.now()
        wallet.save(update_fields=["low_balance_alerted_at"])
        events.insert(0, ("wallet.low_balance", limit_info))
    elif (threshold is None or available > threshold) and wallet.low_balance_alerted_at is not None:
        wallet.low_balance_alerted_at = None
        wallet.save(update_fields=["low_balance_alerted_at"])
    for event, extra in events:
        _notify_on_commit(wallet=wallet, event=event, available=available, extra=extra)


def wallet_reserves_refresh(*, now: datetime | None = None) -> int:
    """Re-read every wallet suspended for its reserve; return how many were restored (beat, every 5 min).

    A reserve is recent spend, and a suspended customer spends nothing more: within the hour the reserve
    runs down, and once balance − reserve is above the floor again the customer may be served, although no
    wallet write happened that would notice. Each wallet is locked and re-read as any write would.
    """
    wallet_ids = list(
        BalanceSuspension.objects.filter(ended_at__isnull=True, reason=SuspensionReason.RESERVE)
        .order_by("wallet_id")
        .values_list("wallet_id", flat=True)
    )
    restored = 0
    for wallet_id in wallet_ids:
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().select_related("customer").get(pk=wallet_id)
            suspension = BalanceSuspension.objects.filter(wallet=wallet, ended_at__isnull=True).first()
            wallet_status_apply(
                wallet=wallet,
                available=wallet_balance(wallet=wallet, now=now).available,
                open_suspension=suspension,
                now=now,
            )
            restored += suspension is not None and suspension.ended_at is not None
    return restored


def _overshoot_track(*, wallet: Wallet, available: Decimal) -> FloorOvershoot | None:
    """Open, deepen or close the wallet's floor overshoot; return it when this call opened it."""
    crossing = FloorOvershoot.objects.filter(wallet=wallet, ended_at__isnull=True).first()
    if available < wallet.floor:
        if crossing is None:
            return FloorOvershoot.objects.create(
                wallet=wallet, customer=wallet.customer, floor=wallet.floor, lowest_balance=available
            )
        if available < crossing.lowest_balance:
            crossing.lowest_balance = available
            crossing.save(update_fields=["lowest_balance"])
    elif crossing is not None:
        crossing.ended_at = timezone.now()
        crossing.save(update_fields=["ended_at"])
    return None


def _notify_on_commit(*, wallet: Wallet, event: str, available: Decimal, extra: dict) -> None:
    payload = {
        **extra,
        "id": str(uuid.uuid4()),
        "type": event,
        "created": int(timezone.now().timestamp()),
        "customer": wallet.customer.code,
        "currency": wallet.currency,
        "available": str(available),
        "floor": str(wallet.floor),
        "threshold": str(wallet.low_balance_threshold) if wallet.low_balance_threshold is not None else None,
    }
    # Kept in the outbox when the broker is down (``common.outbox``): the wallet write stands and answers.
    if event != "wallet.restored":
        task_queue_on_commit(notify_wallet_email_task, wallet.pk, payload)
    task_queue_on_commit(notify_wallet_webhook_task, wallet.pk, payload)
