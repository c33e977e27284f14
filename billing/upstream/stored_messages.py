"""Stored messages of upstream postings' memos (``common.stored_text``): the English is the memo as
written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "upstream.memo.pack_bought": gettext_noop(
            "%(kind)s %(reference)s on %(channel)s: %(price)s %(currency)s"
        ),
        "upstream.memo.pack_draw": gettext_noop(
            "%(pack)s on %(channel)s, %(day)s: drew %(credit)s at contract cost; value at the pack's price "
            "differs by %(adjustment)s"
        ),
        "upstream.memo.pack_draw_tokens": gettext_noop(
            "%(pack)s on %(channel)s, %(day)s: drew %(credit)s at contract cost (%(tokens)s tokens); "
            "value at the pack's price differs by %(adjustment)s"
        ),
        "upstream.memo.pack_expired": gettext_noop(
            "%(pack)s on %(channel)s expired with %(amount)s %(currency)s unused (at its price)"
        ),
        "upstream.memo.pack_expiry_again": gettext_noop(
            "%(pack)s on %(channel)s: a day of its validity burnt again after it expired; %(amount)s "
            "%(currency)s more unused (at its price)"
        ),
        "upstream.memo.vendor_invoice": gettext_noop(
            "Vendor invoice %(number)s (%(channel)s, %(month)s): accrued %(accrued)s"
        ),
        "upstream.memo.commitment_invoice": gettext_noop(
            "Commitment invoice %(number)s (%(channel)s, %(month)s): accrued %(accrued)s"
        ),
        "upstream.memo.vendor_invoice_void": gettext_noop("Void of vendor invoice %(number)s"),
        "upstream.memo.trueup": gettext_noop(
            "%(channel)s, %(month)s: %(amount)s %(currency)s of usage arrived after the month's vendor "
            "invoice, matched against its variance (cost of tokens stays at what was billed)"
        ),
        "upstream.memo.payment": gettext_noop(
            "Payment %(reference)s of vendor invoice %(bill)s (%(channel)s): %(amount)s %(currency)s"
        ),
        "upstream.memo.payment_fx": gettext_noop(
            "Payment %(reference)s of vendor invoice %(bill)s (%(channel)s): %(amount)s %(currency)s for "
            "%(bank_amount)s %(bank_currency)s"
        ),
        "upstream.memo.tier_rebate": gettext_noop(
            "Volume tier of %(contract)s for %(month)s: list volume %(volume)s reached %(threshold)s "
            "(%(discount)s off instead of %(usual)s)"
        ),
        "upstream.memo.commitment_shortfall": gettext_noop(
            "Committed spend of %(contract)s %(start)s–%(end)s: %(committed)s committed, %(consumed)s "
            "consumed at contract cost"
        ),
    }
)
