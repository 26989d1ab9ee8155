"""The fixed refusal sentences and how to recognise a refusal in free model output."""

from __future__ import annotations

import re

from rag.answering.citations import strip_markers
from rag.models.llm import NO_ANSWER

REFUSAL = {
    "de": "Die Artikel enthalten dazu keine Informationen.",
    "en": "The articles do not contain this information.",
}

_PATTERNS = re.compile(
    r"enthalten (dazu )?keine (angaben|informationen)|keine (angaben|informationen) (dazu|darüber|zu)"
    r"|nicht in den (artikeln|passagen|texten)|geht aus den (artikeln|passagen|texten) nicht hervor"
    r"|(do|does) not (contain|mention|say|provide)|don't (contain|mention|say)|no information (about|on)"
    r"|not (mentioned|stated|covered) in the (articles|passages)|cannot be answered from",
    re.IGNORECASE,
)


def refusal_text(lang: str) -> str:
    return REFUSAL.get(lang, REFUSAL["en"])


def is_refusal(text: str) -> bool:
    """True when the whole answer amounts to 'the articles don't say'. Long answers with content are not."""
    stripped = strip_markers(text).strip()
    if not stripped or stripped.startswith(NO_ANSWER):
        return True
    if any(stripped.startswith(r[:-1]) for r in REFUSAL.values()):
        return True
    return bool(_PATTERNS.search(stripped)) and len(stripped) < 220
