from django.urls import path

from billing.chain import report_views

urlpatterns = [
    path("dashboard/chain/report/", report_views.chain_report, name="staff-chain-report"),
    path("dashboard/chain/report/hop/<int:pk>/", report_views.chain_hop, name="staff-chain-hop"),
    path("portal/chain/report/", report_views.portal_chain_report, name="portal-chain-report"),
    path("portal/chain/report/hop/<int:pk>/", report_views.portal_chain_hop, name="portal-chain-hop"),
]
