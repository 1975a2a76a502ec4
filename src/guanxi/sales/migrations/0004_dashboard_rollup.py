"""The dashboard's summary table (sales/rollups.py) and an index for stale-deal detection.

The index (open deals by the time they entered their stage) is created with SQL so the
Opportunity model's state stays untouched; the dashboard's stale-deal list walks it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('sales', '0003_leads_targets_scoring'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DashboardRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('metric', models.CharField(choices=[('contacts', 'contacts'), ('won', 'won'), ('lost', 'lost'), ('open', 'open'), ('cohort', 'cohort'), ('cohort_m', 'cohort by month'), ('idle', "open deal's last activity")], max_length=10)),
                ('day', models.DateField()),
                ('key', models.CharField(blank=True, default='', max_length=24)),
                ('count', models.PositiveIntegerField(default=0)),
                ('amount', models.FloatField(default=0)),
                ('weighted', models.FloatField(default=0)),
                ('days', models.FloatField(default=0)),
                ('product_line', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='sales.productline')),
                ('team', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.team')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['metric', 'day', 'team', 'user', 'product_line', 'key', 'count', 'amount', 'weighted', 'days'], name='sales_rollup_covering')],
            },
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(fields=["status", "stage_entered_at"],
                               name="sales_opp_status_entered"),
        ),
    ]
