"""The landing redirect and the staff overview."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to, home_customer
from billing.customers.selectors import customer_mix


@login_required
def home(request):
    """Send each user to its shell: staff to the dashboard, customer users to the portal."""
    if request.user.is_operator_staff:
        return redirect("dashboard")
    if home_customer(request.user) is not None:
        return redirect("portal-home")
    raise PermissionDenied


@staff_required()
def dashboard(request):
    mix = customer_mix(customers_visible_to(request.user))
    return render(request, "dashboard/overview.html", {"mix": mix})
