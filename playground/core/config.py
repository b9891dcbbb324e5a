"""One frozen config fully describes a variant, so two variants can be diffed, hashed, cached and saved.

The index part (how the corpus is chunked and embedded) nests inside the pipeline part, so changing `top_k`
reuses the index while changing `chunk_size` builds a new one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Re-exported: their home is core.defaults (light, for the app's first page); many modules import them from here.
from playground.core.defaults import DEFAULT_EMBEDDER as DEFAULT_EMBEDDER
from playground.core.defaults import DEFAULT_LOCAL_MODEL as DEFAULT_LOCAL_MODEL
from playground.core.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def key(self) -> str:
        """A stable hash of every field: equal configs share it, any change gives a new one."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class IndexConfig(_Frozen):
    """How a corpus becomes searchable chunks."""

    chunker: Literal["tokens", "recursive", "markdown"] = "recursive"
    chunk_size: int = Field(default=200, ge=16, le=2000, description="Maximum tokens per chunk.")
    chunk_overlap: int = Field(default=30, ge=0, le=1000, description="Tokens shared by consecutive chunks.")
    embedder: str = DEFAULT_EMBEDDER

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info: Any) -> int:
        size = info.data.get("chunk_size")
        if size is not None and value >= size:
            raise ValueError(f"must be smaller than chunk_size ({size})")
        return value


class FewShotExample(_Frozen):
    question: str
    answer: str


class VariantConfig(_Frozen):
    """Everything that decides how one variant answers a question."""

    name: str = "variant"
    description: str = ""
    # Prompt engineering
    system_prompt: str | None = None
    template: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    few_shot: tuple[FewShotExample, ...] = ()
    think_step_by_step: bool = False
    # Retrieval
    use_retrieval: bool = False
    top_k: int = Field(default=4, ge=1, le=100)
    index: IndexConfig = Field(default_factory=lambda: IndexConfig())
    retriever: Literal["dense", "bm25", "hybrid"] = Field(
        "dense", description="dense cosine, BM25, or both fused by reciprocal rank fusion (k=60)."
    )
    hyde: bool = Field(False, description="Search with the embedding of an LLM-written hypothetical answer.")
    hyde_with_question: bool = Field(True, description="Average the HyDE passage vector with the question's.")
    query_expansion: int = Field(0, ge=0, le=5, description="LLM rewrites of the question, fused by RRF.")
    reranker: Literal["none", "llm", "cross-encoder"] = Field(
        "none",
        description="Rerank candidates by an LLM's P(yes), or by a cross-encoder or rerank server "
        "(reranker_model).",
    )
    reranker_model: str | None = Field(
        None,
        description="cross-encoder: ce:<folder> or rerank:<model>@<url> (required); llm: another chat model "
        "to judge relevance (None: the variant's model).",
    )
    rerank_candidates: int = Field(20, ge=1, le=200, description="Retrieved chunks the reranker scores.")
    rerank_fusion: Literal["auto", "rrf", "interpolate", "replace"] = Field(
        "auto",
        description="How the reranker's scores meet the retriever's order: reciprocal rank fusion, a weighted "
        "sum of the reranker's probability and the min-max scaled retriever score, or the reranker's order "
        "alone. auto: interpolate, for every reranker (measured on SciFact and the fictional sample: "
        "bench/RESULTS-retrieval.md).",
    )
    rerank_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="interpolate: the reranker's share of the fused score."
    )
    classify: bool = Field(
        False, description="Let the LLM route the question to corpus categories (or none)."
    )
    fact_check: bool = Field(False, description="Check the answer against the retrieved chunks.")
    # Generation
    model: str = DEFAULT_LOCAL_MODEL
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=8192)

    @field_validator("name")
    @classmethod
    def _non_empty_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a variant needs a non-empty name")
        return value.strip()

    @model_validator(mode="after")
    def _techniques_need_retrieval(self) -> VariantConfig:
        if not self.use_retrieval:
            used = [name for name, on in self._retrieval_techniques().items() if on]
            if used:
                raise ValueError(
                    f"{', '.join(used)} only work with retrieval: set use_retrieval to true or turn them off"
                )
        if self.reranker != "none" and self.rerank_candidates < self.top_k:
            raise ValueError(
                f"rerank_candidates ({self.rerank_candidates}) must be at least top_k ({self.top_k})"
            )
        self._check_reranker_model()
        return self

    def _check_reranker_model(self) -> None:
        if self.reranker_model is not None and not self.reranker_model.strip():
            raise ValueError("reranker_model is empty: give a model name or leave it out")
        if self.reranker == "cross-encoder" and self.reranker_model is None:
            raise ValueError(
                "reranker: cross-encoder needs a reranker_model: train one on the Fine-tune page or with "
                "`playground finetune-reranker`, or give ce:<cross-encoder folder> or "
                "rerank:<model>@http://host:port (a server with a /rerank endpoint)"
            )
        if self.reranker == "none" and self.reranker_model is not None:
            raise ValueError("reranker_model is set but reranker is none: choose a reranker or remove it")

    def _retrieval_techniques(self) -> dict[str, bool]:
        return {
            f"retriever={self.retriever}": self.retriever != "dense",
            "hyde": self.hyde,
            "query_expansion": self.query_expansion > 0,
            f"reranker={self.reranker}": self.reranker != "none",
            "classify": self.classify,
            "fact_check": self.fact_check,
        }

    def diff(self, other: VariantConfig) -> dict[str, tuple[Any, Any]]:
        """Field-by-field differences, with nested index fields as `index.<field>`."""
        mine, theirs = _flatten(self.model_dump(mode="json")), _flatten(other.model_dump(mode="json"))
        return {
            k: (mine.get(k), theirs.get(k))
            for k in sorted(mine.keys() | theirs.keys())
            if mine.get(k) != theirs.get(k)
        }

    def behaviour_key(self) -> str:
        """The hash without the display name and description: two variants that answer identically share it."""
        return self.model_copy(update={"name": "-", "description": ""}).key()


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key == "index":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _describe_validation_error(err: ValidationError, where: str) -> str:
    lines = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"unknown key '{loc}'")
        else:
            lines.append(f"'{loc}': {item['msg']}")
    return f"{where}: " + "; ".join(lines) + ". Fix these keys in the file and try again."


