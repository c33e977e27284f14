"""Manual wallet adjustments by admin or finance staff, each with its audit row."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import amount_canonical, request_fingerprint, transaction_find
from billing.terms.credit import credit_limit_watch
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit_locked
from billing.wallets.exceptions import WalletError
from billing.wallets.locking import wallet_lock
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.models import Bucket, Wallet, WalletAdjustment
from common.stored_text import stored

# Who may adjust a wallet by hand (the service refuses others; the pages show the form to them only).
ADJUSTING_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def wallet_adjust(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    bucket: str,
    reason: str,
    actor,
    idempotency_key: str,
    expires_at: datetime | None = None,
) -> WalletAdjustment:
    """Adjust a wallet by hand: ``amount`` > 0 adds credit to ``bucket``, < 0 removes it from ``bucket``.

    Only admin and finance staff may; the reason is required. The counter-entry goes to promotional
    credit (granted bucket) or manual adjustments (paid, pack), where finance can reclassify it by a
    later journal. The audit row is written in the same database transaction as the posting.
    """
    reason = (reason or "").strip()
    if not reason:
        raise WalletError(_("A reason is required for a manual adjustment."))
    if actor is None or not actor.is_operator_staff or actor.staff_role not in ADJUSTING_ROLES:
        raise WalletError(_("Only admin or finance staff may adjust a wallet."))
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
        raise WalletError(_("The adjustment must be a non-zero Decimal amount."))
    if bucket not in Bucket.values:
        raise WalletError(_("Unknown wallet bucket %(bucket)s.") % {"bucket": repr(bucket)})
    counter_kind = (
        AccountKind.PROMOTIONAL_CREDIT if bucket == Bucket.GRANTED else AccountKind.MANUAL_ADJUSTMENT
    )
    counter = account_get(kind=counter_kind, currency=currency, book=customer.seller)
    memo = f"Manual adjustment: {reason}"[:500]
    memo_message = stored("wallets.memo.adjustment", reason=reason)
    with transaction.atomic():
        if amount > 0:
            txn = wallet_credit(
                customer=customer,
                currency=currency,
                amount=amount,
                bucket=bucket,
                idempotency_key=idempotency_key,
                source_account=counter,
                kind="wallet.adjustment",
                memo=memo,
                memo_message=memo_message,
                source=f"staff:{actor.pk}",
                expires_at=expires_at,
                actor=actor,
            )
        else:
            request = {
                "op": "wallet_adjust_debit",
                "customer": customer.pk,
                "currency": currency,
                "amount": amount_canonical(amount),
                "bucket": bucket,
                "reason": reason,
            }
            existing = transaction_find(
                idempotency_key=idempotency_key, request_hash=request_fingerprint(request)
            )
            if existing is not None:
                return existing.adjustment
            wallet = wallet_lock(customer=customer, currency=currency)
            txn, _created = wallet_debit_locked(
                wallet=wallet,
                amount=-amount,
                idempotency_key=idempotency_key,
                target_account=counter,
                kind="wallet.adjustment",
                memo=memo,
                memo_message=memo_message,
                source=f"staff:{actor.pk}",
                actor=actor,
                request=request,
                allow_below_floor=False,
                buckets=frozenset({bucket}),
            )
        adjustment, _adjustment_created = WalletAdjustment.objects.get_or_create(
            transaction=txn,
            defaults={
                "wallet": Wallet.objects.get(customer=customer, currency=currency),
                "actor": actor,
                "bucket": bucket,
                "amount": amount,
                "reason": reason,
            },
        )
        if customer.is_reseller:
            # What a resale sub-distributor owes its seller changed: its own book says so too.
            seller_book_mirror(transaction=txn, counter=AccountKind.MANUAL_ADJUSTMENT, actor=actor)
        # A credit customer's paid deposit offsets its exposure: an adjustment of it may cross or clear.
        credit_limit_watch(transactions=[txn])
    return adjustment
