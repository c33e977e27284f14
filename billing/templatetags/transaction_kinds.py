"""``{{ txn.kind|kind_label }}``: a journal transaction's dotted kind as its label in the reader's language
(``billing.ledger.kinds``); an unlabelled kind shows as it is."""

from django import template

from billing.ledger.kinds import transaction_kind_label

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    return transaction_kind_label(kind or "")