def variant_from_dict(data: dict[str, Any], where: str = "variant") -> VariantConfig:
    try:
        return VariantConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe_validation_error(err, where)) from None


class VariantSet(BaseModel):
    """A variants file: the variants plus the corpus and question set they are meant for, and the model that
    judges their answers (a run setting, not part of any variant's identity)."""

    model_config = ConfigDict(frozen=True)

    variants: tuple[VariantConfig, ...]
    corpus: Path | None = None
    questions: Path | None = None
    judge: str | None = None

    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def get(self, name: str) -> VariantConfig:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise ConfigError(f"No variant named '{name}'. Known variants: {', '.join(self.names())}.")


_FILE_KEYS = {"corpus", "questions", "defaults", "variants", "judge"}


def _merge(defaults: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **variant}
    if isinstance(defaults.get("index"), dict) and isinstance(variant.get("index"), dict):
        merged["index"] = {**defaults["index"], **variant["index"]}
    return merged


def parse_variant_set(data: Any, base_dir: Path, where: str) -> VariantSet:
    """Build a VariantSet from parsed YAML; paths in the file are relative to the file's folder."""
    if not isinstance(data, dict) or "variants" not in data:
        raise ConfigError(
            f"{where}: expected a mapping with a 'variants' list (and optional corpus, questions, defaults, "
            "judge)."
        )
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{sorted(unknown)[0]}'. Allowed top-level keys: {', '.join(sorted(_FILE_KEYS))}."
        )
    defaults = data.get("defaults") or {}
    raw_variants = data["variants"]
    if not isinstance(raw_variants, list) or not raw_variants or not isinstance(defaults, dict):
        raise ConfigError(
            f"{where}: 'variants' must be a non-empty list of mappings and 'defaults' a mapping."
        )
    variants = []
    for i, raw in enumerate(raw_variants, start=1):
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: variant #{i} must be a mapping of settings.")
        variants.append(
            variant_from_dict(_merge(defaults, raw), f"{where}, variant #{i} ({raw.get('name', '?')})")
        )
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: variant names must be unique; '{duplicates[0]}' appears twice.")

    def resolve(key: str) -> Path | None:
        return (base_dir / data[key]).resolve() if data.get(key) else None

    judge = data.get("judge")
    if judge is not None and (not isinstance(judge, str) or not judge.strip()):
        raise ConfigError(f"{where}: 'judge' must be a model name such as local:qwen2.5-1.5b.")
    return VariantSet(
        variants=tuple(variants),
        corpus=resolve("corpus"),
        questions=resolve("questions"),
        judge=judge.strip() if judge else None,
    )


def load_variant_set(path: Path) -> VariantSet:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Variants file not found: {path}. Check the path.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid YAML ({err}). Fix the file and try again.") from None
    return parse_variant_set(data, Path(path).parent, str(path))


def load_variant_set_text(text: str, base_dir: Path, where: str = "uploaded variants") -> VariantSet:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{where} is not valid YAML ({err}). Fix the file and try again.") from None
    return parse_variant_set(data, base_dir, where)


def dump_variant_set(
    variants: list[VariantConfig] | tuple[VariantConfig, ...],
    corpus: str | None = None,
    questions: str | None = None,
    judge: str | None = None,
) -> str:
    """YAML text that `load_variant_set` reads back into equal configs."""
    data: dict[str, Any] = {}
    if corpus:
        data["corpus"] = corpus
    if questions:
        data["questions"] = questions
    if judge:
        data["judge"] = judge
    data["variants"] = [v.model_dump(mode="json", exclude_defaults=True) | {"name": v.name} for v in variants]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
