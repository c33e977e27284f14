"""Stored messages of payment postings' memos (``common.stored_text``): the English is the memo as written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "payments.memo.card_topup": gettext_noop("Card top-up %(topup)s"),
        "payments.memo.card_fee_absorbed": gettext_noop("Card fee absorbed, top-up %(topup)s"),
        "payments.memo.card_refund": gettext_noop("Card refund %(charge)s, top-up %(topup)s"),
        "payments.memo.card_dispute": gettext_noop("Card dispute %(dispute)s, top-up %(topup)s"),
        "payments.memo.dispute_won": gettext_noop("Dispute %(dispute)s won, top-up %(topup)s"),
        "payments.memo.bank_transfer": gettext_noop("Bank transfer %(reference)s"),
        "payments.memo.bank_transfer_reversed": gettext_noop(
            "Bank transfer %(reference)s reversed (%(reason)s): %(note)s"
        ),
        "payments.memo.redemption_code": gettext_noop("Redemption code %(code)s…, batch %(batch)s"),
        "payments.memo.credit_refund": gettext_noop("Credit refund #%(correction)s: %(note)s"),
        "payments.memo.payment_reversed": gettext_noop("Payment reversed (%(reason)s): %(note)s"),
        "payments.memo.invoice_card_refund": gettext_noop(
            "Card refund %(charge)s of payment %(payment)s (%(reference)s)"
        ),
        "payments.memo.invoice_card_dispute": gettext_noop(
            "Card dispute %(dispute)s of payment %(payment)s (%(reference)s)"
        ),
        "payments.memo.invoice_dispute_won": gettext_noop(
            "Dispute %(dispute)s won: payment %(payment)s (%(reference)s) stands again"
        ),
        "payments.memo.dispute_fee": gettext_noop("Stripe dispute fee, dispute %(dispute)s"),
    }
)
