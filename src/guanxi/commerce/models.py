"""The commerce mirror of the ERP: contracts with milestones (delivery, acceptance and
payment plans), orders with lines, deliveries, invoices and payments.

The ERP is the system of record. Rows arrive by bulk upsert (REST API or file import)
keyed by (source, external_id), so a retried batch never makes a second copy. Amounts
are Decimal in the row's currency; sums are made per currency.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.parties.querysets import ScopedQuerySet, scoped_by_customer

ZERO = Decimal("0")


class CommerceQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Whoever may read the customer reads its commerce records."""
        return scoped_by_customer(self, user)


class ErpRecord(models.Model):
    """Common columns of every mirrored record: where it came from and when."""

    source = models.CharField(_("source system"), max_length=30, default="erp")
    external_id = models.CharField(_("external id"), max_length=100)
    synced_at = models.DateTimeField(_("synced at"), default=timezone.now)

    objects = CommerceQuerySet.as_manager()

    class Meta:
        abstract = True


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ACTIVE = "active", _("in execution")
    COMPLETED = "completed", _("completed")
    TERMINATED = "terminated", _("terminated")
    EXPIRED = "expired", _("expired")


OPEN_CONTRACT_STATUSES = (ContractStatus.DRAFT, ContractStatus.ACTIVE)


class Contract(ErpRecord):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="contracts", verbose_name=_("customer"),
                                 db_index=False)  # led by the (customer, …) index below
    number = models.CharField(_("contract number"), max_length=60)
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ContractStatus.choices,
                              default=ContractStatus.ACTIVE)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    executed_amount = models.DecimalField(_("executed amount"), max_digits=16,
                                          decimal_places=2, default=ZERO)
    opportunity = models.ForeignKey("sales.Opportunity", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="contracts",
                                    verbose_name=_("opportunity"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="uniq_contract_source_external_id")]
        indexes = [models.Index(fields=["customer", "status"], name="commerce_contract_cust")]

    def __str__(self) -> str:
        return self.number

    @property
    def execution_percent(self) -> int | None:
        if not self.amount:
            return None
        return max(0, min(100, int(self.executed_amount * 100 / self.amount)))


class MilestoneKind(models.TextChoices):
    DELIVERY = "delivery", _("delivery")
    INSTALLATION = "installation", _("installation")
    ACCEPTANCE = "acceptance", _("acceptance")
    PAYMENT = "payment", _("payment")
    OTHER = "other", _("other")


class ContractMilestone(models.Model):
    """A step of a contract's execution; kind=payment rows are the payment plan."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="milestones",
                                 verbose_name=_("contract"))
    seq = models.PositiveSmallIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=12, choices=MilestoneKind.choices,
                            default=MilestoneKind.OTHER)
    name = models.CharField(_("name"), max_length=200)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, null=True,
                                 blank=True)

    class Meta:
        ordering = ["contract", "seq"]
        verbose_name = _("contract milestone")
        verbose_name_plural = _("contract milestones")
        constraints = [models.UniqueConstraint(fields=["contract", "seq"],
                                               name="uniq_milestone_contract_seq")]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    CONFIRMED = "confirmed", _("confirmed")
    IN_PRODUCTION = "in_production", _("in production")
    SHIPPED = "shipped", _("shipped")
    DELIVERED = "delivered", _("delivered")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.IN_PRODUCTION,
                       OrderStatus.SHIPPED)


class Order(ErpRecord):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="orders", verbose_name=_("customer"),
                                 db_index=False)  # led by the (customer, …) index below
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="orders", verbose_name=_("contract"))
    number = models.CharField(_("order number"), max_length=60)
    ordered_on = models.DateField(_("ordered on"))
    promised_on = models.DateField(_("promised delivery"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=OrderStatus.choices,
                              default=OrderStatus.CONFIRMED)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    class Meta:
        ordering = ["-ordered_on", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="uniq_order_source_external_id")]
        indexes = [models.Index(fields=["customer", "-ordered_on"], name="commerce_order_cust")]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines",
                              verbose_name=_("order"),
                              db_index=False)  # led by the unique (order, line_no)
    line_no = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey("sales.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="order_lines",
                                verbose_name=_("product"))
    product_code = models.CharField(_("product code"), max_length=50, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3,
                                   default=Decimal("1"))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=16, decimal_places=2,
                                     default=ZERO)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["order", "line_no"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.UniqueConstraint(fields=["order", "line_no"],
                                               name="uniq_orderline_order_line")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_no}"


class DeliveryStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    SHIPPED = "shipped", _("shipped")
    IN_TRANSIT = "in_transit", _("in transit")
    DELIVERED = "delivered", _("delivered")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")


class Delivery(ErpRecord):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="deliveries", verbose_name=_("customer"),
                                 db_index=False)  # led by the (customer, …) index below
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="deliveries", verbose_name=_("order"))
    number = models.CharField(_("delivery number"), max_length=60)
    status = models.CharField(_("status"), max_length=12, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PLANNED)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    shipped_on = models.DateField(_("shipped on"), null=True, blank=True)
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    address = models.CharField(_("delivery address"), max_length=300, blank=True)

    class Meta:
        ordering = ["-expected_on", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="uniq_delivery_source_external_id")]
        indexes = [models.Index(fields=["customer", "status"], name="commerce_delivery_cust"),
                   models.Index(fields=["order"], name="commerce_delivery_order")]

    def __str__(self) -> str:
        return self.number


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("open")
    PARTIALLY_PAID = "partially_paid", _("partially paid")
    PAID = "paid", _("paid")
    CANCELLED = "cancelled", _("cancelled")


OPEN_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


class Invoice(ErpRecord):
    """An invoice is also the receivable: amount − paid_amount is due on due_on."""

    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="invoices", verbose_name=_("customer"),
                                 db_index=False)  # led by the (customer, …) index below
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="invoices", verbose_name=_("order"))
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="invoices", verbose_name=_("contract"))
    number = models.CharField(_("invoice number"), max_length=60)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO)
    paid_amount = models.DecimalField(_("paid"), max_digits=16, decimal_places=2,
                                      default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=16, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.OPEN)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="uniq_invoice_source_external_id")]
        indexes = [models.Index(fields=["customer", "status", "due_on"],
                                name="commerce_invoice_cust"),
                   models.Index(fields=["status", "due_on"], name="commerce_invoice_due")]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding(self) -> Decimal:
        if self.status == InvoiceStatus.CANCELLED:
            return ZERO
        return max(ZERO, self.amount - self.paid_amount)

    def overdue_days(self, today=None) -> int:
        today = today or timezone.localdate()
        if not self.due_on or self.outstanding <= 0 or self.due_on >= today:
            return 0
        return (today - self.due_on).days


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    ACCEPTANCE_BILL = "acceptance_bill", _("bank acceptance bill")
    CASH = "cash", _("cash")
    CHEQUE = "cheque", _("cheque")
    OTHER = "other", _("other")


class Payment(ErpRecord):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="payments", verbose_name=_("customer"),
                                 db_index=False)  # led by the (customer, …) index below
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="payments", verbose_name=_("invoice"))
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="payments", verbose_name=_("contract"))
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices,
                              default=PaymentMethod.BANK_TRANSFER)
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="uniq_payment_source_external_id")]
        indexes = [models.Index(fields=["customer", "-received_on"],
                                name="commerce_payment_cust")]

    def __str__(self) -> str:
        return self.reference or self.external_id
