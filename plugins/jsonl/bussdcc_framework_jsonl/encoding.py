"""What the sink does with values JSON cannot hold faithfully: words for errors, NaN handling.

* Events that cannot be encoded at all (an arbitrary object in an ``Any`` field, a string with
  a lone surrogate, nesting deeper than the encoder's limit): nothing is written; they are
  counted and reported.
* Events holding a float NaN or infinity: JSON has no such numbers and msgspec writes them as
  ``null``. The sink writes such an event again with the values as the strings ``"nan"``,
  ``"inf"``, ``"-inf"`` (``Codec.encode_record_nonfinite``), which replay reads back into
  float fields. Only where the declared type is not a float (an ``Any`` field, a union with
  ``str``) does the string stay a string: such events, and a ``None`` put into a ``float``
  field, are counted and reported as altered. Where to look for them in a class is decided
  once per class by ``bussdcc_framework.codec.nanplan.nan_plan`` (shared with the mqtt bridge).
"""

from __future__ import annotations

from typing import Final

from bussdcc_framework.codec import type_name

#: Error texts in reports are cut to this many characters.
MAX_ERROR_TEXT: Final = 500


def describe_error(cls: type, exc: BaseException) -> str:
    """An encoding error in words (msgspec's own are plain ``ValueError``s and the like)."""
    text = str(exc)
    if text.startswith("cannot encode"):  # the codec's EncodeError names the class already
        return safe_text(text)
    if isinstance(exc, RecursionError):
        text = "nested too deep to be written as JSON"
    elif isinstance(exc, UnicodeEncodeError):
        text = f"a string holds a character UTF-8 cannot encode ({exc.reason})"
    else:
        text = f"{type(exc).__name__}: {text}"
    return safe_text(f"cannot encode {type_name(cls)}: {text}")


def safe_text(text: str) -> str:
    """Printable, encodable (no lone surrogate) and short: reports are recorded and printed."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 3] + "..."
