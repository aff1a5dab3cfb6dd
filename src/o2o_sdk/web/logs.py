"""Keep secrets out of logs: voucher and check-in tokens travel in URLs, API keys in headers.

:func:`mask_secrets` rewrites a line; :class:`MaskSecretsFilter` applies it to every record of
a logger. ``o2o serve`` installs it on uvicorn's loggers; a host that serves the app with its
own server adds it to its access logger::

    logging.getLogger("uvicorn.access").addFilter(MaskSecretsFilter())
"""

from __future__ import annotations

import logging
import re

__all__ = ["MaskSecretsFilter", "mask_secrets"]

#: Path segments followed by a secret: voucher, check-in code, poster, member, unsubscribe.
_PATH = re.compile(r"(/(?:o|c|p|m|u)/)[^/?#\s\"']+")
_API_KEY = re.compile(r"\b(o2o_[0-9a-f]{12}_)[A-Za-z0-9_-]+")
_QUERY = re.compile(r"([?&](?:token|key|api_key|session|code|csrf)=)[^&#\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
#: A signed token anywhere (payload.signature, as the built-in signer makes them), e.g. in an exception's text.
_SIGNED = re.compile(r"(?<![\w.-])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-])")
MASK = "***"


def mask_secrets(text: str) -> str:
    """``text`` with tokens in known URL paths, API keys, secret query values and anything
    shaped like a signed token (``payload.signature``) masked.

    An API key keeps its id (``o2o_3f9c1a2b7d4e_***``), so audit lines still say which key.
    """
    text = _PATH.sub(rf"\g<1>{MASK}", text)
    text = _API_KEY.sub(rf"\g<1>{MASK}", text)
    text = _QUERY.sub(rf"\g<1>{MASK}", text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _SIGNED.sub(MASK, text)


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_secrets(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_secrets(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True
