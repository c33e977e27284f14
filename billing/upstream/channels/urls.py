"""Routes (filled in by the part that owns them)."""

urlpatterns: list = []
