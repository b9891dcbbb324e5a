"""Turn a SQuAD 2.0 JSON file into this project's corpus layout: a file per paragraph and a questions file.

Usage: python sample_corpus/squad2/convert.py [SQUAD_JSON] [--out FOLDER]

The output is deterministic: the same input always gives the same files and the same question subset.
Standard library only, so it runs before the project's environment exists.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

DEFAULT_INPUT = Path("/work/shared/datasets/squad2_dev_subset/small.json")
HERE = Path(__file__).resolve().parent
QUESTIONS_PER_ARTICLE = 30
UNANSWERABLE_PER_ARTICLE = (5, 4)  # 9 of 60, about 15%, alternating the spare one between articles
NOT_IN_DOCS = "not in the documents"

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) before whitespace and a
# capital, digit or opening quote. Good enough for Wikipedia prose; the span is always a verbatim substring.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])")


def slugify(title: str) -> str:
    """'Computational_complexity_theory' -> 'computational-complexity-theory'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, covering it from first to last non-space character."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(0).rstrip())
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text.rstrip())))
    return spans


def evidence_sentence(context: str, answer_start: int, answer_text: str) -> str:
    """The sentence(s) of `context` that hold the answer, verbatim."""
    answer_end = answer_start + len(answer_text)
    spans = sentence_spans(context)
    first = next(s for s, e in spans if s <= answer_start < e or answer_start < s)
    last = next((e for s, e in spans if s < answer_end <= e), len(context.rstrip()))
    return context[first:last].strip()


def unique_texts(answers: list[dict]) -> list[str]:
    """Gold answer texts without repeats, in the order the annotators gave them."""
    seen: list[str] = []
    for answer in answers:
        text = answer["text"].strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def spread(items: list, count: int) -> list:
    """`count` items picked evenly through `items`, keeping their order."""
    if count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def question_record(qa: dict, context: str, slug: str) -> dict:
    if qa["is_impossible"]:
        answers, evidence, kind = [NOT_IN_DOCS], [], "unanswerable"
    else:
        first = qa["answers"][0]
        answers = unique_texts(qa["answers"])
        evidence = [evidence_sentence(context, first["answer_start"], first["text"])]
        kind = "single"
    return {
        "id": "",
        "question": qa["question"].strip(),
        "answers": answers,
        "evidence": evidence,
        "type": kind,
        "category": slug,
    }


def article_questions(article: dict, slug: str, n_unanswerable: int) -> list[dict]:
    """A deterministic, evenly spread subset of one article's questions, in paragraph order."""
    answerable: list[dict] = []
    unanswerable: list[dict] = []
    position: dict[str, int] = {}
    for paragraph in article["paragraphs"]:
        for qa in paragraph["qas"]:
            question = qa["question"].strip()
            if question in position:
                continue
            position[question] = len(position)
            record = question_record(qa, paragraph["context"], slug)
            (unanswerable if qa["is_impossible"] else answerable).append(record)
    chosen = spread(answerable, QUESTIONS_PER_ARTICLE - n_unanswerable) + spread(unanswerable, n_unanswerable)
    return sorted(chosen, key=lambda r: position[r["question"]])


def write_docs(article: dict, slug: str, docs_dir: Path) -> int:
    folder = docs_dir / slug
    folder.mkdir(parents=True, exist_ok=True)
    for number, paragraph in enumerate(article["paragraphs"], start=1):
        (folder / f"p{number:02d}.txt").write_text(paragraph["context"].strip() + "\n", encoding="utf-8")
    return len(article["paragraphs"])


def check_evidence(questions: list[dict], docs_dir: Path) -> list[str]:
    """Problems found: an evidence quote that is in no paragraph file, or in more than one."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(docs_dir.glob("*/*.txt"))]
    problems = []
    for q in questions:
        for quote in q["evidence"]:
            hits = sum(quote in t for t in texts)
            if hits != 1:
                problems.append(f"{q['id']}: evidence found in {hits} paragraphs: {quote[:60]!r}")
    return problems


def convert(source: Path, out: Path) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))["data"]
    docs_dir = out / "docs"
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    questions: list[dict] = []
    for index, article in enumerate(data):
        slug = slugify(article["title"])
        count = write_docs(article, slug, docs_dir)
        picked = article_questions(article, slug, UNANSWERABLE_PER_ARTICLE[index % 2])
        questions.extend(picked)
        print(f"{slug}: {count} paragraphs, {len(picked)} questions")
    for number, q in enumerate(questions, start=1):
        q["id"] = f"s{number:03d}"
    lines = [json.dumps(q, ensure_ascii=False) for q in questions]
    (out / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check_evidence(questions, docs_dir)
    kinds = {k: sum(q["type"] == k for q in questions) for k in ("single", "unanswerable")}
    print(f"{len(questions)} questions: {kinds}; evidence problems: {len(problems)}")
    for problem in problems:
        print("  " + problem)
    if problems:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_INPUT, help="SQuAD 2.0 JSON file")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: next to this script)")
    args = parser.parse_args()
    convert(args.source, args.out)


if __name__ == "__main__":
    main()
