"""Check questions.jsonl against the documents: every evidence quote must be found in exactly one document.

Run with the project's environment (reading the PDF and Word files needs pypdf and python-docx):

    .venv/bin/python sample_corpus/fictional/check_questions.py [QUESTIONS_JSONL]

Text is taken the way a loader would take it: the raw text of .md and .txt files, the text of each element
of an .html file, each page of a .pdf, each paragraph of a .docx, and each row's `text` cell of a .csv (every
row is a document of its own). Quotes and texts are compared after collapsing all whitespace to single
spaces; a quote must sit inside one element, page, paragraph or cell. Exits with status 1 if a check fails.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
NOT_IN_DOCS = ["not in the documents"]
TYPES = {"single": 1, "multi-hop": 2, "unanswerable": 0}  # type -> number of evidence quotes
QUOTE_LENGTH = (40, 250)
HTML_BLOCKS = {"title", "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "dt", "dd", "figcaption"}


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _BlockTexts(HTMLParser):
    """Collects the visible text of each block element (p, li, headings ...) of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._open: list[list[str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in HTML_BLOCKS:
            self._open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in HTML_BLOCKS and self._open:
            self.blocks.append("".join(self._open.pop()))

    def handle_data(self, data: str) -> None:
        if not self._skip:
            for block in self._open:
                block.append(data)


def html_parts(path: Path) -> list[str]:
    parser = _BlockTexts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.blocks


def pdf_parts(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def docx_parts(path: Path) -> list[str]:
    import docx

    return [paragraph.text for paragraph in docx.Document(str(path)).paragraphs]


def load_documents(docs: Path) -> dict[str, list[str]]:
    """Document name -> the collapsed texts a quote may lie in (one per element, page, paragraph or cell)."""
    documents: dict[str, list[str]] = {}
    for path in sorted(p for p in docs.rglob("*") if p.is_file()):
        name, suffix = path.relative_to(docs).as_posix(), path.suffix.lower()
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                for number, row in enumerate(csv.DictReader(handle), start=1):
                    documents[f"{name}#{number}"] = [collapse(row["text"])]
            continue
        if suffix in (".md", ".txt"):
            parts = [path.read_text(encoding="utf-8")]
        elif suffix in (".html", ".htm"):
            parts = html_parts(path)
        elif suffix == ".pdf":
            parts = pdf_parts(path)
        elif suffix == ".docx":
            parts = docx_parts(path)
        else:
            raise SystemExit(f"unexpected file type in docs/: {name}")
        documents[name] = [collapse(part) for part in parts]
    return documents


def find_quote(quote: str, documents: dict[str, list[str]]) -> list[str]:
    wanted = collapse(quote)
    return [name for name, parts in documents.items() if any(wanted in part for part in parts)]


def check_shape(q: dict) -> list[str]:
    """Problems with one question's fields, apart from where its evidence is found."""
    problems = []
    kind = q.get("type")
    if kind not in TYPES:
        return [f"unknown type {kind!r}"]
    if len(q["evidence"]) != TYPES[kind]:
        problems.append(f"{kind} question needs {TYPES[kind]} evidence quote(s), has {len(q['evidence'])}")
    if kind == "unanswerable" and q["answers"] != NOT_IN_DOCS:
        problems.append(f"unanswerable question must have answers {NOT_IN_DOCS}")
    if kind != "unanswerable" and not 1 <= len(q["answers"]) <= 4:
        problems.append("answerable question needs 1 gold answer and at most 3 alternatives")
    for quote in q["evidence"]:
        if not QUOTE_LENGTH[0] <= len(collapse(quote)) <= QUOTE_LENGTH[1]:
            problems.append(f"quote length {len(collapse(quote))} outside {QUOTE_LENGTH}: {quote[:50]!r}")
    return problems


def check_question(q: dict, documents: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(problems, names of the documents holding each quote)."""
    problems, sources = check_shape(q), []
    for quote in q["evidence"]:
        found = find_quote(quote, documents)
        if len(found) != 1:
            problems.append(f"quote found in {len(found)} documents {found}: {quote[:60]!r}")
        sources.extend(found[:1])
    if sources and sources[0].split("/")[0] != q.get("category"):
        problems.append(f"category {q.get('category')!r} but first evidence is in {sources[0]}")
    if q["type"] == "multi-hop" and len(set(sources)) < 2:
        problems.append("multi-hop question's quotes must come from two different documents")
    return problems, sources


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "questions.jsonl"
    documents = load_documents(DOCS)
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    failures, cited = 0, Counter[str]()
    for problem in [f"duplicate id {i}" for i, n in Counter(q["id"] for q in questions).items() if n > 1]:
        print(problem)
        failures += 1
    for q in questions:
        problems, sources = check_question(q, documents)
        cited.update(sources)
        for problem in problems:
            print(f"{q['id']}: {problem}")
        failures += bool(problems)
    files = Counter(Path(name).suffix for name in {name.split("#")[0] for name in documents})
    print(f"{sum(files.values())} files {dict(sorted(files.items()))}")
    print(f"{len(documents)} documents (each csv row is one)")
    print(f"{len(questions)} questions: {dict(Counter(q['type'] for q in questions))}")
    print(f"by category: {dict(sorted(Counter(q['category'] for q in questions).items()))}")
    print(f"documents cited: {len(cited)} of {len(documents)}")
    print(f"questions failing: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
