"""Routes of the opening-balance import pages."""

urlpatterns: list = []
