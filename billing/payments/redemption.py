"""Redemption codes: finance generates batches, customers redeem each code once.

Codes are 16 symbols of Crockford's base32 (80 random bits from ``secrets``), shown as XXXX-XXXX-XXXX-XXXX.
They are stored in plain text, unique, so finance can export a batch again; the export is limited to
finance and admin (not auditors: an unredeemed code is spendable credit) and recorded on the batch. A redeemed
code credits *granted* credit funded by the promotional-credit expense (it is a gift, not cash received) and
that credit expires REDEMPTION_CREDIT_VALID_DAYS later.

Codes belong to a book (``RedemptionBatch.book``, ``accounts.chain``): the operator's finance staff issue
codes for the operator's own customers; a resale sub-distributor's owner or billing member issues codes for
the customers it sells to. A code credits only a customer of its book, funded by that book's
promotional-credit expense, so a seller's gift is never paid for by another seller.
"""

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole, User
from accounts.permissions import manages_book
from billing.money import currency_exponent, is_money, quantize_money
from billing.payments import postings
from billing.payments.models import RedemptionBatch, RedemptionCode
from billing.terms.selectors import customer_currency
from common.cache_fallback import CACHE_UNAVAILABLE
from common.csv_export import csv_text
from common.currencies import currency_exists

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
# Misreadings Crockford's decoding forgives, so a code typed from paper still works.
_FORGIVE = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_GROUPS, GROUP_LENGTH = 4, 4
# Failed attempts allowed per user in a window, against guessing (80 bits make it hopeless anyway).
MAX_FAILURES, FAILURE_WINDOW_SECONDS = 10, 15 * 60

logger = logging.getLogger(__name__)


def code_generate() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_GROUPS * GROUP_LENGTH))
    return "-".join(raw[i : i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))


