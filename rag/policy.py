"""The answer policy: how the pipeline answers (refusals, the answer's shape, the passages the model reads).

Apart from the settings a user needs (rag.settings), because these are levers tuned by measurement: their defaults
were measured on the tuning sets, and their history is in docs/experiment-log.md. They are `Settings.answer`, the
`[answer]` table of rag.toml; their environment names stay flat (RAG_NO_ANSWER_THRESHOLD=0.3).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.types import AnswerFormat

YesNoVerdict = Literal["calibrated", "model"]
LeadChunk = Literal["retrieval", "sentence"]
StatementHint = Literal["own", "verbatim"]
QuoteAcrossLanguages = Literal["meaning", "words"]
FollowUpSearch = Literal["auto", "turn", "condense"]
# The tag of a field whose value can change the text of an answer (set by answering, read by answer_settings).
CHANGES_ANSWER: dict[str, Any] = {"changes_answer": True}


def answering(default: Any, description: str, **constraints: Any) -> Any:
    """A field whose value can change an answer's text: pydantic's Field, tagged CHANGES_ANSWER."""
    return Field(default, description=description, json_schema_extra=CHANGES_ANSWER, **constraints)


class AnswerPolicy(BaseModel):
    """How the pipeline answers: refusals, the answer's shape and the passages the model reads. The defaults
    were measured (docs/experiment-log.md); the `[answer]` table of rag.toml, or RAG_<NAME>, changes them."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    min_relevance: float = answering(
        0.18,
        description="Refuse without asking the LLM when the best chunk's relevance (cosine) is below this",
    )
    no_answer_threshold: float = answering(
        0.01,
        ge=0.0,
        le=1.0,
        description="LLMs that give log-probabilities (local, some OpenAI-compatible servers): refuse when the "
        "first answer token is the no-answer word with at least this probability",
    )
    no_answer_threshold_de: float = answering(
        0.05,
        ge=0.0,
        le=1.0,
        description="The same, for German questions over German sources",
    )
    no_answer_threshold_cross_lingual: float = answering(
        0.6,
        ge=0.0,
        le=1.0,
        description="The same, when the question's language differs from the sources'",
    )
    answer_format: AnswerFormat = answering(
        "shaped",
        description="shaped: the shape the question asks for (short answer, sentence, yes/no with the deciding "
        "fact, every item); short: the short answer only, with the supporting source sentence quoted under it",
    )
    yesno_verdict: YesNoVerdict = answering(
        "calibrated",
        description="Shaped format, yes/no questions: calibrated: yes or no is decided from the first word's "
        "log-odds against yesno_threshold and the model writes the fact after it (LLMs with logits); "
        "model: the model decides",
    )
    yesno_threshold: float = answering(
        -2.4,
        description="Answer no when log P(no) - log P(yes) of the first word is above this",
    )
    refuse_unsupported_numbers: bool = answering(
        True,
        description="Refuse instead of answering with a number that neither the passages (with titles and dates) "
        "nor the question hold, in digits, words or as a month",
    )
    refuse_unheld_question_numbers: bool = answering(
        True,
        description="Refuse before asking the LLM when the question names a number that none of the retrieved "
        'chunks holds ("the 58 richest people" where the source says 85): the articles do not hold its premise',
    )
    refuse_unheld_terms: int = answering(
        0,
        ge=0,
        le=10,
        description="Refuse an answer when at least this many of the question's terms (names, numbers, months, "
        "German nouns) are held by none of the passages it cites; 0: never",
    )
    doubt_unheld_terms: int = answering(
        2,
        ge=0,
        le=10,
        description="Mark an answer uncertain (the articles may not say this) when at least this many of the "
        "question's terms are held by none of the passages it cites; 0: never",
    )
    doubt_similarity: float = answering(
        0.0,
        ge=0.0,
        le=1.0,
        description="Mark an answer uncertain when the question's cosine with the best sentence of the passages "
        "it cites is below this; 0: never",
    )
    consistency_samples: int = answering(
        0,
        ge=0,
        le=10,
        description="A question for a name or number: short answers sampled from the same prompt (LLMs in this "
        "process), to read how many agree with the answer; 0: none",
    )
    consistency_temperature: float = answering(
        0.7, gt=0.0, le=2.0, description="The temperature those answers are sampled at"
    )
    doubt_agreement: float = answering(
        0.0,
        ge=0.0,
        le=1.0,
        description="Mark an answer uncertain when fewer than this share of the sampled answers agree with it",
    )
    statement_hint: StatementHint = answering(
        "verbatim",
        description="A statement asked in the sources' language: verbatim: the model is asked for the source's "
        "sentence that answers it, word for word; own: one sentence in the sources' words",
    )
    quote_across_languages: QuoteAcrossLanguages = answering(
        "meaning",
        description="The source sentence quoted under an answer in another language than its passage: meaning: "
        "the sentence closest to the answer by embedding, when no sentence shares enough of its words; words: "
        "the sentence sharing most words, as within a language",
    )
    quote_by_question: bool = answering(
        True,
        description="The source sentence quoted under a yes/no answer is the one that best matches the question "
        "(the sentence that decides it), not the one that best matches the model's sentence after its verdict",
    )
    follow_up_search: FollowUpSearch = answering(
        "auto",
        description="What a follow-up question is searched with: turn: the previous question, its answer and the "
        "follow-up, joined; condense: a standalone question the LLM writes from the last turns first (one more "
        "LLM call); auto: turn after one exchange, condense after more",
    )
    lead_chunk: LeadChunk = answering(
        "sentence",
        description="The chunk the model reads whole: sentence: the retrieved chunk holding the sentence that best "
        "matches the question, when question and chunks share a language; retrieval: the embedding's first",
    )
    focus_windows: int = answering(
        0,
        ge=0,
        le=10,
        description="Best sentences of the other chunks shown after the chunk the model reads whole",
    )
    list_windows: int = answering(
        1,
        ge=0,
        le=10,
        description="The same, for a question that asks for several things",
    )
    list_passages: int = answering(
        3,
        ge=1,
        le=10,
        description="A question for several things: the top passages asked one at a time for the items each "
        "names, merged and each cited to its passage; 1: the model reads the best passage whole and the others' "
        "best sentences, once",
    )
    focus_neighbours: int = answering(0, ge=0, le=5, description="Sentences kept on each side of such a sentence")
    split_two_part_questions: bool = answering(
        True,
        description='Answer a question that asks two things ("…, and where …?", "laut X und laut Y") as two '
        "questions, each from its own best passage",
    )
    context_budget_tokens: int = answering(700, ge=100, le=8000, description="Passage tokens sent to the LLM")
