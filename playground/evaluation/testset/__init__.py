"""Question sets written from any corpus by an LLM, every question checked (see `generate_questions`)."""

from playground.evaluation.testset.generate import GenerationOptions, generate_questions, parse_kinds, plan
from playground.evaluation.testset.report import KINDS, GeneratedQuestion, GenerationReport, Kind, Rejection
from playground.evaluation.testset.writer import DocumentChecks, QuestionWriter

__all__ = [
    "KINDS",
    "DocumentChecks",
    "GeneratedQuestion",
    "GenerationOptions",
    "GenerationReport",
    "Kind",
    "QuestionWriter",
    "Rejection",
    "generate_questions",
    "parse_kinds",
    "plan",
]
