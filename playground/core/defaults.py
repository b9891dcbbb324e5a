"""The default model and embedder names, in a module that imports nothing: the app's first page reads the
default model without loading pydantic and the configs."""

DEFAULT_LOCAL_MODEL = "local:qwen2.5-1.5b"
DEFAULT_EMBEDDER = "local:all-minilm-l6-v2"
