"""HTML bodies (the editor's output) to plain text that keeps the document's structure.

``strip_tags`` dropped the tags and nothing else, so ``Mặt trận</p><p>Nghệ An`` became
``Mặt trậnNghệ An``: the words at every paragraph edge could not be found and snippets
showed glued text. Here block elements end a line, ``<br>`` is a line break, table cells
are separated by a tab, entities are decoded and script/style content is dropped. Built
on the standard library's HTML tokenizer (:mod:`html.parser`), which copes with the
unclosed and stray tags real editor output has.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start and end a block of text (HTML's block and list/table structure).
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "tfoot", "thead", "tr", "ul",
})
CELL_TAGS = frozenset({"td", "th"})
SKIP_TAGS = frozenset({"script", "style", "template", "head", "title", "noscript"})

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIP_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS or tag == "br":
            self.parts.append("\n")
        elif tag in CELL_TAGS:
            self.parts.append("\t")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in BLOCK_TAGS or tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in CELL_TAGS:
            self.parts.append("\t")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            # Newlines inside a paragraph are layout of the HTML source, not of the text.
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one line per block, blank lines collapsed."""
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()
