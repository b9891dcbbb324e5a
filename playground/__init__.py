"""Measure, on your own documents, which technique makes an LLM answer better."""

__version__ = "0.1.0"
