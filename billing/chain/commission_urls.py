from django.urls import path

from billing.chain import commission_views as views

urlpatterns = [
    path("dashboard/finance/commissions/", views.staff_commission_list, name="staff-commission-list"),
    path("dashboard/finance/commissions/issue/", views.staff_commission_issue, name="staff-commission-issue"),
    path(
        "dashboard/finance/commissions/<int:pk>/",
        views.staff_commission_detail,
        name="staff-commission-detail",
    ),
    path(
        "dashboard/finance/commissions/<int:pk>/settle/",
        views.staff_commission_settle,
        name="staff-commission-settle",
    ),
    path(
        "dashboard/finance/commissions/<int:pk>/pdf/", views.staff_commission_pdf, name="staff-commission-pdf"
    ),
    path("portal/commissions/", views.portal_commission_list, name="portal-commission-list"),
    path("portal/commissions/<int:pk>/", views.portal_commission_detail, name="portal-commission-detail"),
    path("portal/commissions/<int:pk>/pdf/", views.portal_commission_pdf, name="portal-commission-pdf"),
    path(
        "portal/agents/commissions/", views.portal_agent_commission_list, name="portal-agent-commission-list"
    ),
    path(
        "portal/agents/commissions/<int:pk>/",
        views.portal_agent_commission_detail,
        name="portal-agent-commission-detail",
    ),
    path(
        "portal/agents/commissions/<int:pk>/settle/",
        views.portal_agent_commission_settle,
        name="portal-agent-commission-settle",
    ),
    path(
        "portal/agents/commissions/<int:pk>/pdf/",
        views.portal_agent_commission_pdf,
        name="portal-agent-commission-pdf",
    ),
]
