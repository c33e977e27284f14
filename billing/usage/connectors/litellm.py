"""Placeholder until the connector lands."""

from billing.usage.connectors import generic_to_canonical as to_canonical

__all__ = ["to_canonical"]
