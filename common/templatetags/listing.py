"""Template helpers for list pages: sortable column headers and query strings that keep filters."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label: str, param: str = "o"):
    """Render a column header that sorts by ``field``, toggling direction on each click."""
    request = context["request"]
    current = request.GET.get(param, "")
    query = request.GET.copy()
    query.pop("page", None)
    if current == field:
        query[param], arrow = f"-{field}", " ▲"
    elif current == f"-{field}":
        query[param], arrow = field, " ▼"
    else:
        query[param], arrow = field, ""
    return format_html('<a class="sort-link" href="?{}">{}{}</a>', query.urlencode(), label, arrow)


@register.simple_tag(takes_context=True)
def page_query(context, page_number: int) -> str:
    """Return the current query string with ``page`` replaced, keeping filters and sort."""
    query = context["request"].GET.copy()
    query["page"] = page_number
    return query.urlencode()
