from django.conf import settings

from accounts.identity import seller_name
from distributor.navigation import entries_for


def shell(request) -> dict:
    """What every page's shell needs: whose name it shows and, for staff, the navigation.

    A customer user's pages carry the name of whoever sells to it: a resale sub-distributor's customer
    never sees the operator's (accounts.identity).
    """
    user = getattr(request, "user", None)
    context = {"operator_name": settings.OPERATOR_NAME}
    if user is None or not user.is_authenticated:
        return context
    if user.is_operator_staff:
        context["staff_navigation"] = entries_for(user)
        return context
    membership = getattr(user, "membership", None)
    if membership is not None:
        context["operator_name"] = seller_name(membership.customer)
    return context
