"""``{{ txn.memo_message|stored_text:txn.memo }}``: a stored message in the reader's language, the stored
English text when there is none (``common.stored_text``)."""

from django import template

from common.stored_text import stored_render

register = template.Library()


@register.filter
def stored_text(message, fallback: str = "") -> str:
    return stored_render(message, fallback or "")
