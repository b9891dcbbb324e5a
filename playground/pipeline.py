"""question -> (retrieve) -> prompt -> answer, with everything a user wants to inspect about each step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from playground.config import VariantConfig
from playground.documents import Corpus
from playground.embedders import Embedder, get_embedder
from playground.errors import InputError, PlaygroundError
from playground.index import Progress, ScoredChunk, VectorIndex, get_or_build_index
from playground.llms import LLM, get_llm
from playground.prompts import BuiltPrompt, build_prompt, extract_answer, format_context
from playground.settings import Settings


@dataclass(frozen=True)
class PipelineResult:
    """One answered question: the answer, what was retrieved, the exact prompt, tokens and per-step latency."""

    question: str
    answer: str
    raw_output: str
    retrieved: tuple[ScoredChunk, ...]
    prompt: BuiltPrompt
    prompt_tokens: int
    completion_tokens: int
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def latency_s(self) -> float:
        return sum(self.timings.values())


@dataclass
class Pipeline:
    """A variant bound to its model and, when it retrieves, to its index and embedder."""

    variant: VariantConfig
    llm: LLM
    index: VectorIndex | None = None
    embedder: Embedder | None = None

    def retrieve(self, question: str) -> tuple[list[ScoredChunk], float]:
        if not (self.variant.use_retrieval and self.index is not None and self.embedder is not None):
            return [], 0.0
        started = time.perf_counter()
        vector = self.embedder.embed_query(question)
        hits = self.index.search(vector, self.variant.top_k)
        return hits, time.perf_counter() - started

    def run(self, question: str) -> PipelineResult:
        if not question.strip():
            raise InputError("The question is empty. Type a question first.")
        hits, retrieve_s = self.retrieve(question)
        context = format_context([(h.chunk.title, h.chunk.text) for h in hits]) if self.variant.use_retrieval else None
        prompt = build_prompt(self.variant, question, context)
        timings = {"retrieve": retrieve_s} if self.variant.use_retrieval else {}
        completion = self.llm.chat(prompt.messages, temperature=self.variant.temperature,
                                   max_tokens=self.variant.max_tokens)
        timings["generate"] = completion.latency_s
        return PipelineResult(question=question, answer=extract_answer(completion.text, self.variant.think_step_by_step),
                              raw_output=completion.text, retrieved=tuple(hits), prompt=prompt,
                              prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
                              timings=timings)

    def run_safely(self, question: str) -> PipelineResult:
        """Like `run`, but a failure becomes a result with `error` set, so a sweep can go on."""
        try:
            return self.run(question)
        except PlaygroundError as err:
            prompt = BuiltPrompt([])
            return PipelineResult(question, "", "", (), prompt, 0, 0, {}, error=str(err))


def build_pipeline(variant: VariantConfig, corpus: Corpus | None, settings: Settings, *, llm: LLM | None = None,
                   on_progress: Progress | None = None) -> Pipeline:
    """Resolve the model, and for retrieval variants the embedder and index (building it if needed)."""
    model = llm or get_llm(variant.model, settings)
    if not variant.use_retrieval:
        return Pipeline(variant, model)
    if corpus is None:
        raise InputError(f"Variant '{variant.name}' uses retrieval but no corpus is loaded. Pick or upload a corpus.")
    embedder = get_embedder(variant.index.embedder, settings)
    index = get_or_build_index(corpus, variant.index, embedder, settings, on_progress)
    return Pipeline(variant, model, index, embedder)
