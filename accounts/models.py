"""Users, staff roles, customer organisations (the distribution tree) and memberships."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_logo


class StaffRole(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SALES = "sales", _("Sales")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Support")
    AUDITOR = "auditor", _("Auditor (read-only)")


class MemberRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    BILLING = "billing", _("Billing")
    VIEWER = "viewer", _("Viewer")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("staff_role", StaffRole.ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: operator staff (``staff_role`` set) or a customer's user (a membership)."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    staff_role = models.CharField(_("staff role"), max_length=16, choices=StaffRole.choices, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_operator_staff(self) -> bool:
        return bool(self.staff_role) and self.is_active

    @property
    def is_read_only(self) -> bool:
        return self.staff_role == StaffRole.AUDITOR


class Customer(models.Model):
    """A customer organisation: an end customer or a sub-distributor with customers of its own.

    ``path`` is the materialised chain of ids from the top of the tree ("/3/17/42/"), so that a
    sub-distributor's whole subtree, at any depth, is one indexed prefix query.
    """

    class Kind(models.TextChoices):
        END_CUSTOMER = "end_customer", _("End customer")
        SUB_DISTRIBUTOR = "sub_distributor", _("Sub-distributor")

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", _("Simplified Chinese")
        EN = "en", _("English")

    class ChainMode(models.TextChoices):
        """How a sub-distributor sells to its customers (``accounts.chain``)."""

        # S buys at its seller's (wholesale) plan and sells at its own, in its own book.
        RESALE = "resale", _("Resale")
        # S's seller bills S's customers at S's retail plans, in its own book ("via S"); S earns a commission.
        AGENCY = "agency", _("Agency")
        # No hop: S only groups customers that its seller prices and bills (the behaviour before chains).
        DIRECT = "direct", _("Direct")

    class CommissionBasis(models.TextChoices):
        MARGIN = "margin", _("Retail − wholesale")
        PERCENT = "percent", _("Percentage of retail")

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("Short unique reference."))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.END_CUSTOMER)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent sub-distributor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    language = models.CharField(_("document language"), max_length=8, choices=Language.choices, default="en")
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    chain_mode = models.CharField(
        _("chain mode"),
        max_length=8,
        choices=ChainMode.choices,
        default=ChainMode.RESALE,
        help_text=_("For a sub-distributor: resells in its own book, earns a commission, or only groups."),
    )
    # Denormalised from the tree and the chain modes (accounts.chain.chain_refresh keeps them): read by
    # every rating and posting, so they are columns, not a walk up the tree per event.
    seller = models.ForeignKey(
        "self",
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="buyers",
        help_text=_(
            "Whose book this customer is sold in: a resale sub-distributor, or none for the operator."
        ),
    )
    price_owner = models.ForeignKey(
        "self",
        verbose_name=_("prices set by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="priced_customers",
        help_text=_(
            "Whose plans price this customer: its resale or agency sub-distributor, or the operator."
        ),
    )
    commission_basis = models.CharField(
        _("commission basis"), max_length=8, choices=CommissionBasis.choices, default=CommissionBasis.MARGIN
    )
    commission_rate = models.DecimalField(
        _("commission rate"),
        max_digits=7,
        decimal_places=6,
        default=0,
        help_text=_("For a percentage commission: the fraction of retail (0.08 = 8%)."),
    )
    retail_floor = models.DecimalField(
        _("retail floor"),
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_(
            "Lowest markup over its wholesale price this sub-distributor may sell at (0.05 = 5%); "
            "blank: no floor."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["path"]
        # varchar_pattern_ops lets PostgreSQL answer "path LIKE '/3/17/%'" from the index.
        indexes = [
            models.Index(
                fields=["path"], name="accounts_customer_path_prefix", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_sub_distributor(self) -> bool:
        return self.kind == self.Kind.SUB_DISTRIBUTOR

    @property
    def is_reseller(self) -> bool:
        """A sub-distributor that sells in its own book (its customers' seller)."""
        return self.is_sub_distributor and self.chain_mode == self.ChainMode.RESALE

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]


