"""Whether people may sign themselves up: the sign-in pages say so, or say who creates accounts."""

from allauth.account.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signup_open(context) -> bool:
    """Ask the account adapter (accounts.adapters), the one place that decides."""
    request = context.get("request")
    return request is not None and get_adapter(request).is_open_for_signup(request)
