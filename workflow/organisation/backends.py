"""Django's ModelBackend, loading the person of a session with SQL written once.

Every authenticated request loads its user by primary key. Through the ORM, building
that SQL costs more CPU than the database spends answering it: about a quarter of a
meeting-room poll, which 150 delegates send every second. Same row, same object (every
column, the database's converters applied), same checks.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router

from workflow.sqlrows import Converters, column_converters, from_row


@functools.cache
def _plan(alias: str) -> tuple[str, Converters]:
    model = get_user_model()
    connection = connections[alias]
    qn = connection.ops.quote_name
    meta = model._meta
    fields = meta.concrete_fields
    # Only quoted names from the model go into the text; the id is a parameter.
    sql = (f"SELECT {', '.join(qn(f.column) for f in fields)} "  # noqa: S608
           f"FROM {qn(meta.db_table)} WHERE {qn(meta.pk.column)} = %s")
    return sql, column_converters(connection, model)


def user_by_pk(user_id):
    """The user with this primary key, as ``User.objects.get(pk=…)`` returns it, or None."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except (ValidationError, TypeError, ValueError):
        return None
    alias = router.db_for_read(model)
    sql, converters = _plan(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return from_row(model, alias, connection, list(row), converters)


class ModelBackend(DjangoModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            # Stock ModelBackend follows in the list only to load sessions it logged in;
            # asking it as well would hash every wrong password twice.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
