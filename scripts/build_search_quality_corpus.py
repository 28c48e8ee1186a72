"""Split the text of Decree 30/2020/NĐ-CP into the search quality corpus (run once, by hand).

    python scripts/build_search_quality_corpus.py SOURCE_DIR > tests/search_quality/corpus.jsonl

SOURCE_DIR holds the decree and its appendices as Markdown (``nghi-dinh-30-2020.md``,
``phu-luc-I-the-thuc.md``, ``phu-luc-III-mau-van-ban.md``,
``phu-luc-VI-he-thong-tai-lieu-dien-tu.md``). Legal normative documents are not
protected by copyright in Vietnam (Law on Intellectual Property, Art. 15), so the
output may be committed. The tests read only the output, never SOURCE_DIR.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HEADING = re.compile(r"^#+\s*")


def clean(line: str) -> str:
    line = HEADING.sub("", line.rstrip())
    line = line.replace("**", "")
    # Table rows become one line, cells separated by " - ".
    if line.startswith("|"):
        line = " - ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
    line = re.sub(r"^- ", "", line)
    line = re.sub(r"\s{2,}", " ", line)
    return line.strip()


def blocks(lines: list[str], start: re.Pattern) -> list[list[str]]:
    """Cut lines into blocks, each beginning with a line matching ``start``."""
    out: list[list[str]] = [[]]
    for line in lines:
        if start.match(line) and out[-1]:
            out.append([])
        out[-1].append(line)
    return [b for b in out if any(clean(x) for x in b)]


def emit(rows: list[dict], ident: str, source: str, block: list[str],
         title: str | None = None) -> None:
    text = [clean(x) for x in block]
    text = [t for t in text if t and not set(t) <= set("_-|. …")]
    if sum(ch.isalpha() for t in text for ch in t) < 60:  # a heading or placeholders only
        return
    rows.append({"id": ident, "source": source, "title": title or text[0],
                 "text": "\n".join(text if title else text[1:])})


def main(src: Path) -> None:
    rows: list[dict] = []
    decree = (src / "nghi-dinh-30-2020.md").read_text(encoding="utf-8").splitlines()
    # Articles; the signature/recipients table at the end is a document of its own.
    table_at = next(i for i, x in enumerate(decree) if x.startswith("| CHÍNH PHỦ"))
    body, signature = decree[:table_at], decree[table_at:]
    chapter = ""
    for n, block in enumerate(blocks(body, re.compile(r"^### Điều \d+\.|^## Chương "))):
        head = clean(block[0])
        if head.startswith("Chương"):
            chapter = head
            # The chapter heading block carries only its title lines (and section titles).
            continue
        if n == 0:
            emit(rows, "nd30-preamble", "Nghị định 30/2020/NĐ-CP", block,
                 "Nghị định 30/2020/NĐ-CP về công tác văn thư: căn cứ ban hành")
            continue
        number = re.match(r"Điều (\d+)", head).group(1)
        lines = [x for x in block if not x.startswith("## ") and not x.startswith("#### ")]
        emit(rows, f"nd30-dieu-{int(number):02d}", f"Nghị định 30/2020/NĐ-CP, {chapter}",
             lines[1:], head)
    sig = [re.sub(r"\s*\|\s*", "\n", x) for x in signature if not x.startswith("| ---")]
    emit(rows, "nd30-noi-nhan", "Nghị định 30/2020/NĐ-CP", "\n".join(sig).splitlines(),
         "Nghị định 30/2020/NĐ-CP: nơi nhận và chữ ký")

    def appendix(name: str, prefix: str, label: str, start: str) -> None:
        lines = (src / name).read_text(encoding="utf-8").splitlines()
        for k, block in enumerate(blocks(lines, re.compile(start))):
            head = clean(block[0])
            if k == 0 and not re.match(start, block[0]):
                continue  # the appendix's own title and "Kèm theo ..." line
            if head.startswith("TÊN CQ"):
                continue  # a filled-in template layout: placeholders, no running text
            title = f"{label}, {head}"
            if head.startswith("Phần"):
                title = f"{label}, {head}: {clean(block[1])}"
                block = block[1:]
            emit(rows, f"{prefix}-{k:02d}", label, block[1:], title)

    appendix("phu-luc-I-the-thuc.md", "pl1", "Phụ lục I Nghị định 30/2020",
             r"^## [IVX]+\. ")
    appendix("phu-luc-III-mau-van-ban.md", "pl3", "Phụ lục III Nghị định 30/2020",
             r"^\*\*Mẫu|^Mẫu \d|^\| STT \| Tên loại|^\| 1\. Mẫu trình bày|^\| TÊN CQ")
    appendix("phu-luc-VI-he-thong-tai-lieu-dien-tu.md", "pl6", "Phụ lục VI Nghị định 30/2020",
             r"^## [IVX]+\. (?!THÔNG TIN ĐẦU VÀO)|^\*\*Phần II")
    # Table-only sections get the title of the section they stand in.
    titles = {
        "pl3-15": "Phụ lục III Nghị định 30/2020, I. Bảng chữ viết tắt tên loại văn bản hành chính"
                  " và bản sao văn bản",
        "pl3-16": "Phụ lục III Nghị định 30/2020, II. Danh mục mẫu trình bày văn bản hành chính,"
                  " phụ lục và bản sao văn bản",
    }
    for row in rows:
        row["title"] = titles.get(row["id"], row["title"])
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: build_search_quality_corpus.py SOURCE_DIR (the Decree 30/2020 Markdown)")
    main(Path(sys.argv[1]))
