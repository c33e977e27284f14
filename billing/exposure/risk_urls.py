"""Routes of this part of the working-capital pages (billing.exposure.urls includes them)."""

urlpatterns: list = []
