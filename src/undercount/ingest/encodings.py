"""Decode a list file's bytes: UTF-8, UTF-16, Windows-1256, Windows-1255 and other code pages.

Strict UTF-8 first; then UTF-16 without a BOM when every other byte says so, Windows-1256 and
Windows-1255 (each only when the text's words are in its script alone), then charset-normalizer's
guess. A UTF-8 file with a few stray bytes, or a code-page file with a UTF-8 line, is refused
with the line named: read either way it would garble names while still looking like text.
"""

from __future__ import annotations

import re

from undercount.errors import InputError
from undercount.ingest.limits import SURROGATE

__all__ = ["decode_bytes"]


def _sensible(text: str) -> bool:
    """True when decoded text looks like text: no NULs, few control characters."""
    if not text:
        return True
    sample = text[:200_000]
    bad = sum(1 for ch in sample if (ch < " " and ch not in "\t\r\n") or ch == "\ufffd")
    # Some decoders (UTF-7) can yield lone surrogates: not text, and not storable.
    return "\x00" not in sample and bad <= max(2, len(sample) // 1000) and SURROGATE.search(text) is None


_WORD = re.compile(r"[^\W\d_]+")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
# Single-byte code pages tried before charset-normalizer's guess, with their script's letters.
_CODE_PAGES = {"cp1256": re.compile("[\u0600-\u06ff]"), "cp1255": re.compile("[\u05d0-\u05ea]")}


def _looks_like(text: str, enc: str) -> bool:
    """Words of the code page's script, not text of another code page read with it.

    Latin-1 or Windows-1255 bytes read as Windows-1256 give words that mix Arabic and Latin
    letters ("ةlodie"); real Arabic text gives words of Arabic letters only.
    """
    letters = _CODE_PAGES.get(enc)
    if letters is None:
        return True
    words = [w for w in _WORD.findall(text[:200_000]) if letters.search(w)]
    mixed = sum(1 for w in words if _LATIN_LETTER.search(w))
    return bool(words) and mixed <= 0.05 * len(words)


def _refuse_damaged_utf8(data: bytes, first_bad: int, file: str) -> None:
    """Refuse UTF-8 text with a few stray bytes: read as Windows-1256 it would still look Arabic,
    with every name garbled. Real Windows-1256 Arabic hardly ever forms valid UTF-8 sequences."""
    sample = data[:2_000_000].decode("utf-8", errors="replace")
    bad = sample.count("\ufffd")
    good = len(sample) - len(sample.encode("ascii", errors="ignore")) - bad  # valid non-ASCII characters
    if good >= 20 and good >= 10 * bad:
        line = data[:first_bad].count(b"\n") + 1
        raise InputError(f"line {line} holds bytes that are not UTF-8 although the rest of the file is UTF-8: "
                         "the file is damaged; repair it or export it again as UTF-8", file=file)


_SEMITIC = re.compile("[\u0590-\u06ff]")


def _refuse_utf8_lines(data: bytes, enc: str, file: str) -> None:
    """Refuse a file read with a single-byte code page in which a line is valid UTF-8 with
    non-ASCII text: the file mixes two encodings (one of them would garble names silently).

    Windows-1256 and -1255 letters hardly ever pair into valid UTF-8: a line that does, with
    two or more non-ASCII characters or one Arabic or Hebrew letter, was written as UTF-8.
    """
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        wide = sum(1 for ch in text if ord(ch) > 127)
        if wide >= 2 or _SEMITIC.search(text):
            raise InputError(
                f"line {number} is UTF-8 but the rest of the file is {enc.upper()}: the file mixes two "
                "encodings (names would be garbled); export it again in one encoding", file=file)


def _utf16_guess(data: bytes) -> list[str]:
    """``utf-16-le`` or ``utf-16-be`` when every other byte takes one or two values (the high
    bytes of text in one script, and of ASCII's 0), else nothing.

    Example:
        >>> _utf16_guess("الاسم,العمر\n".encode("utf-16-le") * 8)
        ['utf-16-le']
    """
    sample = data[:4000]
    if len(sample) < 64 or len(data) % 2:
        return []
    for enc, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        common = sorted(((high.count(b), b) for b in set(high)), reverse=True)[:2]
        if sum(n for n, _ in common) >= 0.95 * len(high) and len(set(low)) > len(set(high)) + 8:
            return [enc]
    return []


def decode_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16, Windows-1256, Windows-1255, or
    what charset-normalizer recognises.

    Args:
        data: the file's bytes.
        file: the file's name, for messages.
    Returns:
        (text, encoding name).
    Raises:
        InputError: the file is truncated inside a character or decodes as nothing sensible.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8"]
        if data[:4000].count(b"\x00") > len(data[:4000]) // 4:
            # UTF-16 without a BOM: NULs on the odd (LE) or even (BE) bytes.
            candidates = ["utf-16-le" if data[1:4000:2].count(0) > data[0:4000:2].count(0) else "utf-16-be"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            # Cut inside a character after other non-ASCII UTF-8 text: a truncated UTF-8 file.
            if exc.reason == "unexpected end of data" and (enc != "utf-8" or not data[: exc.start].isascii()):
                raise InputError("the file ends inside a character: it may be truncated", file=file) from None
            if enc != "utf-8":
                raise InputError(f"the file cannot be decoded as {enc.upper()}", file=file) from None
            _refuse_damaged_utf8(data, exc.start, file)
            break
        if _sensible(text):
            return text, enc
        if enc != "utf-8" or not _utf16_guess(data):
            raise InputError("the file is not text in any encoding undercount reads", file=file)
        break  # UTF-16-BE Arabic is all bytes below 0x80: valid UTF-8 control characters
    # Not UTF-8: UTF-16 without a BOM (Arabic or Hebrew text has no NUL bytes to show it, but one
    # high byte in every other byte), Windows-1256 (Arabic), Windows-1255 (Hebrew), then what
    # charset-normalizer suggests.
    guesses = _utf16_guess(data) + list(_CODE_PAGES)
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:500_000]).best()
        if best is not None and best.encoding not in guesses:
            guesses.append(best.encoding)
    except Exception:  # noqa: BLE001 - the helper is only advice
        pass
    for enc in guesses:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _sensible(text) and _looks_like(text, enc):
            _refuse_utf8_lines(data, enc, file)
            return text, enc
    raise InputError(
        "the file is not text in any encoding undercount reads (UTF-8, UTF-16, Windows-1256, Windows-1255)", file=file
    )
