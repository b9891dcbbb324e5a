"""Text decoding of uploaded bytes: UTF-8 first, then a BOM, then a Western European guess, then charset_normalizer.

A file that is really binary is refused with a message saying how to export it as text.
"""

from __future__ import annotations

import codecs
import unicodedata

from playground.core.errors import InputError

_BINARY_CONTROL_RATIO = 0.05


def decode_text(name: str, data: bytes) -> str:
    """Decode a text file: UTF-8 (BOM stripped), UTF-16/32 with a BOM, else the best charset guess."""
    text = _decode_with_bom(data)
    if text is None:
        if b"\x00" in data:
            raise InputError(_binary_message(name))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _western_text(data) or _guess_decode(name, data)
    text = text.removeprefix("\ufeff")
    if _mostly_control(text):
        raise InputError(_binary_message(name))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def require_text(name: str, text: str, what: str = "text") -> str:
    """`text`, unless it is blank: then an error saying the file holds no `what`."""
    if not text.strip():
        raise InputError(f"{name} contains no {what}; check that it is the file you meant to upload.")
    return text


def _decode_with_bom(data: bytes) -> str | None:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _western_text(data: bytes) -> str | None:
    """The cp1252 reading when it looks like Western European prose: accents sprinkled among ASCII letters.

    charset_normalizer guesses poorly on short Latin-1 text ("café" comes back as cp775 "cafķ"); Cyrillic,
    Greek or Central European bytes read as cp1252 give mostly accented letters or stray symbols instead.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    high = [ch for ch in text if ord(ch) > 127]
    if any(not _is_western(ch) for ch in high):
        return None
    letters = sum(1 for ch in text if ch.isalpha())
    accented = sum(1 for ch in high if ch.isalpha())
    return text if letters and accented / letters < 0.3 else None


def _is_western(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN") or ch in "\u00a0«»“”‘’„–—…•€£¥§°©®™·"


def _guess_decode(name: str, data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(
            f"{name} is not UTF-8 and its text encoding could not be recognised; "
            "save it as UTF-8 and upload again."
        )
    return str(best)


def _mostly_control(text: str) -> bool:
    sample = text[:20_000]
    if not sample:
        return False
    bad = sum(
        1 for ch in sample if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
    )
    return bad / len(sample) > _BINARY_CONTROL_RATIO


def _binary_message(name: str) -> str:
    return f"{name} looks like a binary file, not text; export it as plain text (UTF-8) and upload again."
