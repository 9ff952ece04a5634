"""Masking of the tokens that live in this integration's URLs.

Every URL here carries its secret in the path (Jivo's «Уникальный URL», the Chat API token, the
Internal Webhook Url token, a recorder's path token) and the Reporter API uses a Bearer token.
`mask_url` shows a URL's scheme and host and at most the last 4 characters of its path;
`redact` scrubs any text: known secrets registered at run time, plus every URL shape and
header this integration uses, so a token the program never registered is still hidden.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit

__all__ = ["mask_url", "mask_secret", "redact", "register_secret", "RedactingFilter", "install_log_redaction",
           "redact_handlers"]

ELLIPSIS = "…"
_known: set[str] = set()
_lock = threading.Lock()

# Path segments after these markers are secrets, whatever their shape.
_URL_TOKEN = re.compile(
    r"(?P<pre>(?:/chatapi(?!/webhook/)|/webhook/[A-Za-z0-9_-]+|/reporter/p|/hook|/r)/)(?P<tok>[^/\s?#\"'<>]{6,})",
)
# Jivo's unique URL: /<16 alnum>/<10 alnum> (any host: real Jivo, the sandbox, a tap).
_JIVO_PATH = re.compile(r"/(?P<key>[A-Za-z0-9]{16})/(?P<id>[A-Za-z0-9]{10})(?![A-Za-z0-9])")
_BEARER = re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{6,})")
_JAICP_TOKEN = re.compile(r"\b[A-Za-z0-9]{8}:[0-9a-f]{40}\b")


def mask_secret(value: str) -> str:
    """`…abcd`: the last 4 characters at most, none when the value is short."""
    if not value:
        return ""
    tail = value[-4:] if len(value) >= 12 else ""
    return ELLIPSIS + tail


def mask_url(url: str) -> str:
    """`https://wh.jivosite.com/…abcd`: scheme, host and the path's last 4 characters at most."""
    if not url:
        return ""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return mask_secret(text)
    if not parts.scheme or not parts.netloc:
        return mask_secret(text)
    path = parts.path.rstrip("/")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if not path:
        return f"{parts.scheme}://{host}"
    # Plain words after the last token ("/status", "/events") are endpoints, not secrets: keep them
    # readable so `…EiD7/status` still says which call failed.
    segments = path.split("/")
    suffix: list[str] = []
    while len(segments) > 2 and segments[-1] in _ENDPOINT_WORDS:
        suffix.insert(0, segments.pop())
    masked = mask_secret("/".join(segments)) or ELLIPSIS
    return f"{parts.scheme}://{host}/{masked}" + "".join("/" + word for word in suffix)


_ENDPOINT_WORDS = frozenset({"status", "events", "async"})


def _token_like(segment: str) -> bool:
    """A path part that can be a token: has a digit, mixed case, or is long. Words such as
    "chatadapter" or "jivosite" are not, and registering them would mangle hosts like wh.jivosite.com."""
    return (any(c.isdigit() for c in segment) or (segment.lower() != segment and segment.upper() != segment)
            or len(segment) >= 20)


def register_secret(value: str | None) -> None:
    """Remember a secret (a token, or a whole URL holding one) so `redact` hides it anywhere."""
    if not value:
        return
    value = value.strip()
    if len(value) < 6:
        return
    if "://" not in value:
        if len(value) >= 8 and _token_like(value):
            with _lock:
                _known.add(value)
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        return
    tokens = [segment for segment in parts.path.split("/") if len(segment) >= 8 and _token_like(segment)]
    if not tokens:  # "https:", "https://host" or "/hook" hide nothing: masking them would mangle text
        return
    with _lock:
        _known.add(value)
        _known.add(parts.path.rstrip("/"))
        _known.update(tokens)


def redact(text: object) -> str:
    """`text` with every secret it may hold replaced by a mask."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in s:
            s = s.replace(secret, mask_url(secret) if "://" in secret else (mask_secret(secret) or ELLIPSIS))
    s = _URL_TOKEN.sub(lambda m: m["pre"] + (mask_secret(m["tok"]) or ELLIPSIS), s)
    s = _JIVO_PATH.sub(lambda m: "/" + ELLIPSIS + m["id"][-4:], s)
    s = _BEARER.sub(lambda m: m[1] + ELLIPSIS, s)
    s = _JAICP_TOKEN.sub(lambda m: mask_secret(m[0]), s)
    return s


class RedactingFilter(logging.Filter):
    """Log filter that formats the record once and scrubs the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; keep the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        return True


_installed = False


def install_log_redaction() -> None:
    """Scrub every record that reaches the jivo_ops, httpx, httpcore and uvicorn loggers, and every
    record any handler configured so far writes (see `redact_handlers`)."""
    global _installed
    if not _installed:
        for name in ("jivo_ops", "httpx", "httpcore", "uvicorn", "uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).addFilter(RedactingFilter())
        _installed = True
    redact_handlers()


def redact_handlers() -> None:
    """Put the masking filter on every handler of every logger (root included). A logger's own
    filter misses its children's records (httpcore.http11, jivo_ops.http); a handler's filter sees
    every record it writes, whichever logger it came from. Call it again after adding handlers."""
    loggers = [logging.getLogger()] + [logger for logger in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