def code_normalize(text: str) -> str | None:
    """Return ``text`` in canonical XXXX-XXXX-XXXX-XXXX form, or None when it cannot be a code."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum()).translate(_FORGIVE)
    if len(raw) != CODE_GROUPS * GROUP_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))


def may_issue(user: User, book: Customer | None) -> bool:
    """Whether ``user`` may generate or export codes of ``book`` (None: the operator's)."""
    if book is None:
        return user.is_active and user.staff_role in (StaffRole.FINANCE, StaffRole.ADMIN)
    return book.is_reseller and manages_book(user, book.pk)


@transaction.atomic
def redemption_batch_create(
    *,
    user: User,
    name: str,
    currency: str,
    value: Decimal,
    count: int,
    expires_at: datetime,
    book: Customer | None = None,
) -> RedemptionBatch:
    """Generate ``count`` unique codes worth ``value`` each, for ``book``'s customers (None: operator)."""
    if not may_issue(user, book):
        raise PermissionDenied(_("Only finance staff may generate redemption codes."))
    currency = (currency or "").strip().upper()
    errors = {}
    if not currency_exists(currency):
        errors["currency"] = _("%(code)s is not a currency; use an ISO 4217 code such as CNY or USD.") % {
            "code": currency
        }
    elif value <= 0 or not is_money(value, currency):
        errors["value"] = _("Enter a positive value with at most %(places)s decimal places.") % {
            "places": currency_exponent(currency)
        }
    if not 1 <= count <= settings.REDEMPTION_BATCH_MAX:
        errors["count"] = _("Generate between 1 and %(max)s codes.") % {"max": settings.REDEMPTION_BATCH_MAX}
    if expires_at <= timezone.now():
        errors["expires_at"] = _("The expiry must be in the future.")
    if errors:
        raise ValidationError(errors)
    batch = RedemptionBatch.objects.create(
        name=name,
        currency=currency,
        value=value,
        count=count,
        expires_at=expires_at,
        book=book,
        created_by=user,
    )
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {code_generate() for _ in range(count - len(codes))}
        # A collision among 2^80 codes is practically impossible; checking costs one query and makes the
        # unique constraint a guard rather than an error path.
        wanted -= set(RedemptionCode.objects.filter(code__in=wanted).values_list("code", flat=True))
        codes |= wanted
    RedemptionCode.objects.bulk_create(
        [RedemptionCode(batch=batch, code=code) for code in sorted(codes)], batch_size=1000
    )
    return batch


def redemption_batch_export(*, batch: RedemptionBatch, user: User) -> str:
    """Return the batch as CSV (code, value, currency, expiry, redeemed) and note the export on it."""
    # Operator finance may export any book's batch (it reads every book); a seller only its own.
    if not (may_issue(user, batch.book) or may_issue(user, None)):
        raise PermissionDenied
    header = ["code", "value", "currency", "expires_at", "redeemed_at", "customer"]
    rows = (
        [
            code.code,
            quantize_money(batch.value, batch.currency),
            batch.currency,
            batch.expires_at,
            code.redeemed_at,
            code.customer.code if code.customer else "",
        ]
        for code in batch.codes.select_related("customer").order_by("id").iterator()
    )
    text = csv_text([header, *rows])
    RedemptionBatch.objects.filter(pk=batch.pk).update(exported_at=timezone.now())
    return text


def _failure_key(user: User) -> str:
    return f"payments:redeem-failures:{user.pk}"


def _unavailable() -> ValidationError:
    # The throttle's counter is in the cache (Redis): without it guesses could not be counted, so redeeming
    # fails closed until it is back rather than opening an unthrottled guessing window.
    return ValidationError(
        _("Redemption is unavailable for a moment; try again shortly."), code="unavailable"
    )


def _failures(user: User) -> int:
    try:
        return cache.get(_failure_key(user)) or 0
    except CACHE_UNAVAILABLE as exc:
        logger.warning("Redemption refused: its throttle's cache is unreachable (%s)", exc)
        raise _unavailable() from exc


def _refuse(user: User, message: str, code: str):
    try:
        try:
            cache.incr(_failure_key(user))
        except ValueError:
            cache.set(_failure_key(user), 1, FAILURE_WINDOW_SECONDS)
    except CACHE_UNAVAILABLE as exc:
        # This failure could not be counted: the guess gets no answer either.
        logger.warning("Redemption failure not counted: its throttle's cache is unreachable (%s)", exc)
        raise _unavailable() from exc
    raise ValidationError(message, code=code)


def redemption_code_redeem(*, user: User, customer: Customer, code: str) -> RedemptionCode:
    """Redeem ``code`` for ``customer``'s wallet; raise ValidationError with a clear message otherwise.

    Exactly one of any number of concurrent redeemers wins: the claim is a single conditional UPDATE
    (``WHERE id = … AND redeemed_at IS NULL``), which PostgreSQL re-checks after waiting for a competing
    writer, and the credit is posted in the same transaction.
    """
    if _failures(user) >= MAX_FAILURES:
        raise ValidationError(_("Too many failed attempts. Try again in a few minutes."), code="throttled")
    canonical = code_normalize(code)
    found = (
        RedemptionCode.objects.select_related("batch").filter(code=canonical).first() if canonical else None
    )
    if found is None:
        _refuse(user, _("This code is not valid. Check it and try again."), "invalid")
    now = timezone.now()
    if found.redeemed_at is not None:
        _refuse(user, _("This code has already been used."), "used")
    if found.batch.expires_at <= now:
        _refuse(
            user,
            _("This code expired on %(date)s.")
            % {"date": date_format(timezone.localtime(found.batch.expires_at))},
            "expired",
        )
    if found.batch.book_id != customer.seller_id:
        # Not counted as a failure: the code is real, only for another seller's customers.
        raise ValidationError(
            _(
                "This code was issued by another seller and cannot be used for this account. Redeem it "
                "with the seller that gave it to you."
            ),
            code="book",
        )
    expected = customer_currency(customer)
    if found.batch.currency != expected:
        raise ValidationError(
            _("This code is in %(code)s but your account is billed in %(account)s.")
            % {"code": found.batch.currency, "account": expected},
            code="currency",
        )
    with transaction.atomic():
        claimed = RedemptionCode.objects.filter(pk=found.pk, redeemed_at__isnull=True).update(
            redeemed_at=now, redeemed_by=user, customer=customer
        )
        if claimed != 1:
            raise ValidationError(_("This code has already been used."), code="used")
        found.refresh_from_db()
        valid_days = settings.REDEMPTION_CREDIT_VALID_DAYS
        found.credit_transaction = postings.redemption_credit_post(
            code=found,
            customer=customer,
            expires_at=now + timedelta(days=valid_days) if valid_days else None,
            actor=user,
        )
        found.save(update_fields=["credit_transaction"])
    return found
