"""Imports of vendor usage and vendor invoice totals (issue #18 item 3): one module per file format, each
turning a file into ``rows.SourceRow`` objects (or row errors), ``plan`` resolving channels, models and
days and comparing with what is stored, ``services`` previewing and applying. See docs/upstream-imports.md.
"""
