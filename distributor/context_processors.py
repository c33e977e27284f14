from django.conf import settings

from distributor.navigation import entries_for


def shell(request) -> dict:
    """What every page's shell needs: the operator's name and, for staff, the navigation."""
    user = getattr(request, "user", None)
    context = {"operator_name": settings.OPERATOR_NAME}
    if user is not None and user.is_authenticated and user.is_operator_staff:
        context["staff_navigation"] = entries_for(user)
    return context
