"""Buying upstream credit: a prepayment (top-up), an amount pack or a token pack (资源包) on one channel.

A purchase posts what it cost, in the contract currency, to the channel's upstream prepaid asset:

    Dr UPSTREAM_PREPAID (channel) / Cr PAYABLE (channel)     bought on invoice: a prepayment VendorBill
    Dr UPSTREAM_PREPAID (channel) / Cr CASH_BANK             paid from the bank at once
    Dr UPSTREAM_PREPAID (channel) / Cr OPENING_BALANCE_EQUITY  unused credit brought from old books

The pack is the sub-ledger of that asset: how much consumption it can draw (``credit`` at contract cost;
an amount pack may give more than its price; a token pack gives ``tokens`` of one model or of any), from
when and until when. ``burn`` draws the packs and posts what makes cost of tokens equal what was paid;
``expiry`` expenses what is left when a pack expires.

A purchase is identified by the channel and the vendor's reference: recording it again with the same
figures changes nothing ("unchanged"); with another figure it is refused, naming the field.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit as credit_line
from billing.ledger.services import debit, transaction_post
from billing.upstream.bills import prepayment_bill_create
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.models import UpstreamPack, VendorBill
from billing.upstream.money_checks import amount_check
from catalog.models import AIModel, Channel, Settlement
from common.stored_text import choice, money, stored

K = AccountKind
Kind = UpstreamPack.Kind
PAYABLE, BANK = "payable", "bank"
# Credit a distributor moving in had left with the vendor when its old books closed (``billing.opening``):
# paid for before this system existed, so it stands against opening balance equity.
OPENING = "opening"


# The furthest a pack may run: the burn, expiry and cover work in whole days after the expiry, so a date
# near the end of the calendar (a mistyped year) would overflow there; no vendor sells a century of credit.
MAX_YEARS_AHEAD = 100
MAX_VALIDITY_DAYS = 36500


def _aware(value, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError({field: _("Enter a date and time.")})
    value = value if timezone.is_aware(value) else timezone.make_aware(value)
    if value.year > timezone.now().year + MAX_YEARS_AHEAD:
        raise ValidationError(
            {field: _("%(date)s is no plausible date: check the year.") % {"date": value.date()}}
        )
    return value


def _clean(
    *,
    channel,
    kind,
    reference,
    price,
    credit,
    tokens,
    model,
    purchased_at,
    starts_at,
    expires_at,
    validity_days,
) -> dict:
    """The purchase's fields checked and completed; ValidationError names the field at fault."""
    if channel.contract.settlement != Settlement.PREPAID:
        raise ValidationError(
            {
                "channel": _(
                    "%(channel)s is postpaid: the vendor invoices its consumption afterwards. Prepayments "
                    "and packs are bought on channels of prepaid contracts."
                )
                % {"channel": channel.name}
            }
        )
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Unknown purchase kind %(kind)s.") % {"kind": kind}})
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter the vendor's order or receipt number.")})
    if len(reference) > 120:
        raise ValidationError({"reference": _("A vendor reference has at most 120 characters.")})
    currency = channel.contract.currency
    price = amount_check(price, currency, field="price", allow_zero=True)
    if kind == Kind.TOKENS:
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
            raise ValidationError(
                {"tokens": _("A token pack needs its number of tokens (a whole number above 0).")}
            )
        if model is not None and not isinstance(model, AIModel):
            raise ValidationError({"model": _("Choose the pack's model, or none for any model.")})
        # A token pack's value is its price: burn values each token drawn at price ÷ tokens.
        credit = price
    else:
        if tokens is not None:
            raise ValidationError({"tokens": _("Only a token pack counts tokens.")})
        if model is not None:
            raise ValidationError({"model": _("Only a token pack is limited to one model.")})
        credit = price if credit is None and kind == Kind.PREPAYMENT else credit
        if credit is None:
            raise ValidationError({"credit": _("Enter the credit the pack gives, at contract cost.")})
        credit = amount_check(credit, currency, field="credit")
    purchased_at = _aware(purchased_at, "purchased_at") or timezone.now()
    starts_at = _aware(starts_at, "starts_at") or purchased_at
    expires_at = _aware(expires_at, "expires_at")
    if validity_days is not None:
        if expires_at is not None:
            raise ValidationError({"validity_days": _("Give the validity in days or the expiry, not both.")})
        if not isinstance(validity_days, int) or validity_days <= 0:
            raise ValidationError({"validity_days": _("The validity is a whole number of days above 0.")})
        if validity_days > MAX_VALIDITY_DAYS:
            raise ValidationError(
                {
                    "validity_days": _("A validity of at most %(days)s days (a century), or no expiry.")
                    % {"days": MAX_VALIDITY_DAYS}
                }
            )
        expires_at = _aware(starts_at + timedelta(days=validity_days), "validity_days")
    if expires_at is not None and expires_at <= starts_at:
        raise ValidationError({"expires_at": _("A pack must expire after it starts.")})
    return {
        "kind": kind,
        "reference": reference,
        "currency": currency,
        "price": price,
        "credit": credit,
        "tokens": tokens if kind == Kind.TOKENS else None,
        "model": model if kind == Kind.TOKENS else None,
        "purchased_at": purchased_at,
        "starts_at": starts_at,
        "expires_at": expires_at,
    }


