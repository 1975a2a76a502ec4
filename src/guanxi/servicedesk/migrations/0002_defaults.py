"""Default queues, ticket types, SLA policies and the working calendar with the
public holidays and make-up working days (调休) of 2025 and 2026 as published by the
State Council. Later years are entered at /service/sla/calendar/."""

import datetime as dt

from django.db import migrations

QUEUES = [
    ("customer_service", "客服中心", 0),
    ("engineering", "工程部", 1),
    ("systems", "系统部", 2),
    ("sales_office", "销售内勤", 3),
    ("finance", "财务部", 4),
]
TYPES = [
    # code, name, queue, default priority, complaint
    ("equipment_fault", "设备故障", "engineering", "high", False),
    ("system_fault", "系统故障", "systems", "high", False),
    ("contract_delivery", "合同与交付咨询", "sales_office", "normal", False),
    ("payment", "付款与发票咨询", "finance", "normal", False),
    ("complaint", "投诉", "customer_service", "high", True),
    ("request", "服务请求", "customer_service", "normal", False),
    ("feedback", "意见与建议", "customer_service", "low", False),
]
# tier ("" = any other tier), priority, first response h, resolution h (business hours)
POLICIES = [
    ("A", "urgent", 1, 8), ("A", "high", 2, 16), ("A", "normal", 4, 24), ("A", "low", 8, 40),
    ("B", "urgent", 2, 16), ("B", "high", 4, 24), ("B", "normal", 8, 40), ("B", "low", 16, 80),
    ("", "urgent", 4, 24), ("", "high", 8, 40), ("", "normal", 16, 56), ("", "low", 24, 80),
]


def _span(first: str, last: str):
    day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


HOLIDAYS = [
    ("2025-01-01", "2025-01-01", "元旦"),
    ("2025-01-28", "2025-02-04", "春节"),
    ("2025-04-04", "2025-04-06", "清明节"),
    ("2025-05-01", "2025-05-05", "劳动节"),
    ("2025-05-31", "2025-06-02", "端午节"),
    ("2025-10-01", "2025-10-08", "国庆节、中秋节"),
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明节"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午节"),
    ("2026-09-25", "2026-09-27", "中秋节"),
    ("2026-10-01", "2026-10-07", "国庆节"),
]
WORKDAYS = [
    ("2025-01-26", "春节调休上班"), ("2025-02-08", "春节调休上班"),
    ("2025-04-27", "劳动节调休上班"),
    ("2025-09-28", "国庆节调休上班"), ("2025-10-11", "国庆节调休上班"),
    ("2026-01-04", "元旦调休上班"),
    ("2026-02-14", "春节调休上班"), ("2026-02-28", "春节调休上班"),
    ("2026-05-09", "劳动节调休上班"),
    ("2026-09-20", "国庆节调休上班"), ("2026-10-10", "国庆节调休上班"),
]


def forwards(apps, schema_editor):
    Queue = apps.get_model("servicedesk", "Queue")
    TicketType = apps.get_model("servicedesk", "TicketType")
    SlaPolicy = apps.get_model("servicedesk", "SlaPolicy")
    BusinessCalendar = apps.get_model("servicedesk", "BusinessCalendar")
    CalendarDay = apps.get_model("servicedesk", "CalendarDay")
    queues = {code: Queue.objects.get_or_create(code=code, defaults={"name": name,
                                                                     "order": order})[0]
              for code, name, order in QUEUES}
    for order, (code, name, queue, priority, complaint) in enumerate(TYPES):
        TicketType.objects.get_or_create(code=code, defaults={
            "name": name, "queue": queues[queue], "default_priority": priority,
            "is_complaint": complaint, "order": order})
    for tier, priority, response, resolution in POLICIES:
        SlaPolicy.objects.get_or_create(tier=tier, priority=priority, defaults={
            "first_response_hours": response, "resolution_hours": resolution})
    calendar, _ = BusinessCalendar.objects.get_or_create(
        is_default=True, defaults={"name": "中国大陆工作日历", "weekdays": [1, 2, 3, 4, 5]})
    for first, last, name in HOLIDAYS:
        for day in _span(first, last):
            CalendarDay.objects.get_or_create(calendar=calendar, date=day,
                                              defaults={"kind": "holiday", "name": name})
    for day, name in WORKDAYS:
        CalendarDay.objects.get_or_create(calendar=calendar, date=dt.date.fromisoformat(day),
                                          defaults={"kind": "workday", "name": name})


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
