"""Reads: model lookup, prices in force, plans, exchange rates, price lists and profitability."""
