"""Which shape of answer a question asks for: a name, a number, a statement, a yes or no, or a list.

Rule-based for German and English news questions: cheap, deterministic and explainable. The rules
read the question word, the noun after which/welche (a plural asks for several items) and the sentence
form (a verb first asks for yes or no). They cannot tell whether the articles answer a question at
all: an unanswerable question gets the shape it asks for.

Measured on the tagged question sets by `python -m rag.evaluation.question_kinds`.
"""

from __future__ import annotations

import re

from rag.question.language import detect_language
from rag.question.parts import two_questions
from rag.question.text import ALL_QUESTION_WORDS as _WH
from rag.question.text import last_question, question_words
from rag.types import QuestionKind


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[\w'’-]+|[,;:]")
_CLAUSE_BREAKS = _words(", ; :")
# Leading words that carry no question form: "Und wann …?", "So what did …?".
_FILLERS = _words("and but so also then und aber denn dann doch nun")
_PREPOSITIONS = _words(
    "in on at from to under over for with by of since until into during after before about against between "
    "mit auf an aus von zu zum zur unter über seit bis für gegen nach bei vor um durch wegen laut gegenüber "
    "zwischen neben ohne trotz innerhalb außerhalb statt"
)
_EN_AUX = _words(
    "is are was were am do does did has have had will would can could should shall may might must "
    "isn't aren't wasn't weren't don't doesn't didn't hasn't haven't won't wouldn't can't couldn't"
)
_WHO = _words("who whom whose wer wen wem wessen")
_WHY = _words("why warum wieso weshalb weswegen")
_WHERE = _words("where wo woher wohin")
# "Wie heißt …?", "Wie lautet …?", "Wie nennt man …?" ask for a name; the plural verb for several.
_DE_NAMING = _words("heißt hieß lautet lautete nennt nannte")
_DE_NAMING_PLURAL = _words("heißen hießen lauten lauteten nennen nannten")
_NAME = _words("name list nenne nennen nennt liste")  # "Name the two ministers."

_NUMBER_ADVERBS = _words(
    "many much old long far often large big high soon viele vielen viel alt lange weit oft hoch groß spät"
)
_SEVERAL = _words("two three four five six several both zwei drei vier fünf sechs mehrere beide")
# Nouns after which/welche/what whose answer is a number or date, or a statement rather than a name.
_NUMBER_NOUNS = _words(
    "year day date month week time period age number amount sum price cost range share percentage size "
    "population toll total rate level value distance duration budget "
    "jahr tag datum monat woche zeitpunkt uhrzeit zeitraum alter zahl anzahl menge summe betrag preis kosten "
    "reichweite höhe anteil prozent größe bevölkerung einwohnerzahl bilanz quote rate wert dauer haushalt"
)
_STATEMENT_NOUNS = _words(
    "demand warning reason condition argument position stance view assessment claim accusation allegation "
    "difference consequence effect impact message response reaction explanation promise threat role goal "
    "purpose question concern state step conclusion advice principle "
    "forderung warnung begründung grund bedingung argument position haltung sicht einschätzung aussage "
    "behauptung vorwurf unterschied folge wirkung auswirkung botschaft antwort reaktion erklärung versprechen "
    "drohung rolle ziel zweck frage sorge schritt schluss rat grundsatz prinzip"
)
# English verbs that end a noun phrase but neither end in -ed nor are auxiliaries.
_EN_VERBS = _words(
    "said says told tells met meets spoke speaks sent sends made makes led leads took takes gave gives wrote "
    "writes won wins held holds became becomes came comes paid pays sold sells warned warns wants plans "
    "supplies called calls accuses threatens expects fears sees saw knew happens causes means allows requires "
    "includes"
)
_EN_NP_STOP = _EN_AUX | _EN_VERBS | _PREPOSITIONS | _WH | _words("besides apart that") | _CLAUSE_BREAKS
_EN_IRREGULAR_PLURALS = _words("people men women children police troops forces")
# German plurals in -e that "welche" cannot tell from a feminine singular ("welche Rolle").
_DE_PLURAL_E = _words(
    "begriffe probleme schritte gründe ziele pläne angriffe gespräche vorwürfe vorschläge verluste kräfte "
    "tage monate jahre punkte beispiele argumente teile"
)
# Feminine singular endings: after "welche" such a noun is one thing.
_DE_SINGULAR_ENDINGS = ("ung", "heit", "keit", "ion", "tät", "schaft", "ik", "ur", "ei", "enz", "anz", "t")

# "Besides X, who …?" asks for the others; "apart from showing …" only sets a condition.
_BESIDES = re.compile(r"\b(besides|apart from|other than|except|außer)\b(?! \w+ing\b)")
_EACH = re.compile(r"\b(jeweils|respectively|each of (them|the|these|those))\b")


def classify_question(question: str, lang: str | None = None) -> QuestionKind:
    """The shape of answer `question` asks for; `lang` ("de" or "en") is detected when not given."""
    lang = lang or detect_language(question)
    asked = last_question(question)[1]
    return kind_of_asked(asked, lang, two_questions(asked, lang))


def kind_of_asked(asked: str, lang: str, two: tuple[str, str] | None) -> QuestionKind:
    """The shape of answer the asking sentence `asked` asks for, with its two questions (rag.question.parts)
    when it asks two; rag.question.reading reads both once."""
    raw = _tokens(asked)
    words = [t.lower() for t in raw]
    if not words:
        return QuestionKind.STATEMENT
    if _is_two_part(words, two):
        return QuestionKind.LIST
    if words[0] in _NAME:
        # "Name the three ministers" asks for several, "Nenne den Sprecher" for one.
        head = _english_head(words, 1) if lang == "en" else None
        several = any(w in _SEVERAL for w in words) or (head is not None and _english_plural(words[head]))
        return QuestionKind.LIST if several else QuestionKind.ENTITY
    index = _question_word(words, lang)
    if index == _YESNO:
        return QuestionKind.YESNO
    if index is None:
        # German puts the verb first in a yes/no question ("Hat …", "Vertreten …"); an English sentence
        # without question word or auxiliary asks for a statement.
        return QuestionKind.YESNO if lang == "de" else QuestionKind.STATEMENT
    return _by_question_word(raw, words, index)


def _tokens(text: str) -> list[str]:
    tokens = [t.replace("’", "'") for t in _TOKEN.findall(text)]
    while tokens and (tokens[0].lower() in _FILLERS or tokens[0] in _CLAUSE_BREAKS):
        tokens.pop(0)
    return tokens


def _is_two_part(words: list[str], two: tuple[str, str] | None) -> bool:
    """Several things asked in one question: "Name X and Y.", "… jeweils", or two questions (rag.question.parts)."""
    if words[0] in _NAME and ("and" in words or "und" in words):
        return True
    return bool(_EACH.search(" ".join(words))) or two is not None


_YESNO = -1


def _question_word(words: list[str], lang: str) -> int | None:
    """Index of the question word; _YESNO for an English auxiliary first; None when there is neither."""
    if lang == "en" and words[0] in _EN_AUX:
        return _YESNO
    # A question word counts among the first words of the sentence ("In which city …", "Officials from
    # which sides …") or, in English, after a lead-in that ends with a comma ("According to Kirby, which …").
    # The language decides: German "was" is "what", English "was" is an auxiliary.
    wh = question_words(lang)
    starts = [0]
    if lang == "en":
        starts += [i + 1 for i, w in enumerate(words) if w in _CLAUSE_BREAKS]
    for start in starts:
        window = words[start : start + 4]
        if window and window[0] in _EN_AUX and start > 0:
            return _YESNO  # "According to Reuters, did the talks fail?"
        for offset, word in enumerate(window):
            if word in _CLAUSE_BREAKS:
                break
            if word in wh:
                return start + offset
    return _question_word_in_place(words, wh)


def _question_word_in_place(words: list[str], wh: frozenset[str]) -> int | None:
    """A question word left in its place: "… erschweren was?", "… unter der Leitung welcher Person?",
    "The treaty was signed in which year?". Not one after a comma: "Hat er gesagt, welche …?" asks yes or no."""
    if words[-1] in wh:
        return len(words) - 1
    for index in range(1, len(words) - 1):
        word = words[index]
        if word not in wh or not _CLAUSE_BREAKS.isdisjoint(words[:index]):
            continue
        # "… between X and what network?"; not "Did he say what …?"
        what_noun = (
            word == "what" and words[index - 1] in _PREPOSITIONS | {"and"} and _starts_noun_phrase(words[index + 1])
        )
        if word.startswith(("welch", "which")) or what_noun:
            return index
    return None


def _by_question_word(raw: list[str], words: list[str], index: int) -> QuestionKind:
    word = words[index]
    nxt = words[index + 1] if index + 1 < len(words) else ""
    text = " ".join(words)
    if word in ("when", "wann") or word.startswith("wieviel"):
        return QuestionKind.NUMBER
    if word == "wie" and nxt in _DE_NAMING | _DE_NAMING_PLURAL:
        several = nxt in _DE_NAMING_PLURAL or any(w in _SEVERAL for w in words)
        return QuestionKind.LIST if several else QuestionKind.ENTITY
    if word in ("how", "wie"):
        return QuestionKind.NUMBER if nxt in _NUMBER_ADVERBS else QuestionKind.STATEMENT
    if word == "what" and words[-1] == "called":
        return QuestionKind.ENTITY  # "What is the new party called?"
    if _BESIDES.search(text) and word not in _WHY and word not in ("which", "what"):
        return QuestionKind.LIST  # "Who besides X …?", "Wogegen außer X …?"; which + noun decides below
    if word in _WHY or (word.startswith("wo") and word not in _WHERE):
        return QuestionKind.STATEMENT  # "wovor", "worüber", … ask about the content of what was said
    if word in _WHO:
        return QuestionKind.ENTITY
    if word in _WHERE:
        return QuestionKind.ENTITY
    if word == "what" and nxt in ("is", "was", "are", "were") and words[index + 2 : index + 3] == ["the"]:
        # "What is the name of …?", "What is the death toll?": the noun says what is asked for.
        head = _english_head(words, index + 3)
        noun = _english_singular(words[head]) if head is not None else ""
        if noun in ("name", "title"):
            return QuestionKind.ENTITY
        if noun in _NUMBER_NOUNS:
            return QuestionKind.NUMBER
    if word == "which" or word.startswith("welch") or (word == "what" and _starts_noun_phrase(nxt)):
        return _by_noun(raw, words, index)
    return QuestionKind.STATEMENT  # "What did X say?", "Was forderte Y?": the content of a statement


def _starts_noun_phrase(word: str) -> bool:
    return bool(word) and word not in _EN_NP_STOP and not word.endswith("ed")


def _by_noun(raw: list[str], words: list[str], index: int) -> QuestionKind:
    """Which/welche/what + noun: the noun's number and meaning decide."""
    word = words[index]
    start = index + 1
    picked_one = words[start : start + 1] == ["of"]  # "which of his claims": one picked from several
    if picked_one:
        start += 1
    if start < len(words) and words[start] in _SEVERAL:
        return QuestionKind.LIST
    head = _german_head(raw, start) if word.startswith("welch") else _english_head(words, start)
    if head is None:
        return QuestionKind.STATEMENT
    noun = words[head].removesuffix("'s")
    meaning = _english_singular(noun) if word in ("which", "what") else noun
    if meaning in _NUMBER_NOUNS or _compound_tail(noun) in _NUMBER_NOUNS:
        return QuestionKind.NUMBER
    plural = not picked_one and _is_plural(words, index, head)
    if plural or (_BESIDES.search(" ".join(words)) and word in ("welche", "welchen")):
        return QuestionKind.LIST
    if meaning in _STATEMENT_NOUNS or _compound_tail(noun) in _STATEMENT_NOUNS:
        return QuestionKind.STATEMENT
    return QuestionKind.ENTITY


def _english_head(words: list[str], start: int) -> int | None:
    """Index of the last word of the noun phrase, which runs up to the verb or a preposition."""
    end = start
    while end < len(words) and words[end] not in _EN_NP_STOP and not (end > start and words[end].endswith("ed")):
        end += 1
    return end - 1 if end > start else None


def _german_head(raw: list[str], start: int) -> int | None:
    # German nouns are capitalised, adjectives before them are not: "welchem britischen Verteidigungsminister".
    for index in range(start, min(start + 4, len(raw))):
        if raw[index][:1].isupper():
            return index
    return None


_KNOWN_TAILS = sorted((n for n in _NUMBER_NOUNS | _STATEMENT_NOUNS if len(n) > 3), key=len, reverse=True)


def _compound_tail(noun: str) -> str:
    # A German compound means what its last part means: "Atomwaffen-Frage" -> "frage", "Opferzahl" -> "zahl".
    tail = noun.rsplit("-", 1)[-1]
    return next((known for known in _KNOWN_TAILS if tail.endswith(known)), tail)


def _english_singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def _english_plural(noun: str) -> bool:
    noun = noun.removesuffix("'s")
    return noun in _EN_IRREGULAR_PLURALS or (noun.endswith("s") and not noun.endswith(("ss", "us", "is", "news")))


def _is_plural(words: list[str], index: int, head: int) -> bool:
    word, noun = words[index], words[head].removesuffix("'s")
    if word in ("which", "what"):
        return _english_plural(noun)
    if word == "welchen":
        # Dative plural after a preposition ("mit welchen Ministern", always in -n); otherwise masculine
        # singular ("über welchen Fluss").
        dative_plural = noun.endswith(("n", "s")) and not noun.endswith("ss")
        return index > 0 and words[index - 1] in _PREPOSITIONS and dative_plural
    if word != "welche":
        return False  # welcher, welches, welchem: singular
    if noun.endswith(("en", "er", "s")) or noun in _DE_PLURAL_E:
        return True
    if noun.endswith(_DE_SINGULAR_ENDINGS):
        return False
    # A noun in -e is feminine singular ("welche Rolle spielte …") unless the verb after it is plural.
    verb = words[head + 1] if head + 1 < len(words) else ""
    return verb.endswith("en") and verb not in ("den", "einen", "seinen", "ihren")
