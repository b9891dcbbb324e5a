"""Ingestion: every supported format, every error a user can cause, folders, uploads and zips."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.core.documents import FileError
from playground.core.errors import InputError
from playground.ingest.files import DEFAULT_MAX_BYTES
from playground.ingest.formats import SUPPORTED_SUFFIXES
from playground.ingest.loaders import load_bytes, load_folder, load_uploads

# ----------------------------------------------------------------------------------------------------------
# Builders for binary formats


def make_pdf(pages: list[str], *, title: str = "", user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    return bytes(pdf.output())


def make_docx(heading: str, paragraphs: list[str], *, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Plain text and markdown


def test_text_file_uses_stem_as_title_and_normalises_newlines() -> None:
    [doc] = load_bytes("notes/meeting.txt", b"\xef\xbb\xbfFirst line\r\nSecond\rThird\n", category="notes")
    assert doc.text == "First line\nSecond\nThird\n"
    assert (doc.doc_id, doc.source, doc.title, doc.category, doc.page) == (
        "notes/meeting.txt",
        "notes/meeting.txt",
        "meeting",
        "notes",
        None,
    )


def test_markdown_title_is_first_level_one_heading_outside_code() -> None:
    text = "```\n# not a heading\n```\nIntro\n\n## Sub\n\n# Travel Policy #\n\nBody\n"
    [doc] = load_bytes("travel.md", text.encode())
    assert doc.title == "Travel Policy"
    [plain] = load_bytes("plain.markdown", b"no heading here")
    assert plain.title == "plain"


def test_latin1_text_is_decoded() -> None:
    text = "Le café coûte trois euros. Müller war dort, à côté de la forêt, très content. " * 3
    [doc] = load_bytes("latin.txt", text.encode("latin-1"))
    assert "café" in doc.text and "Müller" in doc.text and "forêt" in doc.text


def test_utf16_with_bom_is_decoded() -> None:
    [doc] = load_bytes("wide.txt", "\ufeffHello wide world".encode("utf-16"))
    assert doc.text == "Hello wide world"


def test_empty_file_is_rejected() -> None:
    with pytest.raises(InputError, match=r"empty\.txt is empty"):
        load_bytes("empty.txt", b"")


def test_whitespace_only_file_is_rejected() -> None:
    with pytest.raises(InputError, match=r"blank\.md contains no text"):
        load_bytes("blank.md", b"  \n\n\t ")


@pytest.mark.parametrize("data", [b"PK\x03\x04\x00\x00binary\x00stuff", bytes(range(1, 32)) * 20])
def test_binary_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(InputError, match="looks like a binary file, not text"):
        load_bytes("image.txt", data)


def test_unsupported_suffix_lists_supported_ones() -> None:
    with pytest.raises(InputError, match=r"\.pptx files are not supported") as info:
        load_bytes("slides.pptx", b"whatever")
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in str(info.value)


def test_oversized_file_reports_size_and_limit() -> None:
    with pytest.raises(InputError, match=r"big\.txt is 2\.0 KiB, over the 1\.0 KiB limit"):
        load_bytes("big.txt", b"a" * 2048, max_bytes=1024)
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024


# ----------------------------------------------------------------------------------------------------------
# PDF


def test_pdf_gives_one_document_per_page_with_text() -> None:
    data = make_pdf(["Alpha page about refunds.", "", "Gamma page about travel."], title="Handbook")
    docs = load_bytes("handbook.pdf", data, category="hr")
    assert [d.page for d in docs] == [1, 3]  # the blank page 2 is skipped
    assert [d.doc_id for d in docs] == ["handbook.pdf#page=1", "handbook.pdf#page=3"]
    assert "refunds" in docs[0].text and "travel" in docs[1].text
    assert {d.title for d in docs} == {"Handbook"}
    assert {d.source for d in docs} == {"handbook.pdf"} and {d.category for d in docs} == {"hr"}


def test_pdf_without_metadata_title_uses_first_line() -> None:
    [doc] = load_bytes("memo.pdf", make_pdf(["Quarterly memo\nSales went up."]))
    assert doc.title == "Quarterly memo"


def test_pdf_without_text_says_to_run_ocr() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    with pytest.raises(InputError, match=r"no extractable text.*OCR"):
        load_bytes("scan.pdf", bytes(pdf.output()))


def test_corrupt_pdf_is_an_input_error() -> None:
    data = make_pdf(["Some text"])
    with pytest.raises(InputError, match=r"broken\.pdf could not be read as a PDF"):
        load_bytes("broken.pdf", data[: len(data) // 3])
    with pytest.raises(InputError, match="could not be read as a PDF"):
        load_bytes("fake.pdf", b"this is not a pdf at all")


def test_password_protected_pdf_is_rejected() -> None:
    with pytest.raises(InputError, match="is password-protected; remove the password and upload again"):
        load_bytes("locked.pdf", make_pdf(["Secret text"], user_password="secret"))


def test_pdf_encrypted_with_empty_user_password_opens() -> None:
    [doc] = load_bytes("owner-only.pdf", make_pdf(["Readable text"], user_password=""))
    assert "Readable text" in doc.text


# ----------------------------------------------------------------------------------------------------------
# HTML and DOCX


def test_html_visible_text_with_blocks_on_lines() -> None:
    html = b"""<!DOCTYPE html><html><head><title>Refund Policy</title><style>p {color: red}</style></head>
    <body><script>var secret = 1;</script><!-- a comment -->
    <h1>Refunds</h1><p>You can get a
       refund within <b>30 days</b>.</p><ul><li>First</li><li>Second</li></ul>
    <pre>keep   this</pre><noscript>enable js</noscript></body></html>"""
    [doc] = load_bytes("site/refunds.html", html)
    assert doc.title == "Refund Policy"
    assert "secret" not in doc.text and "color" not in doc.text and "comment" not in doc.text
    assert "enable js" not in doc.text
    assert "You can get a refund within 30 days." in doc.text
    lines = doc.text.split("\n")
    assert "Refunds" in lines and "First" in lines and "Second" in lines
    assert "keep   this" in lines


def test_html_title_falls_back_to_h1_then_stem() -> None:
    [doc] = load_bytes("page.htm", b"<div><h1>Main heading</h1><p>Body</p></div>")
    assert doc.title == "Main heading"
    [bare] = load_bytes("bare.html", b"<p>Only a paragraph</p>")
    assert bare.title == "bare"


def test_html_without_visible_text_is_rejected() -> None:
    with pytest.raises(InputError, match="no visible text"):
        load_bytes("empty.html", b"<html><script>x=1</script></html>")


def test_docx_paragraphs_headings_and_tables() -> None:
    data = make_docx(
        "Travel Policy", ["Book economy.", "Keep receipts."], table=[["Item", "Limit"], ["Hotel", "150"]]
    )
    [doc] = load_bytes("policies/travel.docx", data, category="policies")
    assert doc.title == "Travel Policy"
    assert doc.text.split("\n") == [
        "Travel Policy",
        "Book economy.",
        "Keep receipts.",
        "Item | Limit",
        "Hotel | 150",
    ]


def test_corrupt_docx_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"old\.docx could not be read as a Word \.docx file"):
        load_bytes("old.docx", b"\xd0\xcf\x11\xe0 an old binary .doc file")


# ----------------------------------------------------------------------------------------------------------
# CSV and JSONL


def test_csv_rows_become_documents() -> None:
    data = b"id,Question,Content,tag\n1,What is X?,X is a letter.,a\n2,,\n3,,Y follows X.,b\n"
    docs = load_bytes("faq.csv", data, category="faq")
    assert [d.doc_id for d in docs] == ["faq.csv#row=1", "faq.csv#row=3"]  # row 2 has no text
    assert [d.title for d in docs] == ["What is X?", "faq row 3"]
    assert docs[0].text == "X is a letter." and docs[0].metadata == {"id": "1", "tag": "a"}
    assert {d.category for d in docs} == {"faq"}


def test_csv_with_semicolons_and_quoted_newlines() -> None:
    data = b'title;text\nFirst;"line one\nline two"\n'
    [doc] = load_bytes("semi.csv", data)
    assert (doc.title, doc.text) == ("First", "line one\nline two")


def test_csv_missing_text_column_names_columns_and_accepted_names() -> None:
    with pytest.raises(InputError, match=r"'id', 'summary'.*text, content, body, passage"):
        load_bytes("bad.csv", b"id,summary\n1,hello\n")


def test_jsonl_skips_broken_lines() -> None:
    lines = [
        json.dumps({"title": "One", "text": "First passage."}),
        "{broken",
        "",
        json.dumps({"body": "Second."}),
    ]
    docs = load_bytes("data/passages.jsonl", "\n".join(lines).encode())
    assert [d.doc_id for d in docs] == ["data/passages.jsonl#row=1", "data/passages.jsonl#row=4"]
    assert [d.title for d in docs] == ["One", "passages row 4"]
    assert docs[1].text == "Second."


def test_jsonl_with_no_parseable_line_names_the_first_bad_line() -> None:
    with pytest.raises(InputError, match="line 2 is not a JSON object"):
        load_bytes("bad.jsonl", b"\n{oops\n[1, 2]\n")


def test_jsonl_without_text_key_is_rejected() -> None:
    with pytest.raises(InputError, match=r"'id', 'answer'.*text, content, body, passage"):
        load_bytes("keys.jsonl", b'{"id": 1, "answer": "x"}\n')


# ----------------------------------------------------------------------------------------------------------
# Folders, uploads, zips


def test_load_folder_collects_errors_and_loads_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "policies").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "policies" / "travel.md").write_text("# Travel\n\nBook economy.")
    (root / "policies" / "refunds.pdf").write_bytes(make_pdf(["Refunds take 30 days."]))
    (root / "readme.txt").write_text("Top level file.")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (root / "picture.png").write_bytes(b"\x89PNG")
    (root / ".hidden.txt").write_text("secret")
    (root / ".git" / "config.txt").write_text("secret")

    corpus = load_folder(root)
    assert corpus.name == "kb"
    assert [d.doc_id for d in corpus.documents] == [
        "policies/refunds.pdf#page=1",
        "policies/travel.md",
        "readme.txt",
    ]
    assert [d.category for d in corpus.documents] == ["policies", "policies", ""]
    assert [e.source for e in corpus.errors] == ["broken.pdf", "picture.png"]
    assert "not supported" in corpus.errors[1].message
    assert load_folder(root).content_hash == corpus.content_hash


def test_load_folder_checks_size_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 5000)
    (tmp_path / "small.txt").write_text("fine")
    corpus = load_folder(tmp_path, max_bytes=1000)
    assert [d.doc_id for d in corpus.documents] == ["small.txt"]
    assert corpus.errors[0].source == "big.txt" and "over the" in corpus.errors[0].message


def test_load_folder_rejects_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a folder"):
        load_folder(tmp_path / "nope")


def test_load_uploads_mixes_files_and_zips() -> None:
    archive = make_zip(
        {
            "corpus/hr/leave.txt": b"Twenty days of leave.",
            "corpus/it/laptops.md": b"# Laptops\nReturn them.",
            "corpus/top.txt": b"Top of the zip.",
            "corpus/.DS_Store": b"\x00\x01",
            "__MACOSX/corpus/._top.txt": b"\x00",
            "corpus/../evil.txt": b"escape",
        }
    )
    corpus = load_uploads(
        [("notes.txt", b"Loose notes."), ("bundle.zip", archive), ("empty.md", b"")], name="mine"
    )
    assert corpus.name == "mine"
    ids = [d.doc_id for d in corpus.documents]
    assert ids == ["hr/leave.txt", "it/laptops.md", "top.txt", "notes.txt"]  # uploads in name order
    categories = {d.doc_id: d.category for d in corpus.documents}
    assert categories == {"hr/leave.txt": "hr", "it/laptops.md": "it", "top.txt": "", "notes.txt": ""}
    assert FileError("bundle.zip:corpus/../evil.txt", "unsafe path inside zip, skipped") in corpus.errors
    assert any(e.source == "empty.md" and "is empty" in e.message for e in corpus.errors)
    assert len(corpus.errors) == 2


def test_zip_with_parent_path_member_is_reported() -> None:
    archive = make_zip({"../evil.txt": b"escape", "/abs.txt": b"abs", "good/ok.txt": b"fine"})
    corpus = load_uploads([("a.zip", archive)])
    assert [d.doc_id for d in corpus.documents] == ["ok.txt"]  # a single wrapping folder is looked through
    assert [(e.source, e.message) for e in corpus.errors] == [
        ("a.zip:../evil.txt", "unsafe path inside zip, skipped"),
        ("a.zip:/abs.txt", "unsafe path inside zip, skipped"),
    ]


def test_zip_member_over_the_limit_and_bad_zip() -> None:
    archive = make_zip({"big.txt": b"y" * 5000, "ok.txt": b"fine"})
    corpus = load_uploads([("a.zip", archive), ("b.zip", b"not a zip")], max_bytes=4000)
    assert [d.doc_id for d in corpus.documents] == ["ok.txt"]
    messages = {e.source: e.message for e in corpus.errors}
    assert "over the" in messages["big.txt"]
    assert "not a readable zip file" in messages["b.zip"]


def test_duplicate_upload_names_are_reported() -> None:
    corpus = load_uploads([("a.txt", b"one"), ("a.txt", b"two")])
    assert len(corpus.documents) == 1
    assert "appears twice" in corpus.errors[0].message


# ----------------------------------------------------------------------------------------------------------
# Properties: arbitrary bytes never raise anything but InputError


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([*SUPPORTED_SUFFIXES, ".zip", ".bin"]))
def test_random_bytes_only_raise_input_error(data: bytes, suffix: str) -> None:
    name = f"random{suffix}"
    try:
        docs = load_bytes(name, data)
    except InputError:
        return
    for doc in docs:
        assert doc.text.strip() and doc.source == name


@settings(max_examples=25, deadline=None)
@given(data=st.binary(min_size=1, max_size=300))
def test_mutated_pdf_and_docx_only_raise_input_error(data: bytes) -> None:
    for name, original in (("m.pdf", make_pdf(["Hello"])), ("m.docx", make_docx("H", ["p"]))):
        cut = len(data) % len(original)
        mutated = original[:cut] + data + original[cut + len(data) :]
        with contextlib.suppress(InputError):
            load_bytes(name, mutated)
