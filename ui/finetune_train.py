"""Steps 2-4 of the Fine-tune page: hyperparameters, the background job with its live loss curve and Stop
button, and the held-out comparison of base and fine-tuned models."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.finetune import chatfile, data, jobs, registry
from playground.finetune.charts import loss_chart
from playground.finetune.embeddings import BASE_EMBEDDER, EmbedHyper
from playground.finetune.lora import BASE_MODEL, LoraHyper
from playground.finetune.openai_ft import DEFAULT_BASE, OpenAIHyper, client_for
from playground.finetune.reranker import BASE_RERANKER
from playground.finetune.split import Split
from ui import finetune_data, finetune_reranker, resources, state

TARGETS = {
    "embeddings": "The embedder (better retrieval for RAG)",
    "reranker": "The reranker (a cross-encoder that reorders what retrieval found)",
    "lora": "The local LLM (LoRA on Qwen2.5 0.5B)",
    "openai": "An OpenAI model (needs a key)",
}
ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/directions_run:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/cancel:",
    "stopped": ":material/stop_circle:",
    "diverged": ":material/trending_up:",
}


@dataclass(frozen=True)
class Plan:
    """What step 3 starts: the kind of job, the model name and the hyperparameters; a reranker's also how many
    sentences taken out of the corpus's passages train it as questions."""

    kind: str
    name: str
    hyper: Any
    base: str = ""
    sentences: int = 0


def _name(default: str, kind: str) -> str:
    return st.text_input(
        "Name of the fine-tuned model",
        default,
        key=f"ft_name_{kind}",  # one per kind: a shared key kept the embedder's name after choosing LoRA
        max_chars=64,
        help="Letters, digits, '.', '_' and '-'. Training again under the same name replaces "
        "that model only once the new one is complete.",
    )


def _embed_hyper() -> EmbedHyper:
    a, b, c, d = st.columns(4)
    return EmbedHyper(
        epochs=int(
            a.number_input(
                "Epochs",
                1,
                20,
                1,
                key="ft_e_epochs",
                help="Passes over the pairs. 1-3 is usual; more can overfit a small set.",
            )
        ),
        batch_size=int(
            b.number_input(
                "Batch size",
                2,
                128,
                16,
                key="ft_e_batch",
                help="Pairs per step. Each question is contrasted with the other passages in its batch.",
            )
        ),
        learning_rate=float(
            c.number_input(
                "Learning rate",
                1e-7,
                1e-2,
                2e-5,
                format="%.1e",
                key="ft_e_lr",
                help="Step size. 2e-5 is the usual starting point.",
            )
        ),
        warmup_ratio=float(
            d.number_input(
                "Warm-up ratio",
                0.0,
                0.5,
                0.1,
                0.05,
                key="ft_e_warm",
                help="Share of the steps that ramp the learning rate up from zero.",
            )
        ),
    )


def _lora_hyper() -> LoraHyper:
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", 1, 20, 2, key="ft_l_epochs", help="Passes over the items.")
    batch = b.number_input("Batch size", 1, 32, 4, key="ft_l_batch", help="Items per step. Larger is slower.")
    lr = c.number_input(
        "Learning rate",
        1e-6,
        1e-2,
        2e-4,
        format="%.1e",
        key="ft_l_lr",
        help="LoRA uses larger rates than full fine-tuning: 1e-4 to 5e-4 is usual.",
    )
    rank = d.number_input(
        "Rank",
        1,
        64,
        8,
        key="ft_l_rank",
        help="Size of the trained matrices: more can learn more, and overfit sooner.",
    )
    steps = st.number_input(
        "Stop after this many steps (0 = all epochs)",
        0,
        10_000,
        0,
        key="ft_l_max",
        help="A quick try: a handful of steps shows whether the loss goes down.",
    )
    return LoraHyper(
        epochs=int(epochs),
        batch_size=int(batch),
        learning_rate=float(lr),
        rank=int(rank),
        alpha=2 * int(rank),
        max_steps=int(steps),
    )


