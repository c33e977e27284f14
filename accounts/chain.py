"""The distribution chain: who sells to whom, whose plans price whom, and whose book holds a sale.

vendors → operator → sub-distributors → … → end customers. A *resale* sub-distributor S buys at its
seller's plan and sells at its own, in its own book: it is its customers' ``seller``. An *agency* S sets the
retail plans (``price_owner``) but its seller bills its customers, in the seller's book, and pays S a
commission. A *direct* S only groups customers for its seller. ``seller`` None is the operator.

The two columns are derived from the tree and the modes and kept here, written once per change of either,
so that rating and posting read them as plain columns (no walk up the tree per event).
"""

from django.conf import settings
from django.db import transaction

from accounts.models import Customer

Mode = Customer.ChainMode


def chain_of(parent: Customer | None) -> tuple[int | None, int | None]:
    """Return ``(seller_id, price_owner_id)`` for a customer under ``parent``."""
    if parent is None:
        return None, None
    seller_id = parent.pk if parent.chain_mode == Mode.RESALE else parent.seller_id
    owner_id = parent.pk if parent.chain_mode in (Mode.RESALE, Mode.AGENCY) else parent.price_owner_id
    return seller_id, owner_id


@transaction.atomic
def chain_refresh(root: Customer) -> int:
    """Recompute ``seller`` and ``price_owner`` for ``root``'s whole subtree (after ``root`` changed its
    chain mode or was created); return how many customers changed. Parents are refreshed before their
    children (ordered by depth), so each child reads its parent's new values."""
    changed = 0
    rows = {c.pk: c for c in Customer.objects.filter(path__startswith=root.path).order_by("depth", "pk")}
    parent_ids = {c.parent_id for c in rows.values() if c.parent_id and c.parent_id not in rows}
    parents = {c.pk: c for c in Customer.objects.filter(pk__in=parent_ids)} | rows
    for customer in rows.values():
        seller_id, owner_id = chain_of(parents.get(customer.parent_id))
        if (customer.seller_id, customer.price_owner_id) != (seller_id, owner_id):
            customer.seller_id, customer.price_owner_id = seller_id, owner_id
            Customer.objects.filter(pk=customer.pk).update(seller_id=seller_id, price_owner_id=owner_id)
            changed += 1
    return changed


def agent_of(customer: Customer) -> int | None:
    """The agency sub-distributor earning a commission on ``customer``'s usage, or None: the owner of its
    plans when that owner does not sell in its own book."""
    owner = customer.price_owner
    if owner is not None and owner.chain_mode == Mode.AGENCY:
        return owner.pk
    return None


def book_label(book_id: int | None) -> str:
    """The book's name as pages print it: a sub-distributor's name, or the operator's."""
    if book_id is None:
        return settings.OPERATOR_NAME
    return Customer.objects.only("name").get(pk=book_id).name
