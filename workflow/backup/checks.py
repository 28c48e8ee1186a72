"""What a restore checks before it calls itself done, reported with exact counts.

* every stored file (issued and signed PDFs, uploaded file versions, incoming files,
  oversight case files) against the SHA-256 the database recorded when it was written;
* every issued PDF through the verifier (:func:`signing.validation.verify_pdf`, no network):
  PASSED, FAILED and INDETERMINATE are counted as the verifier said, never rounded up;
* the search index rebuilt from the restored database and compared with it.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass, field

from django.core.management import call_command

_CHUNK = 1024 * 1024
LISTED = 20  # problems named in a report; the counts are always complete


@dataclass
class FileCheck:
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.missing

    def as_dict(self) -> dict:
        return {"checked": self.checked, "mismatched": len(self.mismatched),
                "missing": len(self.missing), "examples": (self.mismatched
                                                           + self.missing)[:LISTED]}


@dataclass
class PdfCheck:
    checked: int = 0
    total: int = 0  # issued PDFs in the database; more than ``checked`` for a sample
    verdicts: dict[str, int] = field(default_factory=lambda: {
        "PASSED": 0, "FAILED": 0, "INDETERMINATE": 0})
    not_passed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"checked": self.checked, "total": self.total, **self.verdicts,
                "seconds": round(self.seconds, 2), "examples": self.not_passed[:LISTED]}


@dataclass
class IndexCheck:
    indexed: int = 0
    expected: int = 0
    missing: int = 0
    extra: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra

    def as_dict(self) -> dict:
        return {"indexed": self.indexed, "expected": self.expected, "missing": self.missing,
                "extra": self.extra, "seconds": round(self.seconds, 2)}


def _sha256(blob) -> str:
    digest = hashlib.sha256()
    with blob.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_querysets():
    from signing.models import SignedPdf
    from workflow.documents.models import FileVersion
    from workflow.incoming.models import IncomingFile
    from workflow.oversight.models import CaseFile

    return [SignedPdf.objects.all(), FileVersion.objects.all(), IncomingFile.objects.all(),
            CaseFile.objects.all()]


def stored_files(chunk: int = 500) -> FileCheck:
    """Hash every stored file against its recorded SHA-256 (read-only: no audit, no mail)."""
    result = FileCheck()
    for queryset in _stored_querysets():
        label = queryset.model._meta.label
        last = 0
        while True:
            rows = list(queryset.filter(pk__gt=last).order_by("pk")
                        .values_list("pk", "blob", "sha256")[:chunk])
            if not rows:
                break
            for pk, name, recorded in rows:
                last = pk
                result.checked += 1
                field_file = queryset.model._meta.get_field("blob")
                blob = field_file.attr_class(queryset.model(pk=pk), field_file, name)
                try:
                    observed = _sha256(blob)
                except (FileNotFoundError, ValueError):
                    result.missing.append(f"{label} #{pk} ({name})")
                    continue
                if observed != recorded:
                    result.mismatched.append(f"{label} #{pk} ({name})")
    return result


def issued_pdfs(sample: int | None = None) -> PdfCheck:
    """Run the verifier over every issued PDF (or a random ``sample`` of them), offline.

    Verdicts are counted as the verifier gives them; a sample says how many of how many.
    """
    import random

    from signing.models import PdfStage, SignedPdf
    from signing.validation import verify_pdf

    result = PdfCheck()
    started = time.monotonic()
    ids = list(SignedPdf.objects.filter(stage=PdfStage.ISSUED).order_by("pk")
               .values_list("pk", flat=True))
    result.total = len(ids)
    if sample is not None and sample < len(ids):
        ids = sorted(random.sample(ids, sample))  # noqa: S311 - a sample, not a secret
    for start in range(0, len(ids), 200):
        for pdf in SignedPdf.objects.filter(pk__in=ids[start:start + 200]).order_by("pk"):
            try:
                data = pdf.read()
            except (FileNotFoundError, ValueError):
                data = b""
            report = verify_pdf(data, fetch=False)
            result.checked += 1
            result.verdicts[report.verdict] = result.verdicts.get(report.verdict, 0) + 1
            if report.verdict != "PASSED":
                why = next((f"{s.field}: {s.sub_indication} {s.reason}"
                            for s in report.signatures if s.verdict != "PASSED"), "")
                result.not_passed.append(f"#{pdf.pk} document {pdf.document_id}: "
                                         f"{report.verdict} {report.message} {why}".strip())
    result.seconds = time.monotonic() - started
    return result


def rebuild_index() -> IndexCheck:
    """Rebuild the whole index from the restored database, then compare the keys."""
    from search import indexer, oversight
    from search.service import get_backend, reset_backend

    started = time.monotonic()
    reset_backend()
    call_command("rebuild_index", stdout=io.StringIO())
    expected = set(indexer.db_versions()) | set(oversight.db_keys())
    indexed = set(get_backend().versions())
    return IndexCheck(indexed=len(indexed), expected=len(expected),
                      missing=len(expected - indexed), extra=len(indexed - expected),
                      seconds=time.monotonic() - started)
