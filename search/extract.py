"""Text extraction, page by page, from the files documents carry.

PDF: ``pdftotext`` (poppler) when installed, else pypdf. The benchmark
(``benchmarks/search_bench.py --extract``) measured pdftotext several times
faster on this machine; ``SEARCH_PDF_EXTRACTOR`` ("auto", "pdftotext",
"pypdf") overrides the choice. DOCX: python-docx, split at explicit and
rendered page breaks. Pages with no text layer are reported so that OCR
(tesseract, Vietnamese model) can run in a background task.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import legacy
from .normalize import normalize

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Scans sent as pictures: one page per image frame, all read by OCR in the background.
IMAGE_TYPES = {"image/png", "image/jpeg", "image/tiff"}
# Fewer letters than this on a page means there is no usable text layer.
MIN_PAGE_LETTERS = 8


@dataclass
class Extracted:
    pages: list[str]
    method: str
    encoding: str = legacy.Encoding.UNICODE
    pages_needing_ocr: list[int] = field(default_factory=list)  # 1-based


def pdf_extractor() -> str:
    choice = getattr(settings, "SEARCH_PDF_EXTRACTOR", "auto")
    if choice == "auto":
        return "pdftotext" if shutil.which("pdftotext") else "pypdf"
    return choice


def pdf_pages_pdftotext(path: str) -> list[str]:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-q", path, "-"],
        capture_output=True, timeout=300, check=False,
    )
    if out.returncode != 0:
        raise ValueError(out.stderr.decode("utf-8", "replace")[:200])
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    # pdftotext ends every page with a form feed, so the last split is empty.
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


def pdf_pages_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return [(page.extract_text() or "") for page in reader.pages]


def docx_pages(data: bytes) -> list[str]:
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(io.BytesIO(data))
    pages: list[list[str]] = [[]]
    for block in document.element.body.iterchildren():
        if block.tag == qn("w:p"):
            texts = []
            for node in block.iter():
                if node.tag == qn("w:t") and node.text:
                    texts.append(node.text)
                elif node.tag == qn("w:tab"):
                    texts.append("\t")
                elif (node.tag == qn("w:br") and node.get(qn("w:type")) == "page") or (
                    node.tag == qn("w:lastRenderedPageBreak")
                ):
                    pages[-1].append("".join(texts))
                    texts = []
                    pages.append([])
            pages[-1].append("".join(texts))
        elif block.tag == qn("w:tbl"):
            for cell_text in block.iter(qn("w:t")):
                if cell_text.text:
                    pages[-1].append(cell_text.text)
    result = ["\n".join(p).strip() for p in pages]
    while len(result) > 1 and not result[-1]:
        result.pop()
    return result


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def _fix_encoding(pages: list[str]) -> tuple[list[str], str]:
    sample = "\n".join(pages)[:20000]
    encoding = legacy.detect(sample)
    if encoding == legacy.Encoding.TCVN3:
        return [legacy.from_tcvn3(p) for p in pages], encoding
    if encoding == legacy.Encoding.VNI:
        return [legacy.from_vni(p) for p in pages], encoding
    return pages, encoding


def extract(data: bytes, content_type: str, *, path: str | None = None) -> Extracted:
    """Pages of text of one file; unknown types give no pages rather than an error."""
    if content_type == PDF:
        method = pdf_extractor()
        if method == "pdftotext":
            if path is None:
                with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
                    tmp.write(data)
                    tmp.flush()
                    pages = pdf_pages_pdftotext(tmp.name)
            else:
                pages = pdf_pages_pdftotext(path)
        else:
            pages = pdf_pages_pypdf(data)
    elif content_type in IMAGE_TYPES:
        frames = image_frames(data)
        return Extracted(pages=[""] * frames, method="image",
                         pages_needing_ocr=list(range(1, frames + 1)))
    elif content_type == DOCX or (data[:2] == b"PK" and _is_docx(data)):
        method = "python-docx"
        pages = split_long_pages(docx_pages(data))
    else:
        return Extracted(pages=[], method="none")
    pages, encoding = _fix_encoding(pages)
    needing = [i + 1 for i, text in enumerate(pages) if _letters(text) < MIN_PAGE_LETTERS]
    if content_type != PDF:
        needing = []
    elif needing:
        # A page without text and without any picture is blank (a cover, a separator,
        # a generated placeholder): rendering and OCR-ing it would only cost time.
        needing = pages_with_images(data, needing)
    return Extracted(
        pages=[normalize(p) for p in pages], method=method, encoding=encoding,
        pages_needing_ocr=needing,
    )


def cap_pages(pages: list[str], *, page_chars: int | None = None,
              file_chars: int | None = None) -> tuple[list[str], int]:
    """Pages cut to the indexing limits, and how many characters were left out.

    One file must not be able to fill the index: a 155 KB DOCX that expanded to 40 MB of
    text made every search that matched it take seconds (stored text read and scanned
    for snippets on every hit). Limits: ``SEARCH_MAX_PAGE_CHARS`` per page and
    ``SEARCH_MAX_FILE_CHARS`` per file; pages past the file limit are kept empty, so page
    numbers still match the file.
    """
    page_limit = int(page_chars if page_chars is not None
                     else getattr(settings, "SEARCH_MAX_PAGE_CHARS", 20_000))
    file_limit = int(file_chars if file_chars is not None
                     else getattr(settings, "SEARCH_MAX_FILE_CHARS", 500_000))
    kept: list[str] = []
    left = file_limit
    dropped = 0
    for page in pages:
        allowed = max(0, min(page_limit, left))
        if len(page) > allowed:
            dropped += len(page) - allowed
            page = page[:allowed]
        left -= len(page)
        kept.append(page)
    return kept, dropped


def split_long_pages(pages: list[str], limit: int | None = None) -> list[str]:
    """DOCX "pages" longer than the page cap, split at line ends into several.

    A DOCX's pages are only known where Word wrote page breaks; a file saved by another
    program may be one "page" of a hundred pages of text, which the page cap would cut
    to its beginning. Its parts are indexed as pages of their own instead (a DOCX hit
    has no page to open at, so nothing points at the wrong page).
    """
    limit = int(limit or getattr(settings, "SEARCH_MAX_PAGE_CHARS", 20_000))
    out: list[str] = []
    for page in pages:
        while len(page) > limit:
            cut = page.rfind("\n", 0, limit)
            if cut <= 0:
                cut = page.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
            out.append(page[:cut].strip())
            page = page[cut:].lstrip()
        out.append(page)
    return out


def image_frames(data: bytes) -> int:
    """Pages in a picture (a multi-page TIFF has several); 1 when it cannot be told."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return max(1, int(getattr(image, "n_frames", 1) or 1))
    except Exception:  # a damaged picture: OCR will report what it can
        return 1


