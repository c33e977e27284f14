from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import Customer, Invitation, Membership, MembershipEvent, User


def admin_login(request, extra_context=None):
    """Send the admin site's sign-in to allauth's, so it is throttled and asks for the second factor.

    Django's own admin form checks the password only and has no rate limit. allauth keeps ``next``
    only when it is a safe, same-site path.
    """
    if request.user.is_authenticated:
        # Signed in already (the second factor was checked by the middleware to get here). Someone the
        # admin site does not admit is refused, not sent to sign in again: that would loop.
        if not admin.site.has_permission(request):
            raise PermissionDenied
        return redirect(reverse("admin:index"))
    target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
    return redirect(f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: target})}")


# AdminSite.get_urls routes "login/" to ``self.login``; an instance attribute replaces it everywhere.
admin.site.login = admin_login


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "staff_role", "is_active"]
    list_filter = ["staff_role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "staff_role"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "staff_role"]})
    ]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Editing only: customers are created through the dashboard, which keeps the tree path right."""

    list_display = ["name", "code", "kind", "parent", "language"]
    list_filter = ["kind", "language"]
    search_fields = ["name", "code"]
    readonly_fields = ["code", "kind", "parent", "path", "depth"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["customer"]
    raw_id_fields = ["user"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent, resent and revoked from the customer's users tab, which e-mails the
    link; a row edited here would send nothing and bypass the checks."""

    list_display = ["email", "customer", "role", "invited_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "customer__name", "customer__code"]
    exclude = ["token_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MembershipEvent)
class MembershipEventAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "email", "action", "role", "actor"]
    list_filter = ["action"]
    search_fields = ["email", "customer__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
