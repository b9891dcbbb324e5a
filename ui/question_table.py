"""The question table: type, edit or review a question set in the browser, each row checked, saved by name.

The table is an `st.data_editor` over the working rows kept in session state. Each edit is folded into those rows
by the editor's on_change callback and the rows are checked again (is the evidence in the documents, where, what
to fix), so the read-only columns follow the typing. The table's data therefore changes after every edit, which
gives the editor a fresh identity; the edit is already in the rows, so nothing typed is lost.

Saved sets live in the experiment store (`ui.question_sets`); saving makes the table the session's question set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.answers import NOT_FOUND
from playground.core.documents import Corpus
from playground.core.errors import PlaygroundError
from playground.ingest import question_rows as qr
from playground.ingest.question_rows import QuestionRow, RowCheck
from playground.ingest.questions import EvidenceLocator, QuestionSet
from ui import question_sets, resources, state
from ui.question_sets import callback, open_store, saved_name

# CALL SITE for the generator (issue 11 part 1, ui/question_generate.py): it leaves a generated QuestionSet in
# st.session_state under the key documented at the top of that module; the table opens each new one, unsaved.
# Until that module lands, this is the key it is expected to use: make it the documented one.
GENERATED = "generated_questions"
# What to fix comes before the long evidence quote, so it shows without scrolling sideways.
COLUMNS = ("id", "question", "gold", "kind", "reviewed", "found", "message", "evidence", "where")


# --- the table's data: rows <-> a DataFrame, the editor's edits -----------------------------------------------


def table_frame(rows: Sequence[QuestionRow], checks: Sequence[RowCheck]) -> pd.DataFrame:
    """One line per row: the editable cells, then the check's read-only ones."""
    records = [
        {
            "id": r.qid,
            "question": r.question,
            "gold": qr.join_cell(r.answers),
            "evidence": qr.evidence_cell(r.evidence),
            "kind": r.kind,
            "reviewed": r.reviewed,
            "found": c.found,
            "where": c.where,
            "message": c.message,
        }
        for r, c in zip(rows, checks, strict=True)
    ]
    return pd.DataFrame(records, columns=list(COLUMNS)).astype({"reviewed": bool})


def _edited(row: QuestionRow, cells: Mapping[str, Any]) -> QuestionRow:
    changes: dict[str, Any] = {}
    if "question" in cells:
        changes["question"] = str(cells["question"] or "")
    if "gold" in cells:
        changes["answers"] = qr.split_cell(cells["gold"])
    if "evidence" in cells:
        changes["evidence"] = qr.evidence_from_cell(cells["evidence"], row.evidence)
    if "kind" in cells:
        changes["kind"] = str(cells["kind"] or "single")
    if "reviewed" in cells:
        changes["reviewed"] = bool(cells["reviewed"])
    return replace(row, **changes)


def apply_edits(rows: Sequence[QuestionRow], edits: Mapping[str, Any]) -> list[QuestionRow]:
    """The rows after the editor's edits, in Streamlit's order: cell edits, deletions, then added rows."""
    edited = edits.get("edited_rows") or {}
    deleted = set(edits.get("deleted_rows") or [])
    kept = [_edited(row, edited.get(i, {})) for i, row in enumerate(rows) if i not in deleted]
    added = [_edited(QuestionRow(), cells) for cells in edits.get("added_rows") or []]
    return qr.with_ids([*kept, *added])


# --- the working rows in session state ----------------------------------------------------------------------


def _value(key: str, name: str, default: Any = None) -> Any:
    return state.lab_value(f"{key}_{name}", default)


def _set(key: str, name: str, value: Any) -> None:
    state.set_lab_value(f"{key}_{name}", value)


def draft_rows(key: str) -> list[QuestionRow]:
    """The rows in the table now (saved or not)."""
    return list(_value(key, "rows", []))


def _load(
    key: str, rows: Sequence[QuestionRow], origin: str, *, saved_as: str = "", dirty: bool = False
) -> None:
    """Put rows in the table. Called before the name box is drawn (or from a callback), so it can fill it."""
    _set(key, "rows", qr.with_ids(rows))
    _set(key, "source", state.questions_source() or "")
    _set(key, "origin", origin)
    _set(key, "saved_as", saved_as)
    _set(key, "dirty", dirty)
    st.session_state[f"{key}_name"] = saved_as


def _saved_rows(name: str | None) -> list[QuestionRow] | None:
    """A saved set's rows with their reviewed marks; None when it is gone (the session's copy is used then)."""
    try:
        return open_store().load_question_rows(name) if name else None
    except PlaygroundError:
        return None


def _open_current(key: str) -> None:
    name = saved_name(state.questions_source())
    rows = _saved_rows(name)
    if name is not None and rows is not None:
        _load(key, rows, f"the saved set '{name}'", saved_as=name)
        return
    found = state.questions()
    rows = qr.rows_from_question_set(found) if found is not None else []
    _load(key, rows, state.questions_label() if found is not None else "a new table")


open_current = callback(_open_current)


