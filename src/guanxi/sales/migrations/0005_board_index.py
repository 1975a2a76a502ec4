from django.db import migrations, models


class Migration(migrations.Migration):
    """A covering index for the pipeline board's column totals."""

    dependencies = [
        ("sales", "0004_dashboard_rollup"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(fields=["pipeline", "status", "stage", "closed_on", "deleted_at",
                                       "customer", "amount", "exchange_rate"],
                               name="sales_opp_board_cover"),
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(fields=["owner", "pipeline", "status", "stage", "closed_on",
                                       "deleted_at", "customer", "amount", "exchange_rate"],
                               name="sales_opp_board_owner_cover"),
        ),
    ]