class Membership(models.Model):
    """Ties a customer user to the one organisation it acts for, with a role there."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=MemberRole.choices, default=MemberRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer} ({self.role})"


class Invitation(models.Model):
    """An invitation to be a portal user of ``customer`` as ``role``: the way in, since sign-up is closed.

    Only a hash of the link's token is kept (``accounts.invitations``): a leaked database row opens nothing.
    Resending issues a new token (the old link stops working) and a new expiry. The row stays as history
    once accepted or revoked.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("customer")
    )
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=MemberRole.choices, default=MemberRole.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    invited_at = models.DateTimeField(_("invited"), auto_now_add=True)
    sent_at = models.DateTimeField(_("last sent"))
    send_count = models.PositiveSmallIntegerField(_("times sent"), default=1)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("user"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-invited_at", "-id"]
        constraints = [
            # One open invitation per address and organisation: inviting again is "resend".
            models.UniqueConstraint(
                Lower("email"),
                "customer",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.customer} ({self.role})"

    def status_at(self, now) -> str:
        if self.revoked_at:
            return self.Status.REVOKED
        if self.accepted_at:
            return self.Status.ACCEPTED
        return self.Status.EXPIRED if self.expires_at <= now else self.Status.PENDING


class MembershipEvent(models.Model):
    """What happened to an organisation's portal users and who did it: the history a revoked membership
    (whose row is deleted so that nothing can act on it) leaves behind."""

    class Action(models.TextChoices):
        INVITED = "invited", _("Invited")
        RESENT = "resent", _("Invitation resent")
        ACCEPTED = "accepted", _("Joined")
        ROLE_CHANGED = "role_changed", _("Role changed")
        INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
        REVOKED = "revoked", _("Access revoked")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="membership_events")
    email = models.EmailField(_("e-mail address"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    role = models.CharField(_("role"), max_length=16, choices=MemberRole.choices)
    previous_role = models.CharField(
        _("previous role"), max_length=16, choices=MemberRole.choices, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership event")
        verbose_name_plural = _("membership events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.email} {self.action}"


def _seller_logo_path(profile: "SellerProfile", filename: str) -> str:
    # One folder per seller; the name is the upload's, already checked to be a PNG or JPEG.
    return f"seller-logos/{profile.customer_id}/{filename.rsplit('/', 1)[-1]}"


class SellerProfile(models.Model):
    """A resale sub-distributor's identity on its customers' documents (invoices, receipts, statements,
    e-mails): who sells, where, its tax id, logo and where to pay. The operator's own identity is in
    settings (``OPERATOR_*``); ``accounts.identity.seller_identity`` chooses between them."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="seller_profile", verbose_name=_("sub-distributor")
    )
    legal_name = models.CharField(
        _("legal name"), max_length=200, help_text=_("As printed on invoices; the customer's name if blank.")
    )
    address = models.TextField(_("address"), blank=True)
    tax_id = models.CharField(_("tax ID"), max_length=64, blank=True)
    logo = models.FileField(
        _("logo"),
        upload_to=_seller_logo_path,
        blank=True,
        validators=[validate_logo],
        help_text=_("PNG or JPEG, at most 512 KB and 2000 × 2000 pixels."),
    )
    bank_name = models.CharField(_("bank name"), max_length=200, blank=True)
    bank_account_name = models.CharField(_("account name"), max_length=200, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=64, blank=True)
    bank_code = models.CharField(
        _("SWIFT / branch"), max_length=64, blank=True, help_text=_("SWIFT/BIC code or branch name.")
    )
    billing_email = models.EmailField(
        _("billing e-mail"), blank=True, help_text=_("Printed on documents and used as the reply-to address.")
    )
    invoice_footer = models.TextField(
        _("invoice footer"), blank=True, help_text=_("A note printed at the foot of every document.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("seller profile")
        verbose_name_plural = _("seller profiles")

    def __str__(self) -> str:
        return self.legal_name or str(self.customer)
