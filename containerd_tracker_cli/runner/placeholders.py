"""Machine-specific strings in recordings: stored as ``<<name>>`` and put
back on replay, also where they hide URL-encoded or inside base64 JSON."""
from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import quote, quote_plus


# base64 of a JSON object starts "ey" (the tracker stores job templates so).
_BASE64_JSON = re.compile(r"(?<![A-Za-z0-9+/])ey[A-Za-z0-9+/]{14,}={0,2}(?![A-Za-z0-9+/=])")
_OPENED = re.compile(r"<<base64:(.*?):base64>>", re.DOTALL)


def _open_base64(text: str) -> str:
    """Show base64-encoded JSON as ``<<base64:{...}:base64>>``, so a
    placeholder can reach a path inside it and a reader can see it. Only text
    that encodes back to the very same base64 is opened."""

    def rewrite(match: re.Match[str]) -> str:
        token = match.group(0)
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
            if not isinstance(json.loads(decoded), dict) or ":base64>>" in decoded:
                return token
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return token
        if base64.b64encode(decoded.encode("utf-8")).decode() != token:
            return token
        return f"<<base64:{decoded}:base64>>"

    return _BASE64_JSON.sub(rewrite, text)


def _close_base64(text: str) -> str:
    return _OPENED.sub(lambda m: base64.b64encode(m.group(1).encode("utf-8")).decode(), text)


class Placeholders:
    """Swaps machine-specific strings for ``<<name>>`` and back.

    Each value is also matched URL-encoded (``<<name|url>>``: paths inside a
    log URI's query) and inside base64-encoded JSON (a job template label).
    """

    def __init__(self, values: dict[str, str] | None) -> None:
        pairs = []
        for name, value in (values or {}).items():
            if not value:
                continue
            pairs.append((name, value))
            for suffix, encoded in (("url", quote(value, safe="")), ("url+", quote_plus(value, safe=""))):
                if encoded != value:
                    pairs.append((f"{name}|{suffix}", encoded))
        # Longest first, so a path inside another path is not half-replaced.
        self._values = sorted(dict.fromkeys(pairs), key=lambda kv: -len(kv[1]))

    def hide(self, text: str) -> str:
        text = _open_base64(text)
        for name, value in self._values:
            text = text.replace(value, f"<<{name}>>")
        return text

    def expand(self, text: str) -> str:
        for name, value in self._values:
            text = text.replace(f"<<{name}>>", value)
        return _close_base64(text)
