"""Stored messages of the ledger (``common.stored_text``): transaction kind labels, so a memo can name a
kind in the reader's language (``kinds.kind_message``)."""

from billing.ledger.kinds import KIND_LABELS, KIND_PREFIX_LABELS
from common.stored_text import messages_register

messages_register({f"ledger.kind.{kind}": label for kind, label in KIND_LABELS.items()})
messages_register({f"ledger.kind.{prefix}": label for prefix, label in KIND_PREFIX_LABELS})