@callback
def start_empty(key: str) -> None:
    _load(key, [], "a new table")


def _take_generated(key: str) -> None:
    """Open a newly generated set in the table, unsaved, named after the generator's name for it."""
    found = st.session_state.get(GENERATED)
    if not isinstance(found, QuestionSet):
        return
    marker = (found.name, found.content_hash, len(found.questions), id(found))
    if marker != _value(key, "generated"):
        _set(key, "generated", marker)
        _load(key, qr.rows_from_question_set(found), f"the generated set '{found.name}'", dirty=True)
        st.session_state[f"{key}_name"] = found.name


def _follow(key: str) -> None:
    """The table follows the session's question set unless it holds unsaved edits; then it asks first."""
    source = state.questions_source() or ""
    if _value(key, "rows") is None or (_value(key, "source") != source and not _value(key, "dirty")):
        resources.guarded("opening the question set in the table", _open_current, key)
    elif _value(key, "source") != source:
        st.info(
            f"The table holds unsaved changes to {_value(key, 'origin')}; the question set in use is now "
            f"{state.questions_label()}. Save the table first to keep them.",
            icon=":material/info:",
        )
        st.button(
            "Open the question set in use instead (drops the unsaved changes)",
            key=f"{key}_reopen",
            icon=":material/refresh:",
            on_click=open_current,
            args=(key,),
        )


@callback
def _apply_editor(key: str) -> None:
    edits = st.session_state.get(f"{key}_editor") or {}
    _set(key, "rows", apply_edits(draft_rows(key), edits))
    _set(key, "dirty", True)


# --- checks -------------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=4)
def _locator(corpus_hash: str, _corpus: Corpus) -> EvidenceLocator:
    return EvidenceLocator(_corpus)  # keeps the documents' normalised text between reruns


def checks(rows: Sequence[QuestionRow], corpus: Corpus | None) -> list[RowCheck]:
    """Each row checked against the corpus, with the chunks cut as the Corpus page cuts them."""
    if corpus is None:
        return qr.check_rows(rows)
    cut = resources.guarded(
        "cutting the documents into chunks", resources.chunks, corpus, state.index_config()
    )
    return qr.check_rows(rows, corpus, cut or [], _locator(corpus.content_hash, corpus))


# --- the section --------------------------------------------------------------------------------------------


HELP = {
    "id": "Given to each new row; results name questions by it.",
    "question": "The question, as a user would ask it.",
    "gold": f'Accepted answers, several separated by "|"; "{NOT_FOUND}" when the documents do not say.',
    "kind": "single: one fact; multi-hop: needs two passages; unanswerable: the documents do not say.",
    "reviewed": "Tick once a person has checked the question, answer and evidence.",
    "found": "Whether the evidence is in the documents.",
    "message": "What to fix in this row, if anything.",
    "evidence": "A quote copied from a document that proves the answer (several separated by '|'); optional.",
    "where": "Document, characters and chunk (with the Corpus page's chunking).",
}


def _column_config(rows: Sequence[QuestionRow]) -> dict[str, Any]:
    text, kinds = st.column_config.TextColumn, list(dict.fromkeys([*qr.KINDS, *(r.kind for r in rows)]))
    return {
        "id": text("id", disabled=True, width="small", help=HELP["id"]),
        "question": text("Question", width="medium", help=HELP["question"]),
        "gold": text("Gold answers", help=HELP["gold"]),
        "kind": st.column_config.SelectboxColumn("Kind", options=kinds, default="single", help=HELP["kind"]),
        "reviewed": st.column_config.CheckboxColumn("Reviewed", default=False, help=HELP["reviewed"]),
        "found": text("Evidence found", disabled=True, help=HELP["found"]),
        "message": text("Message", disabled=True, width="medium", help=HELP["message"]),
        "evidence": text("Evidence", width="large", help=HELP["evidence"]),
        "where": text("Where", disabled=True, help=HELP["where"]),
    }


def _summary(rows: Sequence[QuestionRow], found: Sequence[RowCheck]) -> None:
    kept = [(r, c) for r, c in zip(rows, found, strict=True) if not r.blank]
    if not kept:
        st.caption(
            "The table is empty: add a row (the + under the table), type a question and its gold answer."
        )
        return
    usable = sum(c.usable for _, c in kept)
    evidence = [c for r, c in kept if r.evidence]
    st.caption(
        f"{len(kept)} rows · {usable} usable questions · evidence found for "
        f"{sum(c.found == 'yes' for c in evidence)} of {len(evidence)} rows with evidence · "
        f"{sum(r.reviewed for r, _ in kept)} reviewed"
    )
    if usable < len(kept):
        st.warning(
            f"{len(kept) - usable} row(s) cannot be used yet (see their message): they stay in the table and "
            "are saved, but evaluations leave them out.",
            icon=":material/warning:",
        )


