"""``{{ txn.kind|kind_label }}``: a journal transaction's dotted kind as its label in the reader's language
(``billing.ledger.kinds``); an unlabelled kind shows as it is. ``{% kinds_datalist %}``: the known kinds
with their labels, offered by the journal's kind filter."""

from django import template
from django.utils.html import format_html, format_html_join

from billing.ledger.filters import KINDS_DATALIST
from billing.ledger.kinds import KIND_LABELS, transaction_kind_label

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    return transaction_kind_label(kind or "")


@register.simple_tag
def kinds_datalist() -> str:
    options = format_html_join(
        "",
        '<option value="{}">{}</option>',
        ((kind, transaction_kind_label(kind)) for kind in sorted(KIND_LABELS)),
    )
    return format_html('<datalist id="{}">{}</datalist>', KINDS_DATALIST, options)
