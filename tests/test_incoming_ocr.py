"""A scanned paper document: OCR (tesseract, Vietnamese) reads the first page and
pre-fills the registration form; the text is searchable afterwards."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from search import service
from tests.factories import PASSWORD
from tests.test_search_ocr import needs_ocr, scanned_pdf
from workflow.incoming.models import IncomingDocument
from workflow.organisation.models import Role

HEADER = [
    "ỦY BAN NHÂN DÂN",
    "XÃ KIM LIÊN",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Số: 15/GM-UBND",
    "Kim Liên, ngày 02 tháng 12 năm 2026",
    "GIẤY MỜI",
    "Dự hội nghị sơ kết công tác dân vận",
]


@needs_ocr
@pytest.mark.django_db(transaction=True)
def test_scan_is_read_prefilled_registered_and_found(org):
    clerk = Client()
    assert clerk.login(username=org.person("commune", Role.CLERK).username, password=PASSWORD)
    page = clerk.post(reverse("incoming:intake"), {
        "unit": org.units["commune"].pk, "read": "1",
        "scan": SimpleUploadedFile("giay-moi.pdf", scanned_pdf(HEADER))})
    assert page.status_code == 200
    data = page.context["data"]
    assert data["number_symbol"] == "15/GM-UBND"
    assert str(data["issued_on"]) == "2026-12-02"
    assert "KIM LIÊN" in data["issuer_name"].upper()
    registered = clerk.post(reverse("incoming:intake"), {
        "unit": org.units["commune"].pk, "file_id": page.context["file_id"],
        "source": "paper", "issuer_name": data["issuer_name"],
        "number_symbol": data["number_symbol"], "issued_on": "2026-12-02",
        "subject": "Giấy mời dự hội nghị", "priority": "normal"})
    assert registered.status_code == 302
    incoming = IncomingDocument.objects.get(number_symbol="15/GM-UBND")
    hits = service.search(org.person("commune", Role.CLERK), "so ket cong tac dan van")
    assert ("incoming", incoming.pk) in {(h.kind, h.id) for h in hits.hits}
