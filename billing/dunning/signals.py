"""Signals dunning sends to higher billing packages (their receivers are connected in ``billing.apps``)."""

from django.dispatch import Signal

# An invoice's dunning ran out and its policy says to propose a write-off. Sent inside the dunning run's
# transaction with ``invoice`` (locked); a receiver (``billing.receivables.writeoffs``, which dunning sits
# below and cannot call) returns the ``WriteOff`` it proposed, recorded on the ``DunningExhaustion``.
write_off_wanted = Signal()
