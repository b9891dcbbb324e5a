"""The scale path for indexes: a chromadb server (`chroma run` on loopback) instead of the embedded store."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from playground.core.config import IndexConfig, VariantConfig
from playground.core.errors import PlaygroundError
from playground.ingest.loaders import load_folder
from playground.models.fake import FakeLLM
from playground.models.registry import get_embedder
from playground.rag.pipeline import build_pipeline
from playground.retrieval.index import forget_loaded_indexes, get_or_build_index

from .streamlit_server import free_port

QUERIES = [
    "How many days do customers have to return a product?",
    "What does a return label cost?",
    "holidays",
]


def _chroma_executable() -> Path | None:
    beside = Path(sys.executable).parent / "chroma"  # the virtual environment's CLI
    found = beside if beside.exists() else shutil.which("chroma")
    return Path(found) if found else None


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`chroma run` on a free loopback port, once its heartbeat answers; stopped when the block ends."""
    exe = _chroma_executable()
    if exe is None:
        pytest.skip("the `chroma` executable is missing: it comes with `pip install chromadb`")
    port = free_port()
    log = folder / "chroma.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(exe), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_heartbeat(url, proc, log)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _wait_for_heartbeat(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`chroma run` exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        with suppress(OSError), urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as reply:
            if reply.status == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"`chroma run` did not answer within {timeout_s} s:\n{log.read_text(errors='replace')}")


def _ranked(index, embedder) -> list[list[tuple[str, float]]]:
    return [
        [(h.chunk.chunk_id, round(h.score, 4)) for h in index.search(embedder.embed_query(q), 4)]
        for q in QUERIES
    ]


def test_an_index_on_a_chroma_server_matches_the_embedded_one(tmp_path, small_corpus_dir, settings):
    corpus = load_folder(small_corpus_dir)
    embedder = get_embedder("local:all-minilm-l6-v2", settings)
    embedded = get_or_build_index(corpus, IndexConfig(), embedder, settings)
    with chroma_server(tmp_path) as (url, _):
        remote = dataclasses.replace(settings, data_dir=tmp_path / "remote-data", chroma_url=url)
        built = []
        served = get_or_build_index(corpus, IndexConfig(), embedder, remote, lambda d, t: built.append(d))
        assert built and served is not embedded and served.key == embedded.key
        assert _ranked(served, embedder) == _ranked(embedded, embedder)
        assert not (remote.data_dir / "chroma").exists()  # nothing went to the embedded store

        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
        assert client.get_collection(f"ix-{served.key}").count() == len(served)

        forget_loaded_indexes()  # a fresh process: the manifest and the server's collection are reused
        reopened = get_or_build_index(
            corpus, IndexConfig(), embedder, remote, lambda d, t: built.append("again")
        )
        assert "again" not in built and _ranked(reopened, embedder) == _ranked(embedded, embedder)


def test_a_server_that_stops_gives_an_error_row_not_a_crash(tmp_path, small_corpus_dir, settings):
    corpus = load_folder(small_corpus_dir)
    with chroma_server(tmp_path) as (url, proc):
        remote = dataclasses.replace(settings, chroma_url=url)
        variant = VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2)
        pipeline = build_pipeline(variant, corpus, remote, llm=FakeLLM())
        assert pipeline.run_safely(QUERIES[0]).error is None
        proc.terminate()
        proc.wait(timeout=15)
        result = pipeline.run_safely(QUERIES[0])
    assert result.error and "chroma run --path DIR --host 127.0.0.1" in result.error


def test_an_unreachable_chroma_server_says_how_to_start_one(small_corpus_dir, settings):
    port = free_port()
    remote = dataclasses.replace(settings, chroma_url=f"http://127.0.0.1:{port}")
    embedder = get_embedder("local:all-minilm-l6-v2", settings)
    with pytest.raises(
        PlaygroundError, match=re.escape(f"chroma run --path DIR --host 127.0.0.1 --port {port}")
    ):
        get_or_build_index(load_folder(small_corpus_dir), IndexConfig(), embedder, remote)
    with pytest.raises(PlaygroundError, match=re.escape("should look like http://127.0.0.1:8000")):
        get_or_build_index(
            load_folder(small_corpus_dir),
            IndexConfig(),
            embedder,
            dataclasses.replace(settings, chroma_url="x"),
        )