def _same_or_error(pack: UpstreamPack, fields: dict) -> None:
    for field in ("kind", "price", "credit", "tokens", "model", "starts_at", "expires_at"):
        if getattr(pack, field) != fields[field]:
            raise ValidationError(
                {
                    field: _(
                        "Purchase %(reference)s on %(channel)s is already recorded with %(field)s "
                        "%(recorded)s, not %(given)s."
                    )
                    % {
                        "reference": pack.reference,
                        "channel": pack.channel.name,
                        "field": UpstreamPack._meta.get_field(field).verbose_name,
                        "recorded": getattr(pack, field) if getattr(pack, field) is not None else "—",
                        "given": fields[field] if fields[field] is not None else "—",
                    }
                }
            )


def upstream_pack_buy(
    *,
    channel: Channel,
    kind: str,
    reference: str,
    price: Decimal,
    credit: Decimal | None = None,
    tokens: int | None = None,
    model: AIModel | None = None,
    name: str = "",
    purchased_at: datetime | None = None,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    validity_days: int | None = None,
    payment: str = PAYABLE,
    invoice_number: str = "",
    created_by=None,
) -> tuple[UpstreamPack, str]:
    """Record a purchase of upstream credit on ``channel`` and post it; return it with "created" or
    "unchanged".

    ``price`` is what it cost and ``credit`` what it gives at contract cost (a prepayment: the price when
    omitted); a token pack gives ``tokens`` of ``model`` (None: any model). ``expires_at``, or
    ``validity_days`` from ``starts_at`` (default: the purchase), or neither for credit that never
    expires. ``payment`` "payable" records the vendor's prepayment invoice (``invoice_number``, default
    the reference) to pay later; "bank" pays it from the bank at once, in the contract currency;
    "opening" records credit left from before this system (against opening balance equity).
    """
    fields = _clean(
        channel=channel,
        kind=kind,
        reference=reference,
        price=price,
        credit=credit,
        tokens=tokens,
        model=model,
        purchased_at=purchased_at,
        starts_at=starts_at,
        expires_at=expires_at,
        validity_days=validity_days,
    )
    if payment not in (PAYABLE, BANK, OPENING):
        raise ValidationError({"payment": _("Pay on invoice (payable) or from the bank at once (bank).")})
    number = (invoice_number or fields["reference"]).strip()[:120]
    with transaction.atomic():
        Channel.objects.select_for_update().filter(pk=channel.pk).first()
        existing = UpstreamPack.objects.filter(channel=channel, reference=fields["reference"]).first()
        if existing is not None:
            _same_or_error(existing, fields)
            return existing, "unchanged"
        if (
            payment == PAYABLE
            and fields["price"]
            and VendorBill.objects.filter(channel=channel, number=number).exists()
        ):
            raise ValidationError(
                {
                    "invoice_number": _("Invoice %(number)s of %(channel)s is already recorded.")
                    % {"number": number, "channel": channel.name}
                }
            )
        pack = UpstreamPack.objects.create(
            channel=channel, name=(name or "").strip()[:120], created_by=created_by, **fields
        )
        if pack.price:
            pack.transaction = _post(pack, payment=payment, number=number, actor=created_by)
            pack.save(update_fields=["transaction"])
    return pack, "created"


def _post(pack: UpstreamPack, *, payment: str, number: str, actor):
    channel, price, currency = pack.channel, pack.price, pack.currency
    on = timezone.localdate(pack.purchased_at)
    if payment == PAYABLE:
        bill = prepayment_bill_create(
            channel=channel,
            number=number,
            amount=price,
            issued_on=on,
            source=f"purchase {pack.reference}",
            created_by=actor,
        )
        other = channel_account(channel, K.PAYABLE)
    elif payment == OPENING:
        bill, other = None, account_get(kind=K.OPENING_BALANCE_EQUITY, currency=currency)
    else:
        bill, other = None, account_get(kind=K.CASH_BANK, currency=currency)
    posted = transaction_post(
        idempotency_key=f"upstream.pack:{pack.pk}",
        kind="upstream.pack.buy",
        lines=[
            debit(channel_account(channel, K.UPSTREAM_PREPAID), price, currency),
            credit_line(other, price, currency),
        ],
        memo=f"{pack.get_kind_display()} {pack.reference} on {channel.name}: {price} {currency}",
        memo_message=stored(
            "upstream.memo.pack_bought",
            kind=choice("billing.UpstreamPack", "kind", pack.kind),
            reference=pack.reference,
            channel=channel.name,
            price=money(price, currency),
            currency=currency,
        ),
        source=f"upstream.pack:{channel.pk}:{pack.reference}"[:200],
        effective_date=on,
        actor=actor,
    )
    if bill is not None:
        bill.transaction = posted
        bill.save(update_fields=["transaction"])
    return posted
