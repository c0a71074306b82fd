from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="refreshtokenrecord",
            name="grace_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
