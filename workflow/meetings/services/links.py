"""Reading a paper's file: which file version a paper shows, and the signed links the room state
hands out (``paper_link_token``: one paper, one file version, one session and reader, 15
minutes) so that 150 delegates opening the same paper cost no session, user or permission
query; opening checks only that the version belongs to that paper and its document is not
confidential (one primary-key read). File version rows are kept in each process for a minute.
It may call :mod:`.poll` (the MAC) and the documents models.
"""

from __future__ import annotations

import functools
import time

from django.db import connections, router
from django.utils.crypto import constant_time_compare

from workflow.documents.models import (
    Document,
    FileKind,
    FileVersion,
)
from workflow.inputs import is_id

from ..models import (
    Paper,
)
from .poll import _mac


def paper_file_version(paper: Paper, version_id=None) -> FileVersion | None:
    """The file to show: a chosen version of one of the paper's documents, else the main file."""
    doc_ids = [paper.document_id, *paper.previous_documents]
    if version_id:
        if not is_id(version_id):
            return None
        return FileVersion.objects.filter(pk=version_id, file__document_id__in=doc_ids).first()
    files = list(paper.document.files.select_related("current_version").order_by("kind", "pk"))
    main = next((f for f in files if f.kind == FileKind.MAIN), None) or (files[0] if files
                                                                          else None)
    return main.current_version if main else None


# Links to a paper's file handed out with the room state carry a signed token, so the
# moment 150 delegates open the same paper costs no session, user or permission
# queries: the decision was made when the state was built for that person. A token
# names the paper, the file version and (hashed) the session it was made for, and
# lapses after PAPER_LINK_SECONDS; a lapsed or foreign one falls back to the full check.
PAPER_LINK_SECONDS = 15 * 60


_PAPER_LINK_SALT = "workflow.meetings.paper-link"


def _link_mac(paper_id: int, version_id: int, stamp: str, session_key: str) -> str:
    return _mac(_PAPER_LINK_SALT, f"{paper_id}.{version_id}.{stamp}.{session_key}")[:32]


def paper_link_token(paper_id: int, version_id: int, session_key: str,
                     now: float | None = None, user_id: int | None = None) -> str:
    """``version.time.mac[.user]``: URL-safe, a few microseconds to make (one per paper per
    poll). The reader's id, under the MAC, lets the opening be access-logged without a
    session or user query."""
    stamp = format(int(time.time() if now is None else now), "x")
    if user_id is None:
        return f"{version_id}.{stamp}.{_link_mac(paper_id, version_id, stamp, session_key)}"
    mac = _link_mac(paper_id, version_id, stamp, f"{session_key}.{int(user_id)}")
    return f"{version_id}.{stamp}.{mac}.{int(user_id)}"


# File versions never change once written (a new upload is a new row), so the rows a
# burst of link openings needs are kept in each process for a minute, as plain values:
# every request gets its own instance, because an instance's FieldFile holds the open
# file and must not be shared between threads.
_VERSION_ROWS: dict[int, tuple[float, list]] = {}


_VERSION_ROW_SECONDS = 60


_VERSION_ROWS_MAX = 256


_VERSION_FIELDS = [f.attname for f in FileVersion._meta.concrete_fields]


def _file_version(version_id: int) -> tuple[FileVersion, int] | None:
    """The version and the id of the document it belongs to (both never change)."""
    now = time.monotonic()
    hit = _VERSION_ROWS.get(version_id)
    if hit is None or now - hit[0] >= _VERSION_ROW_SECONDS:
        values = FileVersion.objects.filter(pk=version_id).values_list(
            *_VERSION_FIELDS, "file__document_id").first()
        if values is None:
            return None
        if len(_VERSION_ROWS) >= _VERSION_ROWS_MAX:
            _VERSION_ROWS.clear()
        hit = _VERSION_ROWS[version_id] = (now, list(values))
    return FileVersion.from_db(None, _VERSION_FIELDS, hit[1][:-1]), hit[1][-1]


@functools.cache
def _paper_serves_plan(alias: str) -> tuple[str, list]:
    """The SQL for one paper's documents and the current one's confidentiality, with the
    converters ``previous_documents`` needs on this database (written once: the ORM's
    query building cost more than the read itself on the 150-reader burst)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    paper, document = Paper._meta, Document._meta
    previous = paper.get_field("previous_documents")
    column = previous.get_col(paper.db_table)
    converters = (previous.get_db_converters(connection)
                  + connection.ops.get_db_converters(column))
    sql = (f"SELECT p.{qn(paper.get_field('document').column)}, "  # noqa: S608
           f"p.{qn(previous.column)}, d.{qn(document.get_field('confidential').column)} "
           f"FROM {qn(paper.db_table)} p LEFT JOIN {qn(document.db_table)} d "
           f"ON d.{qn(document.pk.column)} = p.{qn(paper.get_field('document').column)} "
           f"WHERE p.{qn(paper.pk.column)} = %s")
    return sql, [(convert, column) for convert in converters]


def _paper_serves(paper_id: int, document_id: int) -> bool:
    """Is ``document_id`` (still) one of this paper's documents, and not confidential?

    Not cached: confidentiality may be set at any moment and must win at once; one
    primary-key read per opening.
    """
    alias = router.db_for_read(Paper)
    connection = connections[alias]
    sql, converters = _paper_serves_plan(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [paper_id])
        row = cursor.fetchone()
    if row is None:
        return False
    current, previous, confidential = row
    for convert, column in converters:
        previous = convert(previous, column, connection)
    if document_id == current:
        return not confidential
    return document_id in (previous or []) and Document.objects.filter(
        pk=document_id, confidential=False).exists()


def paper_link_version(token: str, paper_id: int, session_key: str | None
                       ) -> FileVersion | None:
    """The file version a valid token for this paper and session grants, else None."""
    if not token or not session_key or len(token) > 80:
        return None
    parts = token.split(".")
    reader = parts.pop() if len(parts) == 4 else None
    if len(parts) != 3 or not is_id(parts[0]) or (reader is not None
                                                     and not is_id(reader)):
        return None
    version, stamp, mac = parts
    if reader is not None:
        session_key = f"{session_key}.{reader}"
    try:
        age = time.time() - int(stamp, 16)
    except ValueError:
        return None
    if not 0 <= age <= PAPER_LINK_SECONDS + 1 or not constant_time_compare(
            mac, _link_mac(paper_id, int(version), stamp, session_key)):
        return None
    # Even a valid MAC only opens a file of that paper (a leaked key must not open any
    # version of any document), and never a confidential one: those take the full check.
    found = _file_version(int(version))
    if found is None or not _paper_serves(paper_id, found[1]):
        return None
    # Fresh instance per request: safe to carry who opened which document.
    found[0].link_reader_id = int(reader) if reader is not None else None
    found[0].link_document_id = found[1]
    return found[0]


def paper_versions(paper: Paper) -> list[FileVersion]:
    doc_ids = [paper.document_id, *paper.previous_documents]
    return list(FileVersion.objects.filter(file__document_id__in=doc_ids).select_related(
        "file", "file__document").order_by("-uploaded_at", "-pk"))
