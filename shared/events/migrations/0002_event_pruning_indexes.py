# Indexes for pruning the event tables by age (shared/events/pruning.py)

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='inboxevent',
            index=models.Index(fields=['created_at'], name='inbox_created'),
        ),
        migrations.AddIndex(
            model_name='outboxevent',
            index=models.Index(condition=models.Q(('sent_at__isnull', False)), fields=['sent_at'], name='outbox_sent'),
        ),
    ]
