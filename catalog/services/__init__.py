"""Writes: models and price books, plans and assignments, exchange rates, imports and alerts."""
