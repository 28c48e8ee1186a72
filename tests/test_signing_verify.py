"""The verify page and verify_pdf command answer clearly for any input, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from tests.factories import pdf_bytes


@pytest.mark.django_db
@pytest.mark.parametrize("name,data,expected", [
    ("x.pdf", b"not a pdf at all", "not a PDF"),
    ("x.pdf", b"%PDF-1.7\n1 0 obj garbage", "damaged"),
    ("x.pdf", None, "no digital signature"),
])
def test_verify_page_answers(client, name, data, expected):
    payload = data if data is not None else pdf_bytes("Unsigned", pages=2)
    response = client.post("/signing/verify/", {"file": SimpleUploadedFile(name, payload)},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.django_db
def test_verify_page_without_file(client):
    response = client.post("/signing/verify/", {})
    assert response.status_code == 200


def test_verify_command_unsigned(tmp_path, capsys):
    path = tmp_path / "u.pdf"
    path.write_bytes(pdf_bytes())
    with pytest.raises(SystemExit):
        call_command("verify_pdf", str(path), "--json")
    assert '"ok": false' in capsys.readouterr().out
