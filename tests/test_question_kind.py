"""The question-kind rules, one case per rule in German and English, and their accuracy on the tagged sets.

The rule cases are news questions that are not in eval/, so they check the rules, not the data.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rag.evaluation.question_kinds import accuracy, kind_confusion, report
from rag.evaluation.questionset import parse_question_set
from rag.question.kind import classify_question
from rag.types import QuestionKind

EVAL = Path(__file__).resolve().parents[1] / "eval"
SETS = ["dev.jsonl", "questions.jsonl", "tuning.jsonl"]

E, N, S = QuestionKind.ENTITY, QuestionKind.NUMBER, QuestionKind.STATEMENT
Y, L = QuestionKind.YESNO, QuestionKind.LIST


def case(question: str, lang: str, kind: QuestionKind) -> object:
    return pytest.param(question, lang, kind, id=question)


WHO_AND_WHERE = [
    case("Wer ist der neue Bundeskanzler?", "de", E),
    case("Wem warf die Opposition Betrug vor?", "de", E),
    case("Wo fand das Treffen statt?", "de", E),
    case("Woher stammen die Angreifer?", "de", E),
    case("Who won the election in Bavaria?", "en", E),
    case("Whose plan did the cabinet adopt?", "en", E),
    case("Where did the summit take place?", "en", E),
]
NUMBERS = [
    case("Wann beginnt der Gipfel?", "de", N),
    case("Seit wann ist er im Amt?", "de", N),
    case("Wie viele Menschen starben bei dem Anschlag?", "de", N),
    case("Mit wie vielen Staaten außer Frankreich verhandelt die EU?", "de", N),
    case("Wie alt ist der Präsident?", "de", N),
    case("Wie hoch ist die Inflation im Euroraum?", "de", N),
    case("When did the talks begin?", "en", N),
    case("How many soldiers were deployed?", "en", N),
    case("How much did the deal cost?", "en", N),
    case("How long did the strike last?", "en", N),
]
STATEMENTS = [
    case("Was sagte Macron über die Rentenreform?", "de", S),
    case("Warum trat die Ministerin zurück?", "de", S),
    case("Wie reagierte die Opposition auf den Haushalt?", "de", S),
    case("Wovor warnte der Bundesbankpräsident?", "de", S),
    case("What did Biden say about the border?", "en", S),
    case("Why did the minister resign?", "en", S),
    case("How did the markets react to the decision?", "en", S),
    case("What must the government do, according to the unions?", "en", S),
]
YESNO = [
    case("Ist die Koalition zerbrochen?", "de", Y),
    case("Hat die EZB die Zinsen erhöht?", "de", Y),
    case("Wird Deutschland Panzer liefern?", "de", Y),
    case("Kann die Ukraine der Nato beitreten?", "de", Y),
    case("Gibt es Hinweise auf Sabotage?", "de", Y),
    case("Lehnt die Regierung den Vorschlag ab?", "de", Y),
    case("Is the ceasefire holding?", "en", Y),
    case("Did the Fed raise interest rates?", "en", Y),
    case("Will Germany send tanks to Ukraine?", "en", Y),
    case("Has Russia withdrawn its troops from the border?", "en", Y),
    case("According to Reuters, did the talks fail?", "en", Y),
]
LISTS = [
    case("Welche Länder unterstützen den Vorschlag?", "de", L),
    case("Welche Minister nahmen an dem Treffen teil?", "de", L),
    case("Mit welchen Staaten verhandelt die EU?", "de", L),
    case("Welche Begriffe verwendeten die Redner?", "de", L),
    case("Wer außer Scholz reiste nach Kiew?", "de", L),
    case("Was forderte die Opposition und wie reagierte die Regierung?", "de", L),
    case("Was sagten die Sprecher jeweils?", "de", L),
    case("Which countries signed the treaty?", "en", L),
    case("Which three ministers attended the meeting?", "en", L),
    case("What demands did the unions make?", "en", L),
    case("Who besides Scholz travelled to Kyiv?", "en", L),
    case("Who carried out the attack, and when?", "en", L),
    case("Name the three candidates.", "en", L),
    case("What did the minister and the mayor say, according to the police and according to the city?", "en", L),
]
WHICH_ONE = [
    case("Welche Partei gewann die Wahl?", "de", E),
    case("Welcher Politiker kritisierte den Plan?", "de", E),
    case("In welcher Stadt fand der Gipfel statt?", "de", E),
    case("Welchen Vorschlag machte Polen?", "de", E),
    case("Welche Rolle spielte China bei den Gesprächen?", "de", S),
    case("Welche Forderung stellte die Gewerkschaft?", "de", S),
    case("An welchem Tag wurde der Vertrag unterzeichnet?", "de", N),
    case("Which party won the election?", "en", E),
    case("In which city was the summit held?", "en", E),
    case("Which of the candidates won the most votes?", "en", E),
    case("What kind of missile was launched?", "en", E),
    case("What is the name of the new party?", "en", E),
    case("What role did China play in the talks?", "en", S),
    case("What year did the war start?", "en", N),
    case("What is the death toll?", "en", N),
]

# Forms the Wikipedia sets ask in, written here as news questions: a name asked for with a naming verb, a
# question word left in its place, "and" between two objects, a full stop that ends no sentence.
NAMES_AND_QUESTION_WORDS_IN_PLACE = [
    case("Wie heißt der neue Sprecher des Ministeriums?", "de", E),
    case("Wie lautet der Name des Schiffs?", "de", E),
    case("Wie heißen die beiden Kandidaten?", "de", L),
    case("What is the new party called?", "en", E),
    case("Die Sanktionen treffen vor allem welche Branche?", "de", E),
    case("Der Minister traf sich am Montag mit welchem Amtskollegen?", "de", E),
    case("Die Opposition fordert was?", "de", S),
    case("The talks were held in which city?", "en", E),
    case("Hat der Sprecher gesagt, welche Truppen kommen?", "de", Y),
    case("Zwischen der Regierung und welcher Partei kam es zum Streit?", "de", E),
    case("The dispute was between the union and which company?", "en", E),
    case("The minister proposed a deal between the unions and what employer?", "en", E),
    case("Über welchen Fluss führte die zerstörte Brücke?", "de", E),
    case("Warum verschob die Regierung die Wahl auf den 3. März?", "de", S),
    case("Wie hoch war die Inflation im 2. Quartal?", "de", N),
    case("What happens if the ceasefire fails?", "en", S),
]


@pytest.mark.parametrize(
    ("question", "lang", "kind"), WHO_AND_WHERE + NUMBERS + STATEMENTS + NAMES_AND_QUESTION_WORDS_IN_PLACE
)
def test_question_words(question: str, lang: str, kind: QuestionKind) -> None:
    assert classify_question(question, lang) == kind


@pytest.mark.parametrize(("question", "lang", "kind"), YESNO)
def test_verb_first_asks_yes_or_no(question: str, lang: str, kind: QuestionKind) -> None:
    assert classify_question(question, lang) == kind


@pytest.mark.parametrize(("question", "lang", "kind"), LISTS)
def test_plural_besides_and_two_part_questions_ask_for_a_list(question: str, lang: str, kind: QuestionKind) -> None:
    assert classify_question(question, lang) == kind


@pytest.mark.parametrize(("question", "lang", "kind"), WHICH_ONE)
def test_which_with_a_singular_noun_depends_on_the_noun(question: str, lang: str, kind: QuestionKind) -> None:
    assert classify_question(question, lang) == kind


def test_follow_up_filler_and_lead_in_sentence_are_skipped() -> None:
    assert classify_question("Und wann folgte das zweite Gespräch?", "de") == N
    assert classify_question("Both leaders met on Monday. What did they agree?", "en") == S


def test_language_is_detected_when_not_given() -> None:
    assert classify_question("Was sagte der Kanzler?") == S  # German "was" is "what"
    assert classify_question("Was the chancellor in Paris?") == Y  # English "was" is an auxiliary


def test_kind_is_a_string_enum() -> None:
    assert QuestionKind("yesno") is Y
    assert f"{QuestionKind.LIST}" == "list"


def test_empty_question_is_a_statement() -> None:
    assert classify_question("?", "en") == S


def test_accuracy_on_the_tagged_question_sets() -> None:
    confusions = {name: kind_confusion(parse_question_set(EVAL / name)) for name in SETS}
    for name, confusion in confusions.items():
        print(report(name, confusion))  # pytest -s shows accuracy and confusion per set
    total = sum(confusions.values(), Counter())
    assert sum(total.values()) >= 150  # every answerable question of the three sets is tagged
    assert accuracy(total) >= 0.9, report("all", total)
