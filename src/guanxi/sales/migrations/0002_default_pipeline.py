"""A default pipeline with the standard stages of an equipment sale (editable later)."""

from django.db import migrations

STAGES = [
    # (name, order, kind, probability, required fields, required activities)
    ("初步接洽", 10, "open", 10, [], []),
    ("需求确认", 20, "open", 25, ["expected_close"], []),
    ("现场勘查", 30, "open", 40, [], []),
    ("方案报价", 40, "open", 60, ["amount"], ["visit"]),
    ("商务谈判", 50, "open", 80, ["amount", "expected_close"], []),
    ("赢单", 90, "won", 100, ["amount"], []),
    ("输单", 99, "lost", 0, [], []),
]


def create(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.filter(is_default=True).exists():
        return
    p = Pipeline.objects.create(name="标准销售流程", is_default=True)
    for name, order, kind, prob, fields, acts in STAGES:
        Stage.objects.create(pipeline=p, name=name, order=order, kind=kind, probability=prob,
                             required_fields=fields, required_activities=acts)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
