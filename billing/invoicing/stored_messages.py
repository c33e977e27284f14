"""Stored messages of invoicing postings' memos (``common.stored_text``): the English is the memo as
written."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register({"invoicing.memo.invoice": gettext_noop("Invoice %(number)s")})
