import pytest

from playground.core.config import FewShotExample, VariantConfig
from playground.core.errors import ConfigError
from playground.rag.prompts import NOT_FOUND, build_prompt, extract_answer, render_template, template_fields


def test_render_known_variables():
    assert render_template("Hi {name}, {question}", {"name": "Ada", "question": "q?"}) == "Hi Ada, q?"
    assert render_template("literal {{braces}}", {}) == "literal {braces}"


@pytest.mark.parametrize(
    "template, message",
    [
        ("{unknown}", "{unknown}, which is not defined"),
        ("open { brace", "unbalanced braces"),
        ("close } brace", "unbalanced braces"),
        ("{a.b}", "only simple names"),
        ("{0}", "only simple names"),
    ],
)
def test_bad_templates_say_what_to_do(template, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        render_template(template, {"question": "q"})


def test_template_fields():
    assert template_fields("{context} and {question}") == ["context", "question"]


def test_rag_prompt_has_context_few_shot_and_step_by_step():
    variant = VariantConfig(
        use_retrieval=True, think_step_by_step=True, few_shot=(FewShotExample(question="Q1", answer="A1"),)
    )
    prompt = build_prompt(variant, "What?", "[1] (t)\nsome context")
    roles = [m["role"] for m in prompt.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "step by step" in prompt.messages[0]["content"]
    assert "some context" in prompt.messages[-1]["content"] and "What?" in prompt.messages[-1]["content"]
    assert "### system" in prompt.text


def test_baseline_prompt_has_no_context_and_a_way_out():
    prompt = build_prompt(VariantConfig(), "What?", None)
    assert "Context" not in prompt.messages[-1]["content"]
    assert NOT_FOUND in prompt.messages[0]["content"]


def test_user_variables_reach_the_prompt():
    variant = VariantConfig(template="As a {role}: {question}", variables={"role": "pirate"})
    assert build_prompt(variant, "Why?", None).messages[-1]["content"] == "As a pirate: Why?"


def test_extract_answer_after_reasoning():
    raw = "The policy says 30 days.\nSo the window is a month.\nAnswer: 30 days"
    assert extract_answer(raw, True) == "30 days"
    assert extract_answer(raw, False) == raw
    assert extract_answer("no marker here", True) == "no marker here"
