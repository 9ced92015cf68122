"""Secrets masked out of text the dashboard shows: operation output, MCP servers' stderr.

Pure standard library: producers and the MCP supervisor use it off the web stack too.
"""

from __future__ import annotations

import re

MASK = "••••"

# `key=value` and `key: value` shapes whose value is a secret, whatever the case.
_ASSIGNED = re.compile(
    r"(?i)\b((?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token|auth[_-]?token|"
    r"password|passwd|pwd|client[_-]?secret)\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
)
_BEARER = re.compile(r"(?i)\b(authorization\s*[=:]\s*(?:bearer|basic|token)\s+)([^\s,;\"']+)")
_BARE_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})")
# Provider keys: OpenAI/Anthropic `sk-...`, GitHub `ghp_...`, AWS access key ids, Slack `xox.-`.
_KEYS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{8,})"
)


def mask_secrets(text: str) -> str:
    """`text` with every secret-shaped value replaced by a fixed mask."""
    if not text:
        return text
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _BARE_BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _ASSIGNED.sub(lambda m: m.group(1) + MASK, text)
    return _KEYS.sub(MASK, text)
