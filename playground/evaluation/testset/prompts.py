"""What the model is asked for each kind of question, and the JSON schema of its reply.

The generator hands the model the evidence sentence (and, when the sentence holds one, the fact to ask for):
see `facts` for the measurements behind that. The model writes the question, and the answer only when the
sentence holds no fact the generator recognises.
"""

from __future__ import annotations

from typing import Any

from playground.core.documents import Chunk
from playground.models.llms import Message

SYSTEM = "You write test questions about documents. You reply with one JSON object and nothing else."
_STYLE = (
    'Ask in your own words and name what the question is about (never "the passage", "it" or "this"); '
    "do not put the answer in the question."
)
FOR_ANSWER = (
    'Document: "{title}"\nSentence: "{sentence}"\n\n'
    'Write a question whose answer is "{answer}", using only this sentence. ' + _STYLE + "\n"
    'Reply as JSON: {{"question": "..."}}'
)
FOR_ANSWERS = (
    'Document: "{title}"\n{items}\n\n'
    "For each numbered sentence, write one question whose answer is the given answer, using only that "
    "sentence. " + _STYLE + "\n"
    'Reply as JSON with the {n} questions in order: {{"questions": ["...", "..."]}}'
)
OPEN = (
    'Document: "{title}"\nSentence: "{sentence}"\n\n'
    "Pick one fact of this sentence (a number, date, name or phrase of at most five words) and write a "
    "question whose answer is that fact. " + _STYLE + "\n"
    'Reply as JSON: {{"answer": "<the fact, copied from the sentence>", "question": "..."}}'
)
MULTI = (
    'Sentence A, from "{title_a}": "{sentence_a}"\nSentence B, from "{title_b}": "{sentence_b}"\n\n'
    'Both sentences mention {name}. Write one question whose answer is "{answer}" (from sentence B) and '
    "that needs both sentences: describe {name} the way sentence A does, without writing its name. "
    + _STYLE
    + "\n"
    'Reply as JSON: {{"question": "..."}}'
)
UNANSWERABLE = (
    'Passage from "{title}":\n{passage}\n\n'
    "Write one question about the same subject that a reader of these documents might ask, but that the "
    "passage does not answer: ask for a detail it does not give (a number, date, name or place). "
    'Name what the question is about (never "the passage", "it" or "this").\n'
    'Reply as JSON: {{"question": "..."}}'
)


def _object(*keys: str) -> dict[str, Any]:
    props = {k: {"type": "string"} for k in keys}
    return {"type": "object", "properties": props, "required": list(keys), "additionalProperties": False}


QUESTION_SCHEMA = _object("question")


def questions_schema(n: int) -> dict[str, Any]:
    array = {"type": "array", "items": {"type": "string"}, "minItems": n, "maxItems": n}
    return {
        "type": "object",
        "properties": {"questions": array},
        "required": ["questions"],
        "additionalProperties": False,
    }


ANSWER_QUESTION_SCHEMA = _object("answer", "question")


def _messages(user: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def title(chunk: Chunk) -> str:
    return chunk.title or chunk.source or chunk.doc_id


def for_answer(chunk: Chunk, sentence: str, answer: str) -> list[Message]:
    return _messages(FOR_ANSWER.format(title=title(chunk), sentence=sentence, answer=answer))


def for_answers(chunk: Chunk, pairs: list[tuple[str, str]]) -> list[Message]:
    """Several (sentence, answer) pairs of one passage in one request."""
    items = "\n".join(f'{i}. Sentence: "{s}" Answer: "{a}"' for i, (s, a) in enumerate(pairs, start=1))
    return _messages(FOR_ANSWERS.format(title=title(chunk), items=items, n=len(pairs)))


def open_fact(chunk: Chunk, sentence: str) -> list[Message]:
    return _messages(OPEN.format(title=title(chunk), sentence=sentence))


def multi(
    first: Chunk, sentence_a: str, second: Chunk, sentence_b: str, name: str, answer: str
) -> list[Message]:
    return _messages(
        MULTI.format(
            title_a=title(first),
            sentence_a=sentence_a,
            title_b=title(second),
            sentence_b=sentence_b,
            name=name,
            answer=answer,
        )
    )


def unanswerable(chunk: Chunk) -> list[Message]:
    return _messages(UNANSWERABLE.format(title=title(chunk), passage=chunk.text.strip()))
