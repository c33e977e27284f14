"""The seller profile pages: a resale sub-distributor edits the identity its customers' documents carry
(portal), and operator staff read or edit it for it (dashboard).

Only resale sub-distributors have one: an agency's or a direct one's customers get the operator's
documents. In the portal, owners and billing contacts edit; viewers read. On the dashboard, admin, sales
and finance edit; support and auditors read.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.identity import profile_identity, seller_profile_for
from accounts.models import Customer, StaffRole
from accounts.permissions import SELLER_MANAGERS, seller_member_required, staff_required
from billing.documents.forms import SellerProfileForm
from billing.documents.services import seller_profile_save

EDITING_ROLES = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE)
RESALE_ONLY = (Customer.ChainMode.RESALE,)


def _profile_page(request, seller: Customer, *, can_edit: bool, template: str, redirect_to: str):
    profile = seller_profile_for(seller)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = SellerProfileForm(request.POST, request.FILES, instance=profile)
        if form.is_valid():
            seller_profile_save(form=form)
            messages.success(request, _("The seller profile is saved; new documents carry it."))
            return redirect(redirect_to)
    else:
        form = SellerProfileForm(instance=profile)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "form": form,
        "seller": seller,
        "identity": profile_identity(seller),
        "can_edit": can_edit,
    }
    return render(request, template, context, status=400 if form.errors else 200)


@seller_member_required(modes=RESALE_ONLY)
def portal_seller_profile(request):
    can_edit = request.user.membership.role in SELLER_MANAGERS
    return _profile_page(
        request,
        request.seller,
        can_edit=can_edit,
        template="portal/seller/profile.html",
        redirect_to=reverse("portal-seller-profile"),
    )


@staff_required()
def staff_seller_profile(request, pk: int):
    seller = get_object_or_404(Customer, pk=pk)
    if not seller.is_reseller:
        raise Http404
    can_edit = request.user.staff_role in EDITING_ROLES
    return _profile_page(
        request,
        seller,
        can_edit=can_edit,
        template="documents/pages/staff_seller_profile.html",
        redirect_to=reverse("staff-seller-profile", args=[seller.pk]),
    )
