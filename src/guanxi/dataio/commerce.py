"""Importing the ERP mirror from files: `guanxi import orders FILE` (also contracts,
deliveries, invoices and payments) and the same targets in the web wizard (/imports/).

Cells are cleaned by `clean_<target>` (in worker processes too: no database): dates
and amounts as people type them (2026/3/31, 2026年3月31日, ¥1,200, 3.5万), statuses,
milestone kinds and payment methods by value or by label in Chinese or English.
The batcher then writes through `commerce.sync.upsert(partial=True)`: references are
resolved with one query per table per batch and rows are upserted set-wise, keyed by
(source, external id) — so importing the same file twice changes nothing the second
time. Rows that fail (unknown customer, order or product, bad value) are rejected
with the column and the reason; with "skip invalid rows" the others are written.

Flat files carry nested rows one per line: an order file has one row per order line
(order columns repeated, line columns filled), a contract file one row per milestone.
Rows with the same external id make one record with all their lines; the first time
an order appears in an import its stored lines are replaced, later rows of the same
order (further down the file, in a later batch) add to them. Each extra row of a
record counts as "merged". The source system is "erp" unless a column gives it.
The import's mode works as for customers: upsert (default), create (existing records
are left alone) or update (rows without a stored record are rejected).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from . import cleaning
from .prepare import Row

ERP_TARGETS = ("contracts", "orders", "deliveries", "invoices", "payments")
DEFAULT_SOURCE = "erp"

LABELS = {
    "contracts": gettext_lazy("Contracts (ERP)"),
    "orders": gettext_lazy("Orders (ERP)"),
    "deliveries": gettext_lazy("Deliveries (ERP)"),
    "invoices": gettext_lazy("Invoices (ERP)"),
    "payments": gettext_lazy("Payments (ERP)"),
}
JOB_TITLES = {
    ("contracts", False): gettext_noop("Import contracts"),
    ("contracts", True): gettext_noop("Check contracts before import"),
    ("orders", False): gettext_noop("Import orders"),
    ("orders", True): gettext_noop("Check orders before import"),
    ("deliveries", False): gettext_noop("Import deliveries"),
    ("deliveries", True): gettext_noop("Check deliveries before import"),
    ("invoices", False): gettext_noop("Import invoices"),
    ("invoices", True): gettext_noop("Check invoices before import"),
    ("payments", False): gettext_noop("Import payments"),
    ("payments", True): gettext_noop("Check payments before import"),
}

# (key, label, required, synonyms) — fields.py turns them into FieldSpecs.
_CUSTOMER = ("customer", gettext_lazy("Customer external id"), False,
             ("客户编号", "客户编码", "客户代码", "客户id", "客户号", "customer id", "customer no",
              "customer code", "customer external id", "customer"))
_SOURCE = ("source", gettext_lazy("Source system"), False,
           ("来源系统", "系统", "source", "source system"))
_CURRENCY = ("currency", gettext_lazy("Currency"), False, ("币种", "币别", "货币", "currency"))
_CONTRACT_REF = ("contract", gettext_lazy("Contract external id"), False,
                 ("合同编号", "合同号", "合同", "contract", "contract no", "contract number"))
_ORDER_REF = ("order", gettext_lazy("Order external id"), False,
              ("订单编号", "订单号", "销售订单", "订单", "order", "order no", "order number"))

FIELDS: dict[str, tuple[tuple[str, Any, bool, tuple[str, ...]], ...]] = {
    "contracts": (
        ("external_id", gettext_lazy("Contract number / ERP id"), True,
         ("合同编号", "合同号", "合同id", "contract no", "contract number", "contract id",
          "external id", "erp id", "id")),
        ("number", gettext_lazy("Number shown (if not the ERP id)"), False,
         ("显示编号", "number", "display number")),
        (*_CUSTOMER[:2], True, _CUSTOMER[3]),
        ("title", gettext_lazy("Title"), False, ("合同名称", "标题", "名称", "title", "name")),
        ("status", gettext_lazy("Status"), False, ("状态", "合同状态", "执行状态", "status")),
        ("signed_on", gettext_lazy("Signed on"), False, ("签订日期", "签约日期", "签署日期",
                                                         "signed on", "signed", "sign date")),
        ("starts_on", gettext_lazy("Starts on"), False, ("开始日期", "生效日期", "starts on",
                                                         "start date")),
        ("ends_on", gettext_lazy("Ends on"), False, ("结束日期", "终止日期", "ends on", "end date")),
        ("amount", gettext_lazy("Amount"), False, ("合同金额", "金额", "总金额", "amount",
                                                   "contract amount", "total")),
        _CURRENCY,
        ("executed_amount", gettext_lazy("Executed amount"), False,
         ("已执行金额", "执行金额", "executed amount", "executed")),
        ("notes", gettext_lazy("Notes"), False, ("备注", "说明", "notes", "remarks")),
        ("milestone_seq", gettext_lazy("Milestone no."), False, ("节点序号", "里程碑序号",
                                                                 "milestone no", "seq")),
        ("milestone_kind", gettext_lazy("Milestone kind"), False, ("节点类型", "里程碑类型",
                                                                   "milestone kind")),
        ("milestone_name", gettext_lazy("Milestone"), False, ("节点", "节点名称", "里程碑",
                                                              "milestone", "milestone name")),
        ("milestone_due_on", gettext_lazy("Milestone due on"), False,
         ("节点计划日期", "计划日期", "应收日期", "milestone due", "due on")),
        ("milestone_done_on", gettext_lazy("Milestone done on"), False,
         ("节点完成日期", "完成日期", "milestone done", "done on")),
        ("milestone_amount", gettext_lazy("Milestone amount"), False,
         ("节点金额", "计划金额", "milestone amount")),
        _SOURCE,
    ),
    "orders": (
        ("external_id", gettext_lazy("Order number / ERP id"), True,
         ("订单编号", "订单号", "单号", "销售订单号", "订单id", "order no", "order number",
          "order id", "external id", "erp id", "id")),
        ("number", gettext_lazy("Number shown (if not the ERP id)"), False,
         ("显示编号", "number", "display number")),
        (*_CUSTOMER[:2], True, _CUSTOMER[3]),
        _CONTRACT_REF,
        ("ordered_on", gettext_lazy("Ordered on"), True, ("下单日期", "订单日期", "日期",
                                                          "单据日期", "ordered on", "order date",
                                                          "date")),
        ("promised_on", gettext_lazy("Promised delivery"), False,
         ("交货日期", "承诺交期", "交期", "预计交货日期", "promised on", "delivery date",
          "promised delivery")),
        ("status", gettext_lazy("Status"), False, ("状态", "订单状态", "status")),
        ("amount", gettext_lazy("Order amount"), False, ("订单金额", "总金额", "价税合计",
                                                         "order amount", "total")),
        _CURRENCY,
        ("line_no", gettext_lazy("Line no."), False, ("行号", "序号", "line", "line no")),
        ("product_code", gettext_lazy("Product code"), False,
         ("产品编码", "产品代码", "物料编码", "物料代码", "存货编码", "料号", "product code", "sku",
          "item code", "item no")),
        ("description", gettext_lazy("Description"), False,
         ("产品名称", "品名", "物料名称", "存货名称", "规格", "描述", "description", "item",
          "product")),
        ("quantity", gettext_lazy("Quantity"), False, ("数量", "quantity", "qty")),
        ("unit", gettext_lazy("Unit"), False, ("单位", "计量单位", "unit", "uom")),
        ("unit_price", gettext_lazy("Unit price"), False, ("单价", "含税单价", "unit price",
                                                           "price")),
        ("line_amount", gettext_lazy("Line amount"), False, ("金额", "行金额", "小计", "含税金额",
                                                             "line amount", "amount")),
        _SOURCE,
    ),
    "deliveries": (
        ("external_id", gettext_lazy("Delivery number / ERP id"), True,
         ("发货单号", "送货单号", "出库单号", "发货单", "发货编号", "delivery no",
          "delivery number", "external id", "erp id", "id")),
        ("number", gettext_lazy("Number shown (if not the ERP id)"), False,
         ("显示编号", "number", "display number")),
        _CUSTOMER,
        _ORDER_REF,
        ("status", gettext_lazy("Status"), False, ("状态", "发货状态", "物流状态", "status")),
        ("carrier", gettext_lazy("Carrier"), False, ("承运商", "物流公司", "快递公司", "carrier")),
        ("tracking_number", gettext_lazy("Tracking number"), False,
         ("运单号", "快递单号", "物流单号", "tracking number", "tracking no", "waybill")),
        ("shipped_on", gettext_lazy("Shipped on"), False, ("发货日期", "发运日期", "shipped on",
                                                           "ship date")),
        ("expected_on", gettext_lazy("Expected on"), False, ("预计到货日期", "预计到达",
                                                             "expected on", "eta")),
        ("delivered_on", gettext_lazy("Delivered on"), False, ("签收日期", "到货日期",
                                                               "delivered on")),
        ("address", gettext_lazy("Delivery address"), False, ("收货地址", "送货地址", "地址",
                                                              "address", "delivery address")),
        _SOURCE,
    ),
    "invoices": (
        ("external_id", gettext_lazy("Invoice number / ERP id"), True,
         ("发票号", "发票号码", "发票编号", "发票id", "invoice no", "invoice number",
          "invoice id", "external id", "erp id", "id")),
        ("number", gettext_lazy("Number shown (if not the ERP id)"), False,
         ("显示编号", "number", "display number")),
        _CUSTOMER,
        _ORDER_REF,
        _CONTRACT_REF,
        ("issued_on", gettext_lazy("Issued on"), True, ("开票日期", "发票日期", "日期",
                                                        "issued on", "invoice date", "date")),
        ("due_on", gettext_lazy("Due on"), False, ("到期日", "到期日期", "应收日期", "付款期限",
                                                   "due on", "due date")),
        ("amount", gettext_lazy("Amount"), False, ("发票金额", "金额", "价税合计", "amount",
                                                   "invoice amount", "total")),
        ("paid_amount", gettext_lazy("Paid"), False, ("已收金额", "已回款", "回款金额", "已付金额",
                                                      "paid", "paid amount")),
        _CURRENCY,
        ("status", gettext_lazy("Status"), False, ("状态", "发票状态", "status")),
        _SOURCE,
    ),
    "payments": (
        ("external_id", gettext_lazy("Payment number / ERP id"), True,
         ("收款单号", "回款单号", "收款编号", "流水号", "收款单", "payment no", "receipt no",
          "payment id", "external id", "erp id", "id")),
        _CUSTOMER,
        ("invoice", gettext_lazy("Invoice external id"), False, ("发票号", "发票号码", "发票",
                                                                 "invoice", "invoice no")),
        _CONTRACT_REF,
        ("received_on", gettext_lazy("Received on"), True, ("收款日期", "到账日期", "回款日期",
                                                            "日期", "received on", "date")),
        ("amount", gettext_lazy("Amount"), True, ("收款金额", "回款金额", "到账金额", "金额",
                                                  "amount")),
        _CURRENCY,
        ("method", gettext_lazy("Method"), False, ("收款方式", "付款方式", "结算方式", "method")),
        ("reference", gettext_lazy("Reference"), False, ("银行流水号", "凭证号", "参考号",
                                                         "reference", "ref")),
        _SOURCE,
    ),
}

DATES = {"signed_on", "starts_on", "ends_on", "ordered_on", "promised_on", "shipped_on",
         "expected_on", "delivered_on", "issued_on", "due_on", "received_on",
         "milestone_due_on", "milestone_done_on"}
MONEY = {"amount", "executed_amount", "paid_amount", "unit_price", "line_amount",
         "milestone_amount"}
CHILD = {
    "orders": ("lines", {"line_no": "line_no", "product_code": "product_code",
                         "description": "description", "quantity": "quantity", "unit": "unit",
                         "unit_price": "unit_price", "line_amount": "amount"}),
    "contracts": ("milestones", {"milestone_seq": "seq", "milestone_kind": "kind",
                                 "milestone_name": "name", "milestone_due_on": "due_on",
                                 "milestone_done_on": "done_on", "milestone_amount": "amount"}),
}
# Words people write for statuses, kinds and methods, besides the values and labels.
EXTRA_WORDS = {
    "status": {"执行中": "active", "履行中": "active", "生效": "active", "已完成": "completed",
               "完成": "completed", "终止": "terminated", "已终止": "terminated",
               "到期": "expired", "已到期": "expired", "草稿": "draft", "待审核": "pending",
               "待处理": "pending", "已确认": "confirmed", "已审核": "confirmed",
               "生产中": "in_production", "已发货": "shipped", "已签收": "delivered",
               "已到货": "delivered", "已关闭": "closed", "关闭": "closed", "已取消": "cancelled",
               "作废": "cancelled", "已作废": "cancelled", "计划": "planned", "运输中": "in_transit",
               "在途": "in_transit", "退回": "returned", "已退货": "returned", "未收款": "open",
               "未付款": "open", "部分收款": "partially_paid", "部分回款": "partially_paid",
               "已收款": "paid", "已回款": "paid", "已结清": "paid"},
    "milestone_kind": {"发货": "delivery", "交货": "delivery", "安装": "installation",
                       "验收": "acceptance", "付款": "payment", "收款": "payment",
                       "回款": "payment", "其他": "other"},
    "method": {"银行转账": "bank_transfer", "转账": "bank_transfer", "电汇": "bank_transfer",
               "承兑": "acceptance_bill", "承兑汇票": "acceptance_bill",
               "银行承兑汇票": "acceptance_bill", "现金": "cash", "支票": "cheque",
               "其他": "other"},
}
_maps: dict[tuple[str, str], dict[str, str]] = {}


def _choices(target: str, key: str) -> dict[str, str]:
    """Value or label (any language) → value, for a status/kind/method column."""
    from guanxi.commerce import models as m

    if (target, key) not in _maps:
        choices = {
            ("contracts", "status"): m.ContractStatus, ("orders", "status"): m.OrderStatus,
            ("deliveries", "status"): m.DeliveryStatus, ("invoices", "status"): m.InvoiceStatus,
            ("contracts", "milestone_kind"): m.MilestoneKind,
            ("payments", "method"): m.PaymentMethod,
        }[(target, key)]
        words = {w: v for w, v in EXTRA_WORDS[key].items() if v in choices.values}
        _maps[(target, key)] = cleaning._choice_map(choices.choices, words)
    return _maps[(target, key)]


def _quantity(raw: str) -> Decimal:
    try:
        return Decimal(raw.replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from exc


def _integer(raw: str) -> int:
    value = cleaning.integer(raw)
    if value < 1:
        raise ValidationError(_("“%(value)s” is below %(min)s.") % {"value": raw, "min": 1})
    return value


def clean_row(target: str, cells: dict[str, str], lk: cleaning.Lookups) -> tuple[dict[str, Any],
                                                                                 list]:
    """{field: cell text} → (a row as commerce.sync takes it, [(field, message)])."""
    data: dict[str, Any] = {}
    child: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    child_key, child_map = CHILD.get(target, ("", {}))
    for key, raw in cells.items():
        raw = raw.strip()
        if not raw:
            continue
        try:
            if key in DATES:
                value: Any = cleaning.date(raw)
            elif key in MONEY:
                value = cleaning.money(raw)
            elif key == "quantity":
                value = _quantity(raw)
            elif key in ("line_no", "milestone_seq"):
                value = _integer(raw)
            elif key in ("status", "milestone_kind", "method"):
                value = cleaning._lookup(_choices(target, key), raw,
                                         _("“%(value)s” is not one of the choices here."))
            elif key == "currency":
                value = cleaning.to_halfwidth(raw).upper()
            else:
                value = raw
        except ValidationError as exc:
            errors.append((key, exc.messages[0]))
            continue
        if key in child_map:
            child[child_map[key]] = value
        else:
            data[key] = value
    for key, _label, required, _syn in FIELDS[target]:
        if required and key not in data and key not in dict(errors):
            errors.append((key, _("This cell is empty.")))
    if child_key and child:
        if target == "contracts" and "name" not in child:
            errors.append(("milestone_name", _("A milestone needs a name.")))
        data[child_key] = [child]
    return data, errors


def cleaner_for(target: str):
    def clean(cells: dict[str, str], lk: cleaning.Lookups):
        return clean_row(target, cells, lk)

    return clean


# ------------------------------------------------------------------------ writing


_CHILD_FIELD = {"lines": {v: k for k, v in CHILD["orders"][1].items()},
                "milestones": {v: k for k, v in CHILD["contracts"][1].items()}}


def _column(field_path: str) -> str:
    """A sync error's field path → the import field it came from."""
    parts = field_path.split(".")
    if len(parts) >= 3 and parts[0] in _CHILD_FIELD:
        return _CHILD_FIELD[parts[0]].get(parts[2], parts[2])
    return parts[0] if parts else ""


