"""What the LLM judge is asked: each rubric's instructions, worked examples, the JSON schema its reply must fit,
and a token budget that the schema's bounds keep it within.

The examples are shown to the model as earlier turns of the conversation: small local models follow a worked
example far better than a rule (the 0.5B model, given the rules alone, copied a rule's words as its reason). They
are about made-up things, so they cannot leak an answer into any corpus's questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from playground.evaluation.structured import Schema
from playground.models.llms import Message

JUDGE_CORRECT, FAITHFULNESS = "judge_correct", "faithfulness"
VERDICT_SCORES = {"yes": 1.0, "partial": 0.5, "no": 0.0}
REASON_CHARS = 200  # bounds the grammar, so a constrained reply always ends within its token budget
MAX_CLAIMS, CLAIM_CHARS = 6, 160
CONTEXT_CHARS = 6000  # the retrieved chunks shown to the faithfulness judge, at most

VERDICT_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": REASON_CHARS},
        "verdict": {"type": "string", "enum": list(VERDICT_SCORES)},
    },
    "required": ["reason", "verdict"],
    "additionalProperties": False,
}
CLAIMS_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "claims": {
            "type": "array",
            "maxItems": MAX_CLAIMS,
            "items": {
                "type": "object",
                "properties": {
                    "claim": {"type": "string", "maxLength": CLAIM_CHARS},
                    "supported": {"type": "boolean"},
                },
                "required": ["claim", "supported"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["claims"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Rubric:
    """What the judge is asked: instructions, worked examples (user text, reply object), the schema its reply
    must fit and a token budget for the reply."""

    metric: str
    instructions: str
    examples: tuple[tuple[str, dict[str, Any]], ...]
    schema: Schema
    max_tokens: int

    def messages(self, user: str) -> list[Message]:
        """The conversation to send: instructions, each example as a turn, then the case to judge."""
        turns: list[Message] = [{"role": "system", "content": self.instructions}]
        for shown, reply in self.examples:
            turns.append({"role": "user", "content": shown})
            turns.append({"role": "assistant", "content": json.dumps(reply)})
        return [*turns, {"role": "user", "content": user}]


def correctness_case(question: str, golds: list[str] | tuple[str, ...], answer: str) -> str:
    return (
        f"Question: {question}\nGold answers: {' | '.join(golds) or '(none)'}\nAnswer: {answer or '(empty)'}"
    )


def faithfulness_case(question: str, contexts: list[str] | tuple[str, ...], answer: str) -> str:
    context = "\n\n".join(f"[{i}] {c.strip()}" for i, c in enumerate(contexts, start=1))[:CONTEXT_CHARS]
    return f"Context:\n{context}\n\nQuestion: {question}\nAnswer: {answer or '(empty)'}"


def _verdict(reason: str, verdict: str) -> dict[str, Any]:
    return {"reason": reason, "verdict": verdict}


CORRECTNESS = Rubric(
    JUDGE_CORRECT,
    "You grade an answer to a question against the gold answers. Does the answer state the same fact as one "
    "of the gold answers?\n"
    "- yes: the same fact; other wording, another way of writing the same number, unit or date, or extra "
    "detail that does not contradict it are fine.\n"
    "- partial: only part of the gold answer, or the gold answer together with a wrong one.\n"
    "- no: a different fact (a different number, date, name or place is a different fact), something vague, "
    "or a refusal such as 'not in the documents'. When the gold answer is itself 'not in the documents', a "
    "refusal is yes.\n"
    "First write the reason: quote what the answer says, quote the gold, and say whether they state the "
    'same fact. Then the verdict. Reply with JSON only: {"reason": "...", "verdict": "yes" | "partial" | "no"}',
    (
        (
            correctness_case(
                "How long is the Brindle kettle's warranty?",
                ["2 years", "two years"],
                "The kettle is covered for two years from purchase.",
            ),
            _verdict('answer "two years"; gold "2 years"; the same', "yes"),
        ),
        (
            correctness_case("When does the Oakvale library open?", ["8:30"], "It opens at 9:00 every day."),
            _verdict('answer "9:00"; gold "8:30"; different times', "no"),
        ),
        (
            correctness_case("How far is the Tamsin ferry crossing?", ["1,500 metres"], "About 1.5 km."),
            _verdict('answer "1.5 km"; gold "1,500 metres"; the same distance', "yes"),
        ),
        (
            correctness_case("In which year was the Pell bridge built?", ["1812"], "1821"),
            _verdict('answer "1821"; gold "1812"; different years', "no"),
        ),
        (
            correctness_case("Which two colours does the Pell scarf come in?", ["red and blue"], "Red."),
            _verdict('answer "Red"; gold "red and blue"; only part of it', "partial"),
        ),
        (
            correctness_case("Who signed the Harrow treaty?", ["Jane Moss"], "not in the documents."),
            _verdict('answer "not in the documents"; gold "Jane Moss"; gives no name', "no"),
        ),
        (
            correctness_case("Who founded the Pell mill?", ["not in the documents"], "not in the documents"),
            _verdict(
                'answer "not in the documents"; gold "not in the documents"; both say it is not there', "yes"
            ),
        ),
        (
            correctness_case(
                "What does the Pell scarf cost in Japan?", ["not in the documents"], "It costs 12 euros."
            ),
            _verdict('answer "12 euros"; gold "not in the documents"; the answer invents a price', "no"),
        ),
    ),
    VERDICT_SCHEMA,
    160,
)

FAITHFULNESS_RUBRIC = Rubric(
    FAITHFULNESS,
    "You check an answer against the context it was written from. List the facts the answer states (at "
    f"most {MAX_CLAIMS}, each as one short sentence) and, for each, whether the context supports it. A fact "
    "that the context does not state, or contradicts, is not supported. An answer that states no fact, such "
    "as 'not in the documents', has no claims: reply with an empty list.\n"
    'Reply with JSON only: {"claims": [{"claim": "<short sentence>", "supported": true | false}]}',
    (
        (
            faithfulness_case(
                "When does the Oakvale library open, and who runs it?",
                ["The Oakvale library opens at 8:30 on weekdays. It is run by the town council."],
                "It opens at 8:30 and is run by a charity.",
            ),
            {
                "claims": [
                    {"claim": "The library opens at 8:30.", "supported": True},
                    {"claim": "The library is run by a charity.", "supported": False},
                ]
            },
        ),
        (
            faithfulness_case(
                "Who signed the Harrow treaty?",
                ["The Harrow treaty was drafted in 1822."],
                "not in the documents.",
            ),
            {"claims": []},
        ),
    ),
    CLAIMS_SCHEMA,
    400,
)
