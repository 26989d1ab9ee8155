"""The words a question is read by: its question words in each language, and the sentence that asks.

Shared by rag.question.kind (the shape of answer a question asks for) and rag.question.parts (the two
questions a two-part question asks).
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_WH = _words("who whom whose what which when where why how")
_DE_WH = _words(
    "wer wen wem wessen was wann wo woher wohin warum wieso weshalb weswegen wie welche welcher welches welchen "
    "welchem wieviel wievielte wievielten wovor worüber wogegen womit wofür worauf wozu wodurch woran worin "
    "wonach wovon"
)
ALL_QUESTION_WORDS = _EN_WH | _DE_WH


def question_words(lang: str) -> frozenset[str]:
    """The question words of `lang`: German "was" is "what", English "was" is an auxiliary."""
    return _DE_WH if lang == "de" else _EN_WH


# A full stop ends a sentence after a word of two or more letters, not after "2." or "y." ("im 2. Jahrhundert").
_SENTENCE_BREAK = re.compile(r"(?<=[!?])\s+|(?<=[^\W\d]{2}\.)\s+")


def last_question(text: str) -> tuple[str, str]:
    """The sentences that lead up to the last question, and that question: "Both X and Y said Z. What did
    they say?" asks "What did they say?", the last sentence that asks."""
    sentences = [s.strip() for s in _SENTENCE_BREAK.split(text.strip()) if s.strip()]
    asking = [i for i, s in enumerate(sentences) if s.endswith("?")]
    if not asking:
        return "", text.strip()
    return " ".join(sentences[: asking[-1]]), sentences[asking[-1]]
