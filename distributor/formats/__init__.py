"""Number formats that differ from Django's own locale files (settings.FORMAT_MODULE_PATH)."""
