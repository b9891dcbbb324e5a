"""A rerank server: the Cohere/Jina-style `/rerank` endpoint that vLLM, Infinity, llama.cpp's
`llama-server --reranking` and Text Embeddings Inference (TEI) expose, named `rerank:<model>@<base_url>`.

    POST <base_url>/rerank  {"model": ..., "query": ..., "documents": [...], "top_n": N}
    -> {"results": [{"index": 0, "relevance_score": 0.93}, ...]}      (vLLM, Infinity, llama-server, Cohere)
    -> [{"index": 0, "score": 0.93}, ...]                              (TEI, which wants "texts", not "documents")

A server that refuses "documents" but names "texts" in its complaint (TEI) is asked again in its own form, once
per process. Timeout and retries come from the settings, like every hosted model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from playground.core.errors import ModelError
from playground.core.settings import Settings

RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
BACKOFF_S = 0.5


class RerankServer:
    """Scores passages with a model on a rerank server. A client (`httpx.Client`) can be passed in."""

    def __init__(
        self, name: str, model: str, base_url: str, settings: Settings, *, client: httpx.Client | None = None
    ) -> None:
        self.name = name
        self.model = model
        self.url = base_url.rstrip("/") + "/rerank"
        self.max_retries = settings.max_retries
        headers = (
            {"Authorization": f"Bearer {settings.compatible_api_key}"} if settings.compatible_api_key else {}
        )
        self._client = client or httpx.Client(timeout=settings.request_timeout_s, headers=headers)
        self._texts_form = False  # TEI's request form: {"query", "texts"}

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        response = self._post(self._body(query, passages))
        if not self._texts_form and response.status_code == 422 and "texts" in response.text:
            self._texts_form = True
            response = self._post(self._body(query, passages))
        if response.status_code >= 400:
            raise ModelError(
                f"{self.name}: the rerank server answered {response.status_code} ({_short(response.text)}). "
                "Check the model name and that the server was started as a reranker."
            )
        return _scores(self.name, _json(self.name, response), len(passages))

    def _body(self, query: str, passages: Sequence[str]) -> dict[str, Any]:
        if self._texts_form:
            return {"query": query, "texts": list(passages), "raw_scores": False}
        return {"model": self.model, "query": query, "documents": list(passages), "top_n": len(passages)}

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with the settings' retries on connection errors, timeouts and busy or failing servers."""
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException:
                if last:
                    raise ModelError(
                        f"{self.name}: the rerank server at {self.url} did not answer in time. Try again, "
                        "lower the number of rerank candidates, or raise the request timeout."
                    ) from None
            except httpx.HTTPError as err:
                if last:
                    raise ModelError(
                        f"{self.name}: cannot reach the rerank server at {self.url} ({type(err).__name__}). "
                        "Start the server (for example `vllm serve <model> --task score` or `llama-server "
                        "--reranking`), or check the address."
                    ) from None
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
            time.sleep(BACKOFF_S * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _json(name: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ModelError(
            f"{name}: the server's answer is not JSON ({_short(response.text, 80)!r}). Check that the address "
            "is a rerank server (the playground posts to <address>/rerank)."
        ) from None


def _scores(name: str, data: Any, count: int) -> list[float]:
    """One score per passage from either response shape; anything else says what was expected."""
    items: Any = data.get("results") if isinstance(data, Mapping) else data
    found: dict[int, float] = {}
    try:
        for item in items:
            score = item["relevance_score"] if "relevance_score" in item else item["score"]
            found[int(item["index"])] = float(score)
    except (TypeError, KeyError, ValueError):
        raise ModelError(
            f'{name}: the server\'s answer is not a rerank result (expected {{"results": [{{"index", '
            f'"relevance_score"}}]}} or [{{"index", "score"}}], got {_short(str(data), 120)}). Check that '
            "the address is a rerank server."
        ) from None
    if sorted(found) != list(range(count)):
        raise ModelError(
            f"{name}: the server scored {len(found)} of the {count} passages sent. Check that the server "
            "returns every passage (top_n) and that it is a rerank server."
        )
    return [found[i] for i in range(count)]
