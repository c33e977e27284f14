"""Signals of the ledger.

``transactions_posted`` is sent by ``services.transactions_post_many`` with the transactions it created in
bulk: ``bulk_create`` sends no ``post_save``, and watchers of postings (the credit-limit check) must hear of
these as they hear of ``transaction_post``'s.
"""

from django.dispatch import Signal

transactions_posted = Signal()  # sender=JournalTransaction, transactions=[JournalTransaction, …]
