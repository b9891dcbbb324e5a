"""Plain text, Markdown and HTML files: one Document each."""

from __future__ import annotations

import re
from typing import Any

from playground.core.documents import Document
from playground.ingest.decoding import decode_text, require_text
from playground.ingest.formats.common import make_document, short_title, stem

_HTML_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")
_HTML_BLOCKS = (
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tr", "ul", "caption",
)  # fmt: skip


def parse_text(name: str, data: bytes, category: str) -> list[Document]:
    text = require_text(name, decode_text(name, data))
    return [make_document(name, text, stem(name), category)]


def parse_markdown(name: str, data: bytes, category: str) -> list[Document]:
    """Titled by its first level-1 heading, else by the file name."""
    text = require_text(name, decode_text(name, data))
    return [make_document(name, text, _first_markdown_heading(text) or stem(name), category)]


def _first_markdown_heading(text: str) -> str:
    """The first level-1 ("# ") heading outside fenced code blocks, or ""."""
    fenced = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^ {0,3}#[ \t]+(.*?)[ \t#]*$", line)) and match.group(1):
            return short_title(match.group(1))
    return ""


def parse_html(name: str, data: bytes, category: str) -> list[Document]:
    """The visible text, titled by <title> or the first <h1>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(name, data), "html.parser")
    title = _html_title(soup)
    text = require_text(name, _html_visible_text(soup), "visible text")
    return [make_document(name, text, title or stem(name), category)]


def _html_title(soup: Any) -> str:
    for tag in (soup.find("title"), soup.find("h1")):
        if tag is not None and tag.get_text().strip():
            return short_title(tag.get_text())
    return ""


def _html_visible_text(soup: Any) -> str:
    """Visible text with block elements on their own lines; source line breaks count as spaces."""
    from bs4 import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for string in list(soup.find_all(string=True)):
        if isinstance(string, Comment | Declaration | Doctype | ProcessingInstruction):
            string.extract()
        elif string.find_parent("pre") is None:
            string.replace_with(NavigableString(re.sub(r"\s+", " ", str(string))))
    for br in soup.find_all("br"):
        br.replace_with(NavigableString("\n"))
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before(NavigableString("\n\n"))
        tag.insert_after(NavigableString("\n\n"))
    text = soup.get_text().replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
