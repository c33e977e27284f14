"""What a person reads for a journal transaction's dotted ``kind`` ("wallet.topup.bank" → "Bank transfer
top-up" / "对公转账充值").

Every kind the code posts has a label here: tests/billing/ledger/test_kinds.py reads the code for the kinds
it posts and fails on one without a translated label. The labels are also registered as stored messages
(``ledger.kind.<kind>``, ``billing.ledger.stored_messages``) so a memo may name a kind in the reader's
language (a seller-book mirror says which transaction it mirrors).
"""

from django.utils.translation import gettext, gettext_noop

from common.stored_text import stored

KIND_LABELS = {
    "wallet.topup.bank": gettext_noop("Bank transfer top-up"),
    "wallet.topup.card": gettext_noop("Card top-up"),
    "wallet.topup.card_fee": gettext_noop("Card processing fee"),
    "wallet.topup.card_refund": gettext_noop("Card refund"),
    "wallet.topup.card_dispute": gettext_noop("Card dispute"),
    "wallet.topup.card_dispute_won": gettext_noop("Card dispute won"),
    "wallet.topup.code": gettext_noop("Redemption code top-up"),
    "wallet.topup.opening": gettext_noop("Opening deposit"),
    "wallet.grant": gettext_noop("Credit granted"),
    "wallet.pack": gettext_noop("Pack purchase"),
    "wallet.subscription": gettext_noop("Subscription fee"),
    "wallet.refund": gettext_noop("Credit refunded to the customer"),
    "wallet.breakage": gettext_noop("Expired credit"),
    "wallet.adjustment": gettext_noop("Manual adjustment"),
    # A reseller's customers' card payments, taken by the operator's Stripe account and owed to the reseller
    # (``billing.wallets.books``).
    "chain.card_payout": gettext_noop("Your customers' card payment"),
    "chain.seller_payment": gettext_noop("Payment to our seller"),
    "chain.seller_mirror": gettext_noop("Change at our seller"),
    "chain.migrate.transfer": gettext_noop("Chain migration transfer"),
    "usage.prepaid": gettext_noop("API usage"),
    "usage.accrual": gettext_noop("API usage to invoice"),
    "usage.cost": gettext_noop("Upstream cost of usage"),
    "usage.commission": gettext_noop("Agency commission"),
    "usage.own_use": gettext_noop("Own use bought from our seller"),
    "usage.correction": gettext_noop("Usage price correction"),
    "usage.channel_map": gettext_noop("Usage moved between upstream accounts"),
    "invoice.issue": gettext_noop("Invoice issued"),
    "credit_note.issue": gettext_noop("Credit note issued"),
    "receivable.payment.bank": gettext_noop("Bank transfer payment"),
    "receivable.payment.card": gettext_noop("Card payment"),
    "receivable.payment.card_refund": gettext_noop("Card payment refunded"),
    "receivable.payment.card_dispute": gettext_noop("Card payment disputed"),
    "receivable.payment.card_dispute_won": gettext_noop("Card payment dispute won"),
    "receivable.payment.reversal": gettext_noop("Payment reversed"),
    "receivable.refund": gettext_noop("Overpayment refunded"),
    "receivable.write_off": gettext_noop("Bad debt written off"),
    "receivable.bad_debt_recovered": gettext_noop("Bad debt recovered"),
    "receivable.bad_debt_recovery_reversed": gettext_noop("Bad debt recovery undone"),
    "payment.dispute_fee": gettext_noop("Card dispute fee"),
    "manual.journal": gettext_noop("Manual journal"),
    "ecl.charge": gettext_noop("Expected credit loss raised"),
    "ecl.release": gettext_noop("Expected credit loss released"),
    "fx.realised": gettext_noop("Realised exchange difference"),
    "fx.revaluation": gettext_noop("Exchange revaluation"),
    "upstream.bill.usage": gettext_noop("Vendor usage invoice"),
    "upstream.bill.commitment": gettext_noop("Vendor commitment invoice"),
    "upstream.bill.trueup": gettext_noop("Vendor invoice true-up"),
    "upstream.commitment.shortfall": gettext_noop("Commitment shortfall"),
    "upstream.pack.buy": gettext_noop("Upstream pack bought"),
    "upstream.pack.draw": gettext_noop("Upstream pack drawn"),
    "upstream.pack.expiry": gettext_noop("Upstream pack expired"),
    "upstream.payment": gettext_noop("Payment to a vendor"),
    "upstream.tier.rebate": gettext_noop("Volume tier rebate"),
    "reversal": gettext_noop("Reversal"),
}

# Kinds made of a prefix and a variable part (a commission settlement's method), and families whose new
# members should read sensibly before they get their own label.
KIND_PREFIX_LABELS = (
    ("commission.settle.", gettext_noop("Commission paid")),
    ("wallet.topup.", gettext_noop("Top-up")),
    ("usage.", gettext_noop("API usage")),
)


def kind_label_msgid(kind: str) -> str | None:
    """The English label of ``kind`` (untranslated), or None for a kind nobody labelled."""
    label = KIND_LABELS.get(kind)
    if label is None:
        label = next((text for prefix, text in KIND_PREFIX_LABELS if kind.startswith(prefix)), None)
    return label


def transaction_kind_label(kind: str) -> str:
    """A human, translated name for a journal transaction's dotted ``kind``; the kind itself if unknown."""
    label = kind_label_msgid(kind)
    return gettext(label) if label is not None else kind


def kind_message(kind: str) -> dict | str:
    """``kind`` as a parameter of a stored message (``common.stored_text``): its label's message, rendered
    in the reader's language; the kind itself when nobody labelled it."""
    if kind in KIND_LABELS:
        return stored(f"ledger.kind.{kind}")
    prefix = next((prefix for prefix, _text in KIND_PREFIX_LABELS if kind.startswith(prefix)), None)
    return stored(f"ledger.kind.{prefix}") if prefix else kind
