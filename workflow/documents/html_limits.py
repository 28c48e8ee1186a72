"""Bounds on an HTML body, checked before it is cleaned (security review, issue 23 #7).

``nh3.clean`` (html5ever) takes time that grows with the square of the nesting depth:
200,000 nested ``<div>`` held a worker for minutes. So before cleaning, one linear
regular-expression pass over the text measures its size, its number of tags and how
deep they nest, and refuses what is beyond the configured limits. The pass is
conservative: it counts every ``<name`` the HTML tokenizer would take for a start tag
(also inside comments), so whatever reaches nh3 nests no deeper than it measured.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import InvalidInput

# The HTML tokenizer's tag-open state: "<" then an ASCII letter starts a tag, "</" an end tag.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
# Elements that never hold content, so they add no depth.
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
# Elements whose end tag may be left out: a new one closes the open one of the same name
# (what the HTML parser does), so "<p>a<p>b" is two paragraphs, not a nesting.
_SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option"})


def limits() -> tuple[int, int, int]:
    """(bytes, tags, depth) from the settings ``MTTQ_MAX_BODY_*``."""
    return (settings.MTTQ_MAX_BODY_BYTES, settings.MTTQ_MAX_BODY_TAGS,
            settings.MTTQ_MAX_BODY_DEPTH)


def check_body(html: str) -> None:
    """Raise :class:`InvalidInput` (translated) if the body is too large or too deep."""
    if not html:
        return
    max_bytes, max_tags, max_depth = limits()
    # len() first: a str has at most 4 bytes per character, and encoding a huge body
    # just to measure it would be work of its own.
    if len(html) > max_bytes or len(html.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidInput(_("The body is too long (at most %(kb)d KB). Put long texts in an "
                             "attached file.") % {"kb": max_bytes // 1024})
    stack: list[str] = []
    count = 0
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if match.group(1):  # an end tag closes up to the matching open element, if any
            if name in stack:
                while stack and stack.pop() != name:
                    pass
            continue
        count += 1  # elements: start tags
        if count > max_tags:
            raise InvalidInput(_("The body has too many HTML elements (at most %(n)d).")
                               % {"n": max_tags})
        if name in _VOID:
            continue
        if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1] == name:
            stack.pop()
        stack.append(name)
        if len(stack) > max_depth:
            raise InvalidInput(_("The body nests HTML elements too deeply (at most %(n)d "
                                 "levels).") % {"n": max_depth})
