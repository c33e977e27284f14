"""What is left of a pack at its price, and keeping an expired pack's expiry equal to it.

A pack's unused value is valued at its price (what we paid for it): an amount pack's unused credit ×
price ÷ credit, a token pack's unused tokens × price ÷ tokens. ``expiry`` expenses it once the pack has
expired. When a day the pack was valid is burnt again after that (a usage correction lowers the day's
cost), the pack's draw can only shrink (``burn`` caps an expired pack at the draws it had); what it no
longer draws is unused too, so the expiry is topped up by the difference — Dr UPSTREAM_EXPIRED / Cr
UPSTREAM_PREPAID, dated the expiry like the first posting, one more key per change — and a pack that
no longer exists leaves nothing on the channel's prepaid asset.
"""

from decimal import Decimal

from django.utils import timezone

from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.money import ledger_round
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import UpstreamPack
from common.stored_text import money, stored

K = AccountKind
ZERO = Decimal(0)
EXPIRY_KIND = "upstream.pack.expiry"


def unused_at_price(pack: UpstreamPack) -> Decimal:
    """What is left of ``pack``, valued at what we paid for it (contract currency, full precision)."""
    if pack.kind == UpstreamPack.Kind.TOKENS:
        return ledger_round(pack.price * max(pack.tokens - pack.used_tokens, 0) / pack.tokens)
    if not pack.credit:
        return ZERO
    return ledger_round(max(pack.credit - pack.used_credit, ZERO) * pack.price / pack.credit)


def expiry_source(pack: UpstreamPack) -> str:
    return f"upstream.pack:{pack.pk}"


def expiry_post(
    pack: UpstreamPack, value: Decimal, *, key: str, memo: str, memo_message: dict | None = None
) -> JournalTransaction:
    """Post ``value`` of ``pack`` as expired (negative: back onto the asset), dated its expiry."""
    channel, currency = pack.channel, pack.currency
    expired, prepaid = (
        vendor_expense(channel, K.UPSTREAM_EXPIRED),
        channel_account(channel, K.UPSTREAM_PREPAID),
    )
    lines = (
        [debit(expired, value, currency), credit(prepaid, value, currency)]
        if value > 0
        else [credit(expired, -value, currency), debit(prepaid, -value, currency)]
    )
    return transaction_post(
        idempotency_key=key,
        kind=EXPIRY_KIND,
        lines=lines,
        memo=memo,
        memo_message=memo_message,
        source=expiry_source(pack),
        effective_date=timezone.localdate(pack.expires_at),
    )


def expiry_top_up(pack: UpstreamPack) -> JournalTransaction | None:
    """Bring an expired ``pack``'s expiry to what it now has unused (call inside the burn's transaction,
    after its draws changed); None when nothing changed or the pack's expiry is not posted."""
    pack = UpstreamPack.objects.select_related("channel__contract__vendor").get(pk=pack.pk)
    if pack.expiry_transaction_id is None:
        return None
    change = unused_at_price(pack) - pack.expired_credit
    if not change:
        return None
    count = JournalTransaction.objects.filter(kind=EXPIRY_KIND, source=expiry_source(pack)).count()
    posted = expiry_post(
        pack,
        change,
        key=f"upstream.pack.expiry:{pack.pk}:{count + 1}",
        memo=(
            f"{pack} on {pack.channel.name}: a day of its validity burnt again after it expired; "
            f"{change} {pack.currency} more unused (at its price)"
        ),
        memo_message=stored(
            "upstream.memo.pack_expiry_again",
            pack=str(pack),
            channel=pack.channel.name,
            amount=money(change, pack.currency),
            currency=pack.currency,
        ),
    )
    UpstreamPack.objects.filter(pk=pack.pk).update(expired_credit=pack.expired_credit + change)
    return posted