@callback
def _save(key: str, corpus: Corpus | None, on_use: Callable[[], None] | None) -> None:
    name, saved_as = str(st.session_state.get(f"{key}_name") or ""), str(_value(key, "saved_as") or "")
    replace_it = name.strip().lower() == saved_as.lower() or bool(st.session_state.get(f"{key}_replace"))
    st.session_state[f"{key}_replace"] = False
    saved = open_store().save_question_set(
        name,
        draft_rows(key),
        corpus=state.corpus_label() if corpus is not None else "",
        corpus_hash=corpus.content_hash if corpus is not None else "",
        replace=replace_it,
    )
    _set(key, "saved_as", saved.name)
    _set(key, "origin", f"the saved set '{saved.name}'")
    _set(key, "dirty", False)
    st.session_state[f"{key}_name"] = saved.name
    if not saved.questions:
        unused = "each needs a question and a gold answer. The question set in use did not change."
        question_sets.flash(
            key, "warning", f"Saved '{saved.name}', but no row is a usable question yet: {unused}"
        )
        return
    question_sets.use_saved(saved.name)
    _set(key, "source", state.questions_source())
    if on_use is not None:
        on_use()
    used = f"({saved.questions} questions): it is now the question set of the labs and this page."
    question_sets.flash(key, "success", f"Saved '{saved.name}' {used}")


@callback
def _delete(key: str) -> None:
    name = str(_value(key, "saved_as") or "")
    open_store().delete_question_set(name)
    if saved_name(state.questions_source()) == name:  # still usable in this session, under a plain label
        state.set_questions(state.questions(), f"{name} (deleted from the saved sets)", f"table:{name}")
    _set(key, "source", state.questions_source())
    _set(key, "saved_as", "")
    _set(key, "dirty", True)
    question_sets.flash(key, "success", f"Deleted the saved set '{name}'. Its questions stay in the table.")


def _toolbar(key: str) -> None:
    dirty = " · unsaved changes" if _value(key, "dirty") else ""
    st.caption(f"In the table: {_value(key, 'origin')}{dirty}")
    left, middle, right = st.columns(3)
    left.button(
        "Open the question set in use",
        key=f"{key}_open",
        icon=":material/table_view:",
        on_click=open_current,
        args=(key,),
        disabled=state.questions() is None,
        help="Put the session's question set in the table, to review or change it.",
    )
    middle.button(
        "Start an empty table", key=f"{key}_empty", icon=":material/add:", on_click=start_empty, args=(key,)
    )
    saved_as = _value(key, "saved_as")
    if saved_as:
        with right.popover("Delete the saved set", icon=":material/delete:"):
            st.button(f"Delete '{saved_as}' for good", key=f"{key}_delete", on_click=_delete, args=(key,))


def _save_form(key: str, corpus: Corpus | None, on_use: Callable[[], None] | None) -> None:
    rows = draft_rows(key)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(
        "Name of the question set",
        key=f"{key}_name",
        max_chars=80,
        placeholder="e.g. returns policy, checked by Ana",
        help="Saved sets are kept in the experiment store: pick them again later here or in the labs.",
    )
    taken = {s.name.lower() for s in question_sets.saved_sets()} - {
        str(_value(key, "saved_as") or "").lower()
    }
    if name.strip().lower() in taken:
        st.checkbox(f"Replace the saved set '{name.strip()}'", key=f"{key}_replace")
    right.button(
        "Save and use",
        key=f"{key}_save",
        type="primary",
        icon=":material/save:",
        on_click=_save,
        args=(key, corpus, on_use),
        disabled=all(r.blank for r in rows),
        help="Save the table under this name and make it the question set of the labs and this page.",
    )


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name.strip()).strip("-.") or "questions"


def _downloads(key: str, rows: Sequence[QuestionRow]) -> None:
    if all(r.blank for r in rows):
        return
    stem = _file_stem(str(st.session_state.get(f"{key}_name") or ""))
    left, right = st.columns(2)
    left.download_button(
        "Download JSONL",
        qr.to_jsonl(rows),
        f"{stem}.jsonl",
        "application/jsonl",
        key=f"{key}_jsonl",
        icon=":material/download:",
        on_click="ignore",
        help="The project's question format, with everything: `playground eval --questions` reads it.",
    )
    right.download_button(
        "Download CSV",
        qr.to_csv(rows),
        f"{stem}.csv",
        "text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
        help="For a spreadsheet; gold answers and evidence quotes separated by '|'.",
    )


def question_table(key: str, corpus: Corpus | None, on_use: Callable[[], None] | None = None) -> None:
    """The question table: add, edit, delete and review rows, each checked; save by name; download.

    `on_use` runs after a save made the table the session's question set (a chooser can follow it)."""
    _take_generated(key)
    _follow(key)
    question_sets.show_flash(key)
    _toolbar(key)
    rows = draft_rows(key)
    found = checks(rows, corpus)
    st.data_editor(
        table_frame(rows, found),
        key=f"{key}_editor",
        num_rows="dynamic",
        hide_index=True,
        column_order=COLUMNS,
        column_config=_column_config(rows),
        on_change=_apply_editor,
        args=(key,),
    )
    _summary(rows, found)
    _save_form(key, corpus, on_use)
    _downloads(key, rows)
