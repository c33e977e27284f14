"""Stored messages of FX postings' memos (``common.stored_text``): the English is the memo as written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "fx.memo.realised": gettext_noop(
            "Realised FX on %(amount)s %(currency)s of invoice %(invoice)s: "
            "%(invoice_rate)s → %(payment_rate)s"
        ),
        "fx.memo.revaluation": gettext_noop(
            "FX revaluation of %(account)s: %(balance)s at %(rate)s on %(day)s"
        ),
        "fx.memo.revaluation_reversal": gettext_noop(
            "Reversal of the %(month)s FX revaluation of %(account)s"
        ),
    }
)
