"""One way to hand a stored file to the client, after the view has decided who may read it.

Behind nginx (``MTTQ_X_ACCEL``) the answer carries only headers and an
``X-Accel-Redirect`` to an ``internal`` location aliased to the media folder: nginx
sends the bytes, so a 40 MB PDF does not hold a Python thread for the whole download.
The permission check, the access log and the integrity check all stay in the view that
calls :func:`serve_file`. Without nginx (the quick start, tests) Django streams the
file itself with :class:`~django.http.FileResponse`.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header


def x_accel_enabled() -> bool:
    return bool(getattr(settings, "MTTQ_X_ACCEL", False))


def _internal_path(field_file: FieldFile) -> str | None:
    """The internal nginx address of a file in the media folder, or None (not servable so)."""
    storage = field_file.storage
    if not isinstance(storage, FileSystemStorage):
        return None
    root = os.path.realpath(storage.location)
    path = os.path.realpath(storage.path(field_file.name))
    if os.path.commonpath([root, path]) != root:
        return None
    relative = os.path.relpath(path, root).replace(os.sep, "/")
    return settings.MTTQ_X_ACCEL_PREFIX.rstrip("/") + "/" + quote(relative)


def serve_file(field_file: FieldFile, *, content_type: str, filename: str | None = None,
               as_attachment: bool = False, handle=None) -> HttpResponse:
    """The response serving ``field_file`` (already allowed by the caller).

    ``handle``: the file already opened by the caller (e.g. after checking its hash);
    it is used as is without nginx and closed with it. Raises ``FileNotFoundError``
    when the file is missing, in both modes, so views keep one error path.
    """
    internal = _internal_path(field_file) if x_accel_enabled() else None
    if internal is None:
        if handle is None:
            handle = field_file.open("rb")
        return FileResponse(handle, content_type=content_type, as_attachment=as_attachment,
                            filename=filename or "")
    if handle is not None:
        handle.close()
    elif not os.path.isfile(field_file.path):
        raise FileNotFoundError(field_file.name)
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = internal
    disposition = content_disposition_header(as_attachment, filename) if filename else None
    if disposition:
        response["Content-Disposition"] = disposition
    elif as_attachment:
        response["Content-Disposition"] = "attachment"
    return response
