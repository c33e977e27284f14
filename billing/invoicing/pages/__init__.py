"""Invoice pages: the staff list (filters, totals, bulk issue and send) and detail, and the portal's."""
