"""Catalog pages: the staff dashboard (catalog, imports, plans, alerts, FX) and the portal."""
