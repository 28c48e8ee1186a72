"""Issue #23, finding 1: a DOCX must not make the server fetch addresses or read local files.

Crafted DOCX files: an image relationship with ``TargetMode="External"`` pointing at a
loopback HTTP server started here (no request may arrive), one pointing at
``file:///…/seals/<seal>.png`` (the seal must not be embedded in the rendered PDF),
fields that fetch, OLE objects. Each level is tested alone as well: the sanitiser
without the sandbox, the sandbox without the sanitiser.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import quoteattr

import pytest

from signing import docx_convert, docx_safety, render

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(render.soffice_binary() is None,
                       reason="LibreOffice (Debian libreoffice-writer) is not installed"),
]

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _png(color=(200, 0, 0)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (60, 60), color).save(out, "PNG")
    return out.getvalue()


def _docx_with_picture() -> bytes:
    from docx import Document as Docx
    from docx.shared import Mm

    document = Docx()
    document.add_paragraph("Kế hoạch tổ chức hội nghị")
    document.add_picture(io.BytesIO(_png((0, 0, 200))), width=Mm(30))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rewrite(data: bytes, edits: dict[str, callable]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            raw = src.read(info)
            if info.filename in edits:
                raw = edits[info.filename](raw.decode()).encode()
            dst.writestr(info.filename, raw)
    return out.getvalue()


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as package:
        package.writestr(name, content)
    return buffer.getvalue()


def external_image_docx(target: str) -> bytes:
    """The picture's relationship made external: ``r:link`` to ``target`` instead of the part."""
    def rels(xml: str) -> str:
        return re.sub(r'(<Relationship [^>]*Target=")media/[^"]+("[^>]*?)(/?>)',
                      lambda m: f'{m.group(1)}{target}{m.group(2)} TargetMode="External"'
                                f'{m.group(3)}', xml)

    def body(xml: str) -> str:
        return xml.replace("r:embed=", "r:link=")

    return _rewrite(_docx_with_picture(), {"word/_rels/document.xml.rels": rels,
                                           "word/document.xml": body})


def field_docx(instruction: str) -> bytes:
    """A complex field whose instruction is split over two runs, as Word writes them."""
    half = len(instruction) // 2

    def body(xml: str) -> str:
        field = (
            '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve">{instruction[:half]}</w:instrText></w:r>'
            f'<w:r><w:instrText xml:space="preserve">{instruction[half:]}</w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>kết quả</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
            f'<w:p><w:fldSimple w:instr={quoteattr(instruction)}><w:r><w:t>đơn giản</w:t></w:r>'
            '</w:fldSimple></w:p>'
        )
        return xml.replace("<w:body>", "<w:body>" + field, 1)

    return _rewrite(_docx_with_picture(), {"word/document.xml": body})


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def _answer(self):
        type(self).requests.append(f"{self.command} {self.path}")
        body = _png((0, 200, 0))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A loopback HTTP server that records every request made to it."""
    handler = type("Recorder", (_Recorder,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler.requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def seal(tmp_path):
    """Another unit's seal image, where the media folder keeps seals."""
    folder = tmp_path / "media" / "signing" / "seals"
    folder.mkdir(parents=True)
    path = folder / "other-unit.png"
    path.write_bytes(_png((250, 10, 10)))
    return path


def _image_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        for ref in xobjects.values():
            if ref.get_object().get("/Subtype") == "/Image":
                count += 1
    return count


def _no_sanitiser(monkeypatch):
    monkeypatch.setattr(docx_safety, "sanitize_docx",
                        lambda data: docx_safety.Sanitized(data))


# --- the attacks, end to end ----------------------------------------------------------------


def test_external_image_link_is_not_fetched(listener):
    server, requests = listener
    data = external_image_docx(f"http://127.0.0.1:{server.server_port}/anh.png")
    pdf = render.convert_docx(data)
    assert pdf.startswith(b"%PDF-")
    assert requests == []


def test_file_url_seal_is_not_embedded(seal):
    data = external_image_docx(seal.as_uri())
    pdf = render.convert_docx(data)
    assert pdf.startswith(b"%PDF-")
    assert _image_count(pdf) == 0


def test_fetching_fields_do_not_reach_out(listener):
    server, requests = listener
    url = f"http://127.0.0.1:{server.server_port}/truong.png"
    pdf = render.convert_docx(field_docx(f' INCLUDEPICTURE "{url}" \\d '))
    assert pdf.startswith(b"%PDF-")
    assert requests == []


# --- each level alone -----------------------------------------------------------------------


def test_sandbox_alone_blocks_network_and_local_files(listener, seal, monkeypatch):
    """Without the sanitiser, the converter still has no network and no sight of media."""
    if docx_convert._bwrap() is None:
        pytest.skip("bubblewrap cannot run here")
    _no_sanitiser(monkeypatch)
    server, requests = listener
    render.convert_docx(external_image_docx(f"http://127.0.0.1:{server.server_port}/a.png"))
    assert requests == []
    assert _image_count(render.convert_docx(external_image_docx(seal.as_uri()))) == 0


