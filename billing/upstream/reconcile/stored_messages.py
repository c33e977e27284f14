"""Stored text of reconciliation (common.stored_text): a line's detail (``classify``), the English as the
line stores it."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "upstream.recon.no_contract_price": gettext_noop(
            "No contract price for %(model)s: valued at the difference of the costs."
        ),
        "upstream.recon.vendor_shows": gettext_noop("The vendor shows %(other)s where we billed %(model)s."),
        "upstream.recon.we_billed": gettext_noop("We billed %(model)s where the vendor shows %(other)s."),
    }
)
