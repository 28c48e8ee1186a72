"""Move the meetings' Notification rows and oversight's Notice rows into the one centre.

Oversight keys keep their meaning (``oversight:<key>``), so a reminder already sent
before the move is not sent again by the new service. Their e-mail was handled by
the old code: the rows arrive as already mailed.
"""

from django.db import migrations


def forward(apps, schema_editor):
    Old = apps.get_model("meetings", "Notification")
    OldNotice = apps.get_model("oversight", "Notice")
    New = apps.get_model("notifications", "Notification")
    rows = [New(recipient_id=n.user_id, kind="meeting", event="meeting.notice", text=n.text,
                url=n.url, dedup_key=f"meetings:{n.pk}", created_at=n.created_at,
                read_at=n.created_at if n.read else None, mail="sent")
            for n in Old.objects.all().iterator()]
    rows += [New(recipient_id=n.user_id, kind="deadline",
                 event=f"oversight.{n.key.rsplit(':', 1)[-1]}"[:60], text=n.text, url=n.url,
                 dedup_key=f"oversight:{n.key}"[:160], created_at=n.created_at,
                 read_at=n.read_at, mail="sent")
             for n in OldNotice.objects.all().iterator()]
    New.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_i21_notifications"),
        ("meetings", "0003_i23a_delegation"),
        ("oversight", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
