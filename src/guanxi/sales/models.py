"""Sales force automation: product lines, pipelines and stages with entry rules,
opportunities with their stage history, customer pools (公海) and owner changes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimeStampedModel, VersionedModel
from guanxi.parties.querysets import ScopedQuerySet


class ProductLine(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    product_line = models.ForeignKey(ProductLine, on_delete=models.PROTECT,
                                     related_name="products", verbose_name=_("product line"))
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(_("list price (元)"), max_digits=14, decimal_places=2,
                                     null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["product_line", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    """A standard sales process: ordered stages, per product line (or the default one)."""

    name = models.CharField(_("name"), max_length=100)
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="pipelines",
                                     verbose_name=_("product line"))
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class Stage(models.Model):
    """One step of a pipeline. A deal may only enter it when `required_fields` of the
    opportunity are filled and interactions of every kind in `required_activities`
    have been logged for it (or its customer since the deal was created)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages",
                                 verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices,
                            default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    required_activities = models.JSONField(_("required activities"), default=list, blank=True,
                                           help_text=_("Kinds of interaction that must be "
                                                       "logged first, e.g. visit."))

    class Meta:
        ordering = ["pipeline", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "order"],
                                               name="uniq_stage_order")]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class OpportunityQuerySet(ScopedQuerySet):
    pass


class Opportunity(TimeStampedModel, SoftDeleteModel, VersionedModel):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="opportunities", verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="opportunities",
                                verbose_name=_("contact"))
    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT,
                                 related_name="opportunities", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities",
                              verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=8, choices=OpportunityStatus.choices,
                              default=OpportunityStatus.OPEN, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="opportunities",
                              verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="opportunities", verbose_name=_("region / office"))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="opportunities",
                                     verbose_name=_("product line"))
    products = models.ManyToManyField(Product, blank=True, related_name="opportunities",
                                      verbose_name=_("products"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    exchange_rate = models.DecimalField(_("rate to 元"), max_digits=12, decimal_places=6,
                                        default=Decimal("1"))
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), null=True, blank=True,
        help_text=_("Empty: the stage's probability (or the learned score)."))
    competitors = models.CharField(_("competitors"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    source = models.CharField(_("source channel"), max_length=20, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=200, blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)

    objects = OpportunityQuerySet.as_manager_alive()
    all_objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "stage", "status"]),
            models.Index(fields=["owner", "status", "expected_close"]),
            models.Index(fields=["status", "expected_close"]),
            models.Index(fields=["customer", "status"]),
        ]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.name

    @property
    def amount_cny(self) -> Decimal:
        return (self.amount * self.exchange_rate).quantize(Decimal("0.01"))

    @property
    def win_probability(self) -> int:
        if self.probability is not None:
            return self.probability
        return self.stage.probability


class StageChange(models.Model):
    """The full stage history of a deal, with dates (also on the customer's timeline)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")


class Pool(models.Model):
    """A customer pool (公海) of a region/office: customers there have no owner."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="pools",
                             verbose_name=_("region / office"))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="pools",
                                     verbose_name=_("product line"))
    daily_claim_limit = models.PositiveSmallIntegerField(_("claims per rep per day"), default=10)
    return_after_days_without_contact = models.PositiveSmallIntegerField(
        _("return when not followed up for (days)"), default=30)
    return_after_days_without_open_deal = models.PositiveSmallIntegerField(
        _("return when no open opportunity after (days)"), default=90)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer pool")
        verbose_name_plural = _("customer pools")

    def __str__(self) -> str:
        return self.name


class OwnerChangeReason(models.TextChoices):
    CLAIM = "claim", _("claimed from the pool")
    RELEASE = "release", _("released to the pool")
    AUTO_RETURN = "auto_return", _("returned to the pool automatically")
    ASSIGN = "assign", _("assigned")


class OwnerChange(models.Model):
    """Every change of a customer's owner, kept forever."""

    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="owner_changes")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=12, choices=OwnerChangeReason.choices)
    pool = models.ForeignKey(Pool, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["to_user", "reason", "at"])]
        verbose_name = _("owner change")
        verbose_name_plural = _("owner changes")
