"""HTML to readable text: the visible text of the main content, one paragraph per line block, and the title.

Parsing uses selectolax's Lexbor backend: one small wheel with no dependencies, a spec-compliant HTML5 parser
written in C (fast on large pages), actively maintained. Boilerplate-removal libraries such as trafilatura pull
in lxml and half a dozen helpers; for lead-text extraction the rules below (drop scripts, styles, navigation,
headers, footers and forms; prefer ``<main>``/``<article>``; one line per block element) are enough.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["extract_html"]

_DROP = (
    "script, style, noscript, template, svg, canvas, iframe, object, embed, nav, header, footer, aside, form, "
    "button, select, [hidden], [aria-hidden=true]"
)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "pre",
        "blockquote",
        "table",
        "tr",
        "td",
        "th",
        "caption",
        "figure",
        "figcaption",
        "br",
        "hr",
        "address",
        "details",
        "summary",
    ]
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _title(tree: LexborHTMLParser) -> str:
    for selector, attr in (("title", None), ('meta[property="og:title"]', "content"), ("h1", None)):
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get(attr) if attr else node.text(deep=True)
        if value and value.strip():
            return " ".join(value.split())
    return ""


def _text(root: LexborNode) -> str:
    parts: list[str] = []
    for node in root.traverse(include_text=True):
        if node.tag == "-text":
            parts.append(node.text_content or "")
        elif node.tag in _BLOCKS:
            parts.append("\n\n" if node.tag not in {"br", "td", "th", "li", "dt", "dd"} else "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def extract_html(html: str | bytes) -> tuple[str, str]:
    """``(title, text)`` of an HTML document; text keeps paragraph breaks as blank lines."""
    tree = LexborHTMLParser(html)
    title = _title(tree)
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    if root is None:
        return title, ""
    return title, _text(root)
