from django.urls import path

from billing.gateway import views
from billing.gateway.api import GatewayStatusView

urlpatterns = [
    path("api/v1/gateway/status", GatewayStatusView.as_view(), name="api-gateway-status"),
    path("dashboard/usage/sources/", views.source_list, name="staff-gateway-sources"),
    path("dashboard/usage/sources/new/", views.source_create, name="staff-gateway-source-create"),
    path("dashboard/usage/sources/<int:pk>/rotate/", views.source_rotate, name="staff-gateway-source-rotate"),
    path("dashboard/usage/sources/<int:pk>/toggle/", views.source_toggle, name="staff-gateway-source-toggle"),
    path("dashboard/usage/keys/", views.key_list, name="staff-gateway-keys"),
    path("dashboard/usage/keys/new/", views.key_create, name="staff-gateway-key-create"),
    path("dashboard/usage/keys/<int:pk>/toggle/", views.key_toggle, name="staff-gateway-key-toggle"),
    path("dashboard/usage/holds/", views.hold_list, name="staff-gateway-holds"),
    path("dashboard/usage/holds/new/", views.hold_place, name="staff-gateway-hold-place"),
    path("dashboard/usage/holds/<int:pk>/lift/", views.hold_lift, name="staff-gateway-hold-lift"),
]
