"""Checks on uploaded files, done before anything is stored.

Content is sniffed, never trusted from the name or the browser's content type:
a file called ``.pdf`` must be a PDF that opens, is not encrypted and has pages;
a DOCX must be a real Office Open XML package without macros.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from .errors import InvalidInput

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
# Pictures of paper (scans): their text is read by OCR in the background.
IMAGE_TYPES = {PNG, JPEG, TIFF}

MAIN_TYPES = {PDF, DOCX}
ATTACHMENT_TYPES = {PDF, DOCX, XLSX, ODT, PNG, JPEG, TIFF}
EXTENSIONS = {
    PDF: {".pdf"},
    DOCX: {".docx"},
    XLSX: {".xlsx"},
    ODT: {".odt"},
    PNG: {".png"},
    JPEG: {".jpg", ".jpeg"},
    TIFF: {".tif", ".tiff"},
}


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    sha256: str
    page_count: int | None


def max_upload_bytes() -> int:
    return int(settings.MTTQ_MAX_UPLOAD_BYTES)


def _too_large_message() -> str:
    return _("The file is larger than the limit of %(mb)d MB.") % {
        "mb": max_upload_bytes() // (1024 * 1024)
    }


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the configured limit.

    Without it a 200 MB upload would be written to a temporary file in full
    before the view could refuse it.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Only flag it here: raising StopUpload this early escapes Django's parser
        # (a 500, and no CSRF token read). The first file chunk past the limit stops it.
        if content_length and content_length > max_upload_bytes() + 1024 * 1024:
            self.request.upload_too_large = True
        return None

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > max_upload_bytes():
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _check_expansion(entries: list[zipfile.ZipInfo], stream: IO[bytes]) -> None:
    """Refuse a package that would expand past the configured size, entry count or ratio.

    The declared sizes are what counts: Python's zipfile (and python-docx on top of it)
    never returns more bytes for an entry than its declared size, and a wrong CRC fails.
    """
    if len(entries) > int(settings.MTTQ_MAX_ZIP_ENTRIES):
        raise InvalidInput(
            _("The file holds %(count)d parts; at most %(limit)d are accepted. Save it again "
              "from the word processor, or split it.")
            % {"count": len(entries), "limit": int(settings.MTTQ_MAX_ZIP_ENTRIES)})
    expanded = sum(max(0, info.file_size) for info in entries)
    limit = int(settings.MTTQ_MAX_ZIP_EXPANDED_BYTES)
    stream.seek(0, io.SEEK_END)
    packed = max(1, stream.tell())
    stream.seek(0)
    ratio = int(settings.MTTQ_MAX_ZIP_RATIO)
    if expanded > limit:
        raise InvalidInput(
            _("The file would expand to %(mb)d MB when opened, more than the %(limit)d MB "
              "accepted for a document. Remove padding or embedded objects, or split it.")
            % {"mb": expanded // (1024 * 1024), "limit": limit // (1024 * 1024)})
    if expanded > 10 * 1024 * 1024 and expanded > packed * ratio:
        raise InvalidInput(
            _("The file would expand %(times)d times when opened (to %(mb)d MB); at most "
              "%(limit)d times is accepted. Save it again from the word processor.")
            % {"times": expanded // packed, "mb": expanded // (1024 * 1024), "limit": ratio})


def _sniff_zip(head: bytes, stream: IO[bytes]) -> str | None:
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(stream) as archive:
            _check_expansion(archive.infolist(), stream)
            names = set(archive.namelist())
            content_types = (
                archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
            )
            mimetype = archive.read("mimetype") if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError):
        raise InvalidInput(_("The file is damaged and cannot be opened.")) from None
    if any(name.lower().endswith("vbaproject.bin") for name in names) or (
        b"macroEnabled" in content_types
    ):
        raise InvalidInput(
            _("The document contains macros, which are not accepted. Save it as .docx "
              "without macros and upload it again.")
        )
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    if mimetype.strip() == ODT.encode():
        return ODT
    return None


def sniff(stream: IO[bytes]) -> str | None:
    stream.seek(0)
    head = stream.read(2048)
    stream.seek(0)
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    kind = _sniff_zip(head, stream)
    stream.seek(0)
    return kind


def pdf_page_count(stream: IO[bytes]) -> int:
    """Open a PDF as pypdf sees it; refuse encrypted or broken files."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    stream.seek(0)
    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise InvalidInput(
                _("The PDF is encrypted or password-protected. Upload a copy without a password.")
            )
        pages = len(reader.pages)
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError):
        raise InvalidInput(_("The PDF is damaged and cannot be opened.")) from None
    finally:
        stream.seek(0)
    if pages < 1:
        raise InvalidInput(_("The PDF has no pages."))
    return pages


def check_upload(upload, *, main: bool) -> CheckedFile:
    """Validate an uploaded file; raise :class:`InvalidInput` with a readable message."""
    if upload is None:
        raise InvalidInput(_("Choose a file to upload."))
    size = upload.size or 0
    if size == 0:
        raise InvalidInput(_("The file is empty (0 bytes)."))
    if size > max_upload_bytes():
        raise InvalidInput(_too_large_message())
    stream = upload.file if hasattr(upload, "file") else upload
    content_type = sniff(stream)
    allowed = MAIN_TYPES if main else ATTACHMENT_TYPES
    name = (upload.name or "").lower()
    extension = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if content_type is None or content_type not in allowed:
        if extension == ".pdf":
            raise InvalidInput(_("The file is named .pdf but is not a valid PDF."))
        if main:
            raise InvalidInput(_("The main document must be a PDF or DOCX file."))
        raise InvalidInput(
            _("This file type is not accepted. Use PDF, DOCX, XLSX, ODT, PNG, JPEG or TIFF.")
        )
    if extension not in EXTENSIONS[content_type]:
        raise InvalidInput(_("The file name extension does not match its content."))
    page_count = pdf_page_count(stream) if content_type == PDF else None
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return CheckedFile(
        content_type=content_type, size=size, sha256=digest.hexdigest(), page_count=page_count
    )


def check_bytes(data: bytes, name: str, *, main: bool) -> CheckedFile:
    """Same checks for bytes in memory (API, tests, CLI)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return check_upload(SimpleUploadedFile(name, data), main=main)


__all__ = ["CheckedFile", "SizeLimitUploadHandler", "check_upload", "check_bytes", "io"]
