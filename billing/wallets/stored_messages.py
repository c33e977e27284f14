"""Stored messages of wallet postings' memos (``common.stored_text``): the English is the memo as written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "wallets.memo.free_grant": gettext_noop("Free grant #%(grant)s"),
        "wallets.memo.free_grant_reason": gettext_noop("Free grant #%(grant)s: %(reason)s"),
        "wallets.memo.adjustment": gettext_noop("Manual adjustment: %(reason)s"),
        "wallets.memo.expired_granted": gettext_noop("Expired granted credit credited by #%(credited_by)s"),
        "wallets.memo.expired_pack": gettext_noop("Expired pack credited by #%(credited_by)s"),
        "wallets.memo.seller_mirror": gettext_noop("Mirror of %(kind)s at our seller: %(memo)s"),
        # A sign-up gift credited by hand (the demo's): a named grant is ``free_grant``.
        "wallets.memo.welcome_credit": gettext_noop("Welcome credit"),
    }
)
