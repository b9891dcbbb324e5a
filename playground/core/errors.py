"""One small exception hierarchy. Every message says what went wrong and what to do about it."""

from __future__ import annotations


class PlaygroundError(Exception):
    """Base class: the message is shown to users as is, so it must say what to do."""


class InputError(PlaygroundError):
    """A file, question set or value that a user supplied cannot be used."""


class ConfigError(PlaygroundError):
    """A variant configuration or variants file is invalid."""


class ModelError(PlaygroundError):
    """A model cannot be loaded or called."""


class ModelLoadError(ModelError):
    """A local model cannot be loaded (a missing or damaged file): every call to it would fail alike, so a sweep
    stops with this message instead of recording it on every answer."""


class MissingApiKeyError(ModelError):
    """A hosted model was chosen but no API key is configured."""


class UnknownModelError(ModelError):
    """A model name that no registered backend recognises."""


class StoppedError(PlaygroundError):
    """The user asked a long-running job to stop."""
