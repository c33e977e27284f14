from django.urls import path

from billing.usage.api import LiteLLMView, UsageBatchView

urlpatterns = [
    path("api/v1/usage/batches", UsageBatchView.as_view(), name="api-usage-batches"),
    path("api/v1/usage/litellm", LiteLLMView.as_view(), name="api-usage-litellm"),
]