def test_sanitiser_alone_blocks_network_and_local_files(listener, seal, settings):
    settings.SIGNING_DOCX_SANDBOX = "off"
    server, requests = listener
    render.convert_docx(external_image_docx(f"http://127.0.0.1:{server.server_port}/a.png"))
    assert requests == []
    assert _image_count(render.convert_docx(external_image_docx(seal.as_uri()))) == 0


def test_an_ordinary_picture_is_kept():
    pdf = render.convert_docx(_docx_with_picture())
    assert _image_count(pdf) == 1


def test_without_a_working_sandbox_conversion_is_refused(monkeypatch):
    docx_convert._bwrap.cache_clear()
    monkeypatch.setattr(docx_convert.shutil, "which",
                        lambda name, *a, **k: None if name == "bwrap" else "/usr/bin/" + name)
    try:
        with pytest.raises(render.RenderError, match="cannot be converted safely"):
            render.convert_docx(_docx_with_picture())
    finally:
        docx_convert._bwrap.cache_clear()


# --- the sanitiser's output -----------------------------------------------------------------


def test_sanitiser_strips_external_relationships_fields_and_ole():
    data = external_image_docx("http://198.51.100.7/x.png")
    data = _rewrite(data, {
        "word/_rels/document.xml.rels": lambda xml: xml.replace(
            "</Relationships>",
            '<Relationship Id="rIdOle" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/oleObject" Target="embeddings/oleObject1.bin"/>'
            '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/attachedTemplate" Target="file:///etc/passwd" '
            'TargetMode="External"/>'
            '<Relationship Id="rIdH" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/hyperlink" Target="https://mattran.org.vn/" '
            'TargetMode="External"/>'
            '<Relationship Id="rIdUp" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/image" Target="../../../../etc/hostname"/></Relationships>'),
    })
    data = _with_part(data, "word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0OLE")
    assert "word/embeddings/oleObject1.bin" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    data = _rewrite(data, {"word/document.xml": lambda xml: xml.replace(
        "<w:body>", '<w:body><w:p><w:fldSimple w:instr=" LINK Excel.Sheet.8 &quot;\\\\\\\\srv'
                    '\\\\a.xls&quot; "><w:r><w:t>bảng</w:t></w:r></w:fldSimple></w:p>', 1)})

    result = docx_safety.sanitize_docx(data)
    assert result.changed
    package = zipfile.ZipFile(io.BytesIO(result.data))
    rels = package.read("word/_rels/document.xml.rels").decode()
    assert 'TargetMode="External"' in rels  # the https hyperlink stays clickable
    assert "198.51.100.7" not in rels and "/etc/passwd" not in rels
    assert "oleObject" not in rels and "etc/hostname" not in rels
    assert "word/embeddings/oleObject1.bin" not in package.namelist()
    body = package.read("word/document.xml").decode()
    assert "r:link" not in body and "LINK Excel" not in body
    assert "bảng" in body  # the field's shown result is kept

    fields = docx_safety.sanitize_docx(field_docx(' INCLUDETEXT "file:///etc/passwd" '))
    body = zipfile.ZipFile(io.BytesIO(fields.data)).read("word/document.xml").decode()
    assert "INCLUDE" not in body and "passwd" not in body and "kết quả" in body


def test_sanitiser_leaves_a_clean_file_alone():
    data = _docx_with_picture()
    assert docx_safety.sanitize_docx(data).data == data


def test_sanitiser_refuses_dtd_and_bombs():
    entity = _rewrite(_docx_with_picture(), {"word/document.xml": lambda xml: xml.replace(
        "?>", '?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)})
    with pytest.raises(docx_safety.UnsafeDocx):
        docx_safety.sanitize_docx(entity)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", b"<a/>")
        package.writestr("word/media/zeros.bin", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(docx_safety.UnsafeDocx, match="compressed"):
        docx_safety.sanitize_docx(bomb.getvalue())
    with pytest.raises(render.RenderError):
        render.convert_docx(entity)


def test_sanitiser_cleans_svg_images():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<style>@import url(http://198.51.100.7/a.css);</style>'
           '<image xlink:href="file:///var/media/signing/seals/a.png" width="10" height="10"/>'
           '<rect style="fill:url(http://198.51.100.7/p)" fill="url(#g)" width="5" height="5"/>'
           '</svg>')
    data = _with_part(_docx_with_picture(), "word/media/hinh.svg", svg.encode())
    result = docx_safety.sanitize_docx(data)
    cleaned = zipfile.ZipFile(io.BytesIO(result.data)).read("word/media/hinh.svg").decode()
    assert "198.51.100.7" not in cleaned and "seals" not in cleaned
    assert 'fill="url(#g)"' in cleaned  # references inside the image stay
