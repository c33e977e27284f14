"""Why a purchase of a pack or subscription was refused; nothing was written when one is raised."""


class PurchaseError(Exception):
    """A sale, subscription start, cancellation or charge was refused; the message says why, for people."""