def _openai_hyper() -> tuple[str, OpenAIHyper]:
    base = st.text_input(
        "Base model",
        DEFAULT_BASE,
        key="ft_o_base",
        help="An OpenAI model that can be fine-tuned, e.g. gpt-4o-mini-2024-07-18.",
    )
    a, b, c = st.columns(3)
    epochs = a.number_input("Epochs (0 = auto)", 0, 50, 0, key="ft_o_epochs", help="Auto lets OpenAI choose.")
    batch = b.number_input(
        "Batch size (0 = auto)", 0, 256, 0, key="ft_o_batch", help="Auto lets OpenAI choose."
    )
    lr = c.number_input(
        "Learning-rate multiplier (0 = auto)",
        0.0,
        10.0,
        0.0,
        0.1,
        key="ft_o_lr",
        help="Scales OpenAI's default rate; auto lets OpenAI choose.",
    )
    return base, OpenAIHyper(int(epochs) or None, int(batch) or None, float(lr) or None)


def hyper_step(kind: str, split: Split | None) -> Plan | None:
    n = len(split.train) if split else 0
    if kind == "embeddings":
        plan = Plan(kind, _name("minilm-finetuned", kind), _embed_hyper(), BASE_EMBEDDER)
        steps = plan.hyper.epochs * max(1, -(-n // plan.hyper.batch_size))
        _size_caption(
            n, f"{n} pairs, {steps} steps; on 2 CPU cores expect roughly 1-5 pairs per second per epoch."
        )
    elif kind == "reranker":
        rerank = finetune_reranker.hyper()
        sentences = finetune_reranker.sentences_input()
        plan = Plan(kind, _name("minilm-reranker", kind), rerank, BASE_RERANKER, sentences)
        _size_caption(n + sentences, finetune_reranker.size_text(n, sentences, rerank))
    elif kind == "lora":
        plan = Plan(kind, _name("qwen-lora", kind), _lora_hyper(), BASE_MODEL)
        _size_caption(
            n,
            f"{n} items, {plan.hyper.steps(n)} steps; on 2 CPU cores a step of 4 items takes about 10-20 s, "
            "plus about a minute the first time to prepare the model.",
        )
    else:
        base, hyper = _openai_hyper()
        plan = Plan(kind, _name("openai-finetuned", kind), hyper, base)
    return plan


def _size_caption(n: int, text: str) -> None:
    """How long training takes, once there is data to count; before that, where the data comes from."""
    st.caption(
        text if n else "No training data yet: build it in step 1, then the number of steps shows here."
    )


# --- step 3: the job ----------------------------------------------------------------------------------------


def _files(settings: Settings, split: Split) -> dict[str, str]:
    folder = settings.data_dir / "finetune-data" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    data.save_items(folder / "train.jsonl", split.train)
    data.save_items(folder / "heldout.jsonl", split.heldout)
    (folder / "pairs.jsonl").write_text(chatfile.to_pairs_jsonl(split.train), encoding="utf-8")
    (folder / "chat.jsonl").write_text(chatfile.to_chat_jsonl(split.train), encoding="utf-8")
    return {name: str(folder / f"{name}.jsonl") for name in ("train", "heldout", "pairs", "chat")}


def _params(plan: Plan, files: dict[str, str]) -> dict[str, Any]:
    meta = {"trained_on": state.corpus_label(), "heldout": files["heldout"]}
    common = {"name": registry.check_name(plan.name), "hyper": asdict(plan.hyper), "meta": meta}
    if plan.kind == "embeddings":
        return common | {"pairs": files["pairs"]}
    if plan.kind == "reranker":
        return common | {
            "items": files["train"],
            "heldout": files["heldout"],
            "sentences": plan.sentences,
            "chunks": finetune_reranker.chunks_file(Path(files["train"]).parent),
        }
    if plan.kind == "lora":
        return common | {"items": files["train"], "base_model": plan.base}
    return common | {"file": files["chat"], "model": plan.base}


def start(plan: Plan, split: Split | None) -> jobs.JobStatus:
    """Writes the training files and starts the job. A reranker taught by sentences alone needs no split: the
    question set, if any, is then held out."""
    settings = state.settings()
    if split is None:
        corpus = resources.current_corpus()
        split = finetune_data.question_set_held_out(corpus) if corpus is not None else Split((), ())
    env = {}
    if plan.kind == "openai":
        client_for(settings)  # fails with a clear message when no key or base URL is set
        if not chatfile.validate_chat_jsonl(chatfile.to_chat_jsonl(split.train)).enough:
            raise InputError(f"OpenAI needs at least {chatfile.MIN_EXAMPLES} training examples.")
        env = {"OPENAI_API_KEY": settings.openai_api_key or "not-needed"}
    params = _params(plan, _files(settings, split))
    return jobs.start_job(settings, plan.kind, params, title=f"{TARGETS[plan.kind]}: {plan.name}", env=env)


def latest_job(settings: Settings, kind: str) -> jobs.JobStatus | None:
    found = jobs.list_jobs(settings, kind)
    return next((j for j in found if not j.finished), found[0] if found else None)


def _stop(settings: Settings, job_id: str) -> None:
    jobs.request_stop(settings, job_id)
    state.set_lab_value(f"ft_stop_at_{job_id}", time.time())


def _force_stop(settings: Settings, job_id: str) -> None:
    """A button callback (which returns nothing) that ends a training process at once."""
    jobs.terminate(settings, job_id)


def _job_view(settings: Settings, job_id: str, was_running: bool) -> None:
    job = jobs.read_job(settings, job_id)
    st.markdown(f"{ICONS.get(job.status, '')} **{job.title}** — {job.status}")
    st.progress(job.fraction, text=job.stage or job.status)
    st.plotly_chart(
        loss_chart(job.losses, job.total, job.extra.get("valid_loss", ())),
        key=f"ft_loss_{job_id}",
        width="stretch",
    )
    if job.reason:
        (st.warning if job.status == "stopped" else st.error)(job.reason)
    if job.status == "succeeded":
        st.success(
            f"Trained. Use it as: `{job.result.get('model', '')}` (it is now offered where you choose "
            "models or embedders)."
        )
    if not job.finished:
        st.button(
            "Stop",
            key=f"ft_stop_{job_id}",
            on_click=_stop,
            args=(settings, job_id),
            help="Stops before the next step. Nothing is saved; the previous models stay as they were.",
        )
        asked = state.lab_value(f"ft_stop_at_{job_id}")
        if asked and time.time() - asked > 20:
            st.button(
                "Force stop",
                key=f"ft_kill_{job_id}",
                on_click=_force_stop,
                args=(settings, job_id),
                help="Ends the training process at once (use when Stop does not take effect).",
            )
    elif was_running:
        st.rerun()  # the whole page: the new model appears in the choices


def job_panel(settings: Settings, kind: str) -> None:
    """The latest job of this kind, refreshed every 2 s while it runs (also after a reload)."""
    job = latest_job(settings, kind)
    if job is None:
        st.caption("No training run yet.")
        return
    running = not job.finished
    st.fragment(run_every=2.0 if running else None)(_job_view)(settings, job.job_id, running)


def train_step(kind: str, plan: Plan | None, split: Split | None) -> None:
    settings = state.settings()
    busy = jobs.active_job(settings)
    ready = plan is not None and (bool(split and split.train) or plan.sentences > 0)
    if st.button(
        "Start training",
        key="ft_start",
        type="primary",
        disabled=not ready or busy is not None,
        help="Trains in a separate process: you can leave or reload the page; the progress stays.",
    ):
        assert plan is not None
        if resources.guarded("starting the training", start, plan, split) is not None:
            st.rerun()
    if busy is not None and busy.kind != kind:
        st.info(f"Another training run is going on ({busy.title}): one at a time on this computer.")
    elif not ready:
        sentences = ", or take sentences out of the passages as questions (step 2)"
        st.caption(f"Build the training set in step 1 first{sentences if kind == 'reranker' else ''}.")
    job_panel(settings, kind)
    with st.expander("Earlier training runs"):
        rows = [
            {
                "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created)),
                "what": j.title,
                "status": j.status,
                "why": j.reason,
                "steps": j.step,
            }
            for j in jobs.list_jobs(settings)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