class ErpBatcher:
    """Writes cleaned ERP rows (the engine's writer interface: `process`, `near`)."""

    def __init__(self, *, actor, options, job_id: int | None, **_: Any) -> None:
        self.actor = actor
        self.options = options
        self.job_id = job_id
        self.near: list[dict[str, Any]] = []
        self.seen: dict[str, set[str]] = {}  # source → external ids written in this import
        self.last_seq: dict[tuple[str, str], int] = {}  # highest line/milestone number so far

    def process(self, rows: list[Row], result, reject) -> None:
        if not rows:
            return
        by_source: dict[str, list[Row]] = {}
        for r in rows:
            by_source.setdefault(r.data.get("source") or DEFAULT_SOURCE, []).append(r)
        for source, group in by_source.items():
            self._write(source, group, result, reject)

    def _write(self, source: str, rows: list[Row], result, reject) -> None:
        from guanxi.commerce import sync

        target = self.options.target
        child_key = CHILD.get(target, ("", {}))[0]
        seq_key = "line_no" if child_key == "lines" else "seq"
        records: dict[str, dict[str, Any]] = {}
        members: dict[str, list[Row]] = {}
        for r in rows:
            data = {k: v for k, v in r.data.items() if k != "source"}
            ext = data["external_id"]
            kids = data.pop(child_key, []) if child_key else []
            if ext not in records:
                records[ext] = data
                members[ext] = []
                if child_key:
                    data[child_key] = []
            members[ext].append(r)
            for kid in kids:
                # Unnumbered lines continue the record's numbering across batches.
                last = self.last_seq.get((source, ext), 0)
                kid.setdefault(seq_key, last + 1)
                self.last_seq[(source, ext)] = max(last, kid[seq_key])
                records[ext][child_key].append(kid)
        exts = list(records)
        seen = self.seen.setdefault(source, set())
        for ext in exts:
            if child_key and not records[ext][child_key]:
                del records[ext][child_key]  # no line columns: the stored lines stay
        try:
            outcome = sync.upsert(target, [records[ext] for ext in exts], actor=self.actor,
                                  source=source, mode=self.options.mode, partial=True,
                                  append_children=seen & set(exts))
        except PermissionDenied:
            for r in rows:
                reject(r, "", _("You may not import ERP records."))
            return
        except ValidationError as exc:
            for r in rows:
                reject(r, "source", exc.messages[0])
            return
        problems: dict[int, tuple[str, str]] = {}
        for e in outcome.errors:
            problems.setdefault(e.row, (_column(e.field), e.message))
        for i, ext in enumerate(exts):
            done = outcome.outcomes[i]
            if done is None:
                column, message = problems.get(i, ("", _("This record could not be written.")))
                for r in members[ext]:
                    reject(r, column, message)
                continue
            if ext in seen:  # continues a record written earlier in this import
                result.merged += len(members[ext])
                continue
            seen.add(ext)
            setattr(result, done, getattr(result, done) + 1)
            result.merged += len(members[ext]) - 1
