"""The meetings' and oversight's notice lists move into the notification centre."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("notifications", "0001_i21_notifications"), ("meetings", "0003_i23a_delegation"),
          ("oversight", "0001_initial")]
AFTER = [("notifications", "0002_i21_import_old_lists"),
         ("meetings", "0004_i21_notifications_moved"),
         ("oversight", "0002_i21_notifications_moved")]


@pytest.mark.django_db(transaction=True)
def test_old_rows_arrive_read_state_and_keys_kept():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("organisation", "User")
    person = User.objects.create(username="nguoi-nhan", password="!")
    old.get_model("meetings", "Notification").objects.create(
        user_id=person.pk, text="Mời họp", url="/meetings/1/", read=True)
    old.get_model("meetings", "Notification").objects.create(user_id=person.pk, text="Tài liệu")
    old.get_model("oversight", "Notice").objects.create(
        user_id=person.pk, key="rec:7:overdue", text="Quá hạn", url="/oversight/")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = {n.text: n for n in new.get_model("notifications", "Notification").objects.all()}
    assert set(rows) == {"Mời họp", "Tài liệu", "Quá hạn"}
    assert rows["Mời họp"].read_at is not None and rows["Tài liệu"].read_at is None
    assert rows["Quá hạn"].dedup_key == "oversight:rec:7:overdue"
    assert rows["Quá hạn"].kind == "deadline" and rows["Quá hạn"].mail == "sent"
    # Back to the latest state for the rest of the suite.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
