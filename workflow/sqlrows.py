"""Model instances from SQL written once, for the few reads on the hottest paths.

The ORM spends more CPU building a simple query than the database spends answering
it; the meeting-room poll and the session's user are read that way on every request.
These helpers keep what the ORM would do to the row: the database's converters per
column, then ``Model.from_db``.
"""

from __future__ import annotations

Converters = list[tuple[int, list, object]]


def column_converters(connection, model) -> Converters:
    """For each concrete field of ``model`` (in order) that needs them on this database:
    its index, its converters and its column."""
    meta = model._meta
    found_all: Converters = []
    for index, field in enumerate(meta.concrete_fields):
        column = field.get_col(meta.db_table)
        found = field.get_db_converters(connection) + connection.ops.get_db_converters(column)
        if found:
            found_all.append((index, found, column))
    return found_all


def from_row(model, alias: str, connection, values: list, converters: Converters):
    """A ``model`` instance from the raw values of its concrete fields, as the ORM loads it."""
    for index, found, column in converters:
        for convert in found:
            values[index] = convert(values[index], column, connection)
    return model.from_db(alias, [f.attname for f in model._meta.concrete_fields], values)
