from django.urls import path

from billing.usage.api import LiteLLMView, UsageBatchView
from billing.usage.views import corrections, portal, staff, unrated, uploads

urlpatterns = [
    path("api/v1/usage/batches", UsageBatchView.as_view(), name="api-usage-batches"),
    path("api/v1/usage/litellm", LiteLLMView.as_view(), name="api-usage-litellm"),
    path("dashboard/usage/", staff.usage_overview, name="staff-usage"),
    path("dashboard/customers/<int:pk>/usage/", staff.customer_usage, name="staff-customer-usage"),
    path("dashboard/usage/unrated/", unrated.unrated_list, name="staff-usage-unrated"),
    path("dashboard/usage/unrated/rerate/", unrated.unrated_rerate, name="staff-usage-rerate"),
    path("dashboard/usage/corrections/", corrections.usage_corrections, name="staff-usage-corrections"),
    path("dashboard/usage/uploads/", uploads.upload_list, name="staff-usage-uploads"),
    path("dashboard/usage/uploads/new/", uploads.upload_create, name="staff-usage-upload-create"),
    path("dashboard/usage/uploads/<int:pk>/", uploads.upload_detail, name="staff-usage-upload"),
    path("dashboard/usage/uploads/<int:pk>/resume/", uploads.upload_resume, name="staff-usage-upload-resume"),
    path(
        "dashboard/usage/uploads/<int:pk>/progress/",
        uploads.upload_progress,
        name="staff-usage-upload-progress",
    ),
    path("portal/usage/", portal.portal_usage, name="portal-usage"),
]
