"""Usage pages: staff overview and per-customer usage, the portal's usage, the unrated queue, uploads."""