def ocr_image(data: bytes, pages: list[int], *, lang: str = "vie") -> dict[int, str]:
    """Read the given 1-based frames of a PNG/JPEG/TIFF scan with tesseract."""
    if not shutil.which("tesseract"):
        raise RuntimeError("tesseract is needed for OCR (tesseract-ocr, tesseract-ocr-vie)")
    from PIL import Image

    results: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmpdir, Image.open(io.BytesIO(data)) as image:
        frames = max(1, int(getattr(image, "n_frames", 1) or 1))
        for number in pages:
            if not 0 < number <= frames:
                continue
            image.seek(number - 1)
            path = Path(tmpdir) / f"p{number}.png"
            image.convert("L").save(path, format="PNG")
            out = subprocess.run(
                ["tesseract", str(path), "-", "-l", lang],
                check=True, capture_output=True, timeout=600,
            )
            results[number] = normalize(out.stdout.decode("utf-8", "replace"))
    return results


def ocr_pages(data: bytes, content_type: str, pages: list[int], *,
              lang: str = "vie") -> dict[int, str]:
    """OCR of the given pages of a scanned PDF or a picture."""
    if content_type in IMAGE_TYPES:
        return ocr_image(data, pages, lang=lang)
    return ocr_pdf_pages(data, pages, lang=lang)


def pages_with_images(data: bytes, numbers: list[int]) -> list[int]:
    """Those of the given 1-based pages that show an image (a scan); all when unsure."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        kept = []
        for number in numbers:
            if 0 < number <= len(reader.pages):
                try:
                    has_image = len(reader.pages[number - 1].images) > 0
                except Exception:  # an unusual page: let OCR have a look
                    has_image = True
                if has_image:
                    kept.append(number)
        return kept
    except Exception:
        return list(numbers)


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def ocr_pdf_pages(
    data: bytes, pages: list[int], *, lang: str = "vie", dpi: int = 300
) -> dict[int, str]:
    """Render the given 1-based pages and read them with tesseract."""
    if not shutil.which("tesseract") or not shutil.which("pdftoppm"):
        raise RuntimeError("tesseract and pdftoppm (poppler-utils) are needed for OCR")
    results: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        pdf_path = Path(tmpdir) / "in.pdf"
        pdf_path.write_bytes(data)
        for number in pages:
            prefix = Path(tmpdir) / f"p{number}"
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(number), "-l", str(number), "-gray",
                 "-png", "-singlefile", str(pdf_path), str(prefix)],
                check=True, capture_output=True, timeout=300,
            )
            out = subprocess.run(
                ["tesseract", f"{prefix}.png", "-", "-l", lang],
                check=True, capture_output=True, timeout=600,
            )
            results[number] = normalize(out.stdout.decode("utf-8", "replace"))
    return results
