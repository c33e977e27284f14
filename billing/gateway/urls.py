from django.urls import path

from billing.gateway.api import GatewayStatusView

urlpatterns = [
    path("api/v1/gateway/status", GatewayStatusView.as_view(), name="api-gateway-status"),
]
