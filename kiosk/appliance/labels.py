"""The no-personal-data rule for metric labels.

Label values are bounded keys (kinds, reason keys, device and channel names), never personal data.
A value that does not look like a key — upper case, spaces, a run of digits as in a card number
or barcode — is replaced by "other" before it reaches the registry.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_LABEL_VALUE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_DIGIT_RUN = re.compile(r"[0-9]{4}")
OTHER = "other"


@functools.lru_cache(maxsize=1024)   # bounded: a stream of unique values cannot grow it
def _safe_text(text: str) -> str:
    return text if _LABEL_VALUE.fullmatch(text) and not _DIGIT_RUN.search(text) else OTHER


def safe_label_value(value: Any) -> str:
    """``value`` as a label value if it is a short lower-case key without a digit run; else "other"."""
    return _safe_text(str(value))
