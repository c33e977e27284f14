from django.urls import path

from accounts import views


def _actions(prefix: str, name: str, kind: str) -> list:
    """The five actions of a users panel under ``prefix`` (URL) named ``name``-<action>."""

    def view(action: str):
        return getattr(views, f"{kind}_{action}")

    return [
        path(f"{prefix}invite/", view("invite"), name=f"{name}-invite"),
        path(f"{prefix}invitations/<int:invitation_pk>/resend/", view("resend"), name=f"{name}-resend"),
        path(
            f"{prefix}invitations/<int:invitation_pk>/revoke/",
            view("invitation_revoke"),
            name=f"{name}-invitation-revoke",
        ),
        path(f"{prefix}<int:membership_pk>/role/", view("role"), name=f"{name}-role"),
        path(f"{prefix}<int:membership_pk>/revoke/", view("revoke"), name=f"{name}-revoke"),
    ]


urlpatterns = [
    # Under accounts/ with the other sign-in pages: reached by people not signed in yet.
    path("accounts/invitation/<str:token>/", views.invitation_accept_view, name="invitation-accept"),
    path("dashboard/customers/<int:pk>/users/", views.staff_customer_users, name="staff-customer-users"),
    *_actions("dashboard/customers/<int:pk>/users/", "staff-customer-users", "staff_customer_users"),
    path("portal/users/", views.portal_users, name="portal-users"),
    *_actions("portal/users/", "portal-users", "portal_users"),
    path(
        "portal/seller/customers/<int:pk>/users/",
        views.seller_customer_users,
        name="portal-seller-customer-users",
    ),
    *_actions(
        "portal/seller/customers/<int:pk>/users/", "portal-seller-customer-users", "seller_customer_users"
    ),
]
