"""Consistency checks for the evaluation question sets in eval/.

Uses only json and pathlib so it runs without the project's dependencies.
The file format is described in docs/question-sets.md.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EVAL = ROOT / "eval"
SET_FILES = ["dev.jsonl", "questions.jsonl", "tuning.jsonl", "followups.jsonl", "chains.jsonl", "near_misses.jsonl"]
LANGS = {"de", "en"}
KINDS = {"entity", "number", "statement", "yesno", "list", "none"}
VERDICTS = {"de": {"Ja", "Nein"}, "en": {"Yes", "No"}}
ROLES = {"user", "assistant"}
# Sets over the corpora in ../shared/external-dev (Wikipedia, CC BY-SA 4.0): set -> (corpus, language).
EXTERNAL = ROOT.parent / "shared" / "external-dev"
EXTERNAL_SETS = {"near_misses_xquad.jsonl": ("xquad-de", "de"), "near_misses_squad.jsonl": ("squad2", "en")}
FORMAT_FILES = SET_FILES + list(EXTERNAL_SETS)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _load(name: str) -> list[tuple[int, dict]]:
    rows = []
    for lineno, line in enumerate((EVAL / name).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            rows.append((lineno, json.loads(line)))
    return rows


def _items(name: str) -> list[dict]:
    return [item for _, item in _load(name)]


def _seed_texts() -> dict[str, str]:
    return {p.stem: _norm(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}


def _answerable(item: dict) -> bool:
    return item.get("answerable", True) is not False


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_line_parses_as_object(name):
    text = (EVAL / name).read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{name}:{lineno}: invalid JSON: {exc}")
        assert isinstance(obj, dict), f"{name}:{lineno}: not a JSON object"


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_required_fields_and_unique_ids(name):
    seen = set()
    for lineno, item in _load(name):
        qid = item.get("id")
        assert isinstance(qid, str) and qid.strip(), f"{name}:{lineno}: missing id"
        assert qid not in seen, f"{name}:{lineno}: duplicate id {qid}"
        seen.add(qid)
        question = item.get("question")
        assert isinstance(question, str) and question.strip(), f"{name}:{lineno}: empty question"
        assert item.get("lang") in LANGS, f"{qid}: lang must be one of {sorted(LANGS)}"
        assert isinstance(item.get("answerable", True), bool), f"{qid}: answerable must be a boolean"
        for key in ("answers", "relevant_docs", "evidence", "history", "tags"):
            assert isinstance(item.get(key, []), list), f"{qid}: {key} must be a list"


@pytest.mark.parametrize("name", SET_FILES)
def test_answerable_items_have_docs_evidence_answers_keywords(name):
    doc_ids = {p.stem for p in SEEDS.glob("*.txt")}
    assert doc_ids, "no seed articles found"
    for item in _items(name):
        if not _answerable(item):
            continue
        qid = item["id"]
        docs = item.get("relevant_docs") or []
        assert docs, f"{qid}: answerable but no relevant_docs"
        assert len(set(docs)) == len(docs), f"{qid}: duplicate relevant_docs"
        for doc in docs:
            assert doc in doc_ids, f"{qid}: relevant doc {doc!r} is not a file in seeds/"
        assert item.get("evidence"), f"{qid}: answerable but no evidence"
        answers = item.get("answers") or []
        assert answers and all(isinstance(a, str) and a.strip() for a in answers), f"{qid}: bad answers"
        keywords = item.get("keywords") or []
        assert keywords, f"{qid}: answerable but no keywords"
        for group in keywords:
            assert isinstance(group, list) and group, f"{qid}: keyword group must be a non-empty list"
            assert all(isinstance(k, str) and k.strip() for k in group), f"{qid}: empty keyword"


@pytest.mark.parametrize("name", SET_FILES)
def test_evidence_spans_occur_verbatim_in_relevant_docs(name):
    texts = _seed_texts()
    for item in _items(name):
        qid = item["id"]
        docs = item.get("relevant_docs") or []
        covered = set()
        for span in item.get("evidence") or []:
            assert isinstance(span, str) and span.strip(), f"{qid}: empty evidence span"
            words = len(span.split())
            assert 5 <= words <= 25, f"{qid}: evidence span has {words} words, expected 5-25: {span!r}"
            hits = {doc for doc in docs if doc in texts and _norm(span) in texts[doc]}
            assert hits, f"{qid}: evidence not found verbatim in {docs}: {span!r}"
            covered |= hits
        if _answerable(item):
            missing = set(docs) - covered
            assert not missing, f"{qid}: no evidence span comes from {sorted(missing)}"


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_unanswerable_items_carry_no_answer_data(name):
    for item in _items(name):
        if _answerable(item):
            assert "unanswerable" not in item.get("tags", []), f"{item['id']}: tagged unanswerable"
            continue
        qid = item["id"]
        for key in ("answers", "keywords", "relevant_docs", "evidence"):
            assert not item.get(key), f"{qid}: unanswerable question must have empty {key}"


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_history_entries_are_well_formed(name):
    for item in _items(name):
        history = item.get("history") or []
        for turn in history:
            assert isinstance(turn, dict), f"{item['id']}: history entry is not an object"
            assert turn.get("role") in ROLES, f"{item['id']}: bad history role {turn.get('role')!r}"
            content = turn.get("content")
            assert isinstance(content, str) and content.strip(), f"{item['id']}: empty history content"
        if "follow-up" in item.get("tags", []):
            assert history, f"{item['id']}: tagged follow-up but has no history"
            assert history[-1]["role"] == "assistant", f"{item['id']}: history should end with the answer"


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_multi_doc_tag_matches_relevant_docs(name):
    for item in _items(name):
        if "multi-doc" in item.get("tags", []):
            assert len(item.get("relevant_docs") or []) >= 2, f"{item['id']}: multi-doc needs two docs"


def test_main_set_counts():
    items = _items("questions.jsonl")
    assert len(items) >= 60
    assert sum(i["lang"] == "de" for i in items) >= 25
    assert sum(i["lang"] == "en" for i in items) >= 25
    assert sum(not _answerable(i) for i in items) >= 8
    assert sum(len(i.get("relevant_docs") or []) >= 2 for i in items) >= 5
    assert sum(bool(i.get("history")) for i in items) >= 5


def test_main_set_covers_every_article():
    doc_ids = {p.stem for p in SEEDS.glob("*.txt")}
    counts = dict.fromkeys(doc_ids, 0)
    for item in _items("questions.jsonl"):
        for doc in item.get("relevant_docs") or []:
            counts[doc] = counts.get(doc, 0) + 1
    assert all(counts[doc] >= 5 for doc in doc_ids), counts


def test_dev_set_shape():
    items = _items("dev.jsonl")
    answerable = [i for i in items if _answerable(i)]
    unanswerable = [i for i in items if not _answerable(i)]
    assert len(items) == 24
    assert sum(i["lang"] == "de" for i in answerable) == 10
    assert sum(i["lang"] == "en" for i in answerable) == 10
    assert len(unanswerable) == 4
    assert sorted(i["lang"] for i in unanswerable) == ["de", "de", "en", "en"]
    per_doc: dict[str, int] = {}
    for item in answerable:
        for doc in item["relevant_docs"]:
            per_doc[doc] = per_doc.get(doc, 0) + 1
    doc_ids = {p.stem for p in SEEDS.glob("*.txt")}
    assert all(per_doc.get(doc, 0) >= 3 for doc in doc_ids), per_doc


def test_dev_questions_are_not_reused_in_main_set():
    dev = {_norm(i["question"]).lower() for i in _items("dev.jsonl")}
    main = {_norm(i["question"]).lower() for i in _items("questions.jsonl")}
    assert not dev & main


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_item_has_a_kind_and_none_means_unanswerable(name):
    for item in _items(name):
        qid = item["id"]
        assert item.get("kind") in KINDS, f"{qid}: kind must be one of {sorted(KINDS)}, got {item.get('kind')!r}"
        assert (item["kind"] == "none") == (not _answerable(item)), f"{qid}: kind none if and only if unanswerable"


def test_tuning_set_shape():
    items = _items("tuning.jsonl")
    kinds = [i["kind"] for i in items]
    assert len(items) >= 60
    for kind in ("statement", "yesno", "list"):
        assert kinds.count(kind) >= 15, kind
    assert kinds.count("entity") >= 3 and kinds.count("number") >= 3
    assert kinds.count("none") >= 8
    de = sum(i["lang"] == "de" for i in items)
    assert 0.4 <= de / len(items) <= 0.6, de


def test_tuning_yesno_items_carry_the_verdict_word_in_the_question_language():
    for item in _items("tuning.jsonl"):
        if item["kind"] == "yesno":
            verdicts = VERDICTS[item["lang"]]
            assert any(len(group) == 1 and group[0] in verdicts for group in item["keywords"]), item["id"]
            assert len(item["keywords"]) >= 2, f"{item['id']}: needs a group for the deciding fact"


def test_tuning_questions_are_new():
    tuning = {_norm(i["question"]).lower() for i in _items("tuning.jsonl")}
    others = {_norm(i["question"]).lower() for name in ("dev.jsonl", "questions.jsonl") for i in _items(name)}
    assert not tuning & others


def test_every_follow_up_has_an_earlier_question_and_answer_and_is_new():
    items = _items("followups.jsonl")
    assert len(items) >= 20
    for item in items:
        roles = [turn["role"] for turn in item["history"]]
        assert roles[-2:] == ["user", "assistant"], item["id"]
    followups = {_norm(i["question"]).lower() for i in items}
    others = {
        _norm(i["question"]).lower() for name in ("dev.jsonl", "questions.jsonl", "tuning.jsonl") for i in _items(name)
    }
    assert not followups & others


NEAR_MISS_TYPES = {"wrong-date", "wrong-place", "wrong-person", "wrong-number", "missing-detail", "false-premise"}


def _check_near_miss_twins(name: str, minimum: int) -> None:
    """Every unanswerable near miss has exactly one answerable twin of the same type and language."""
    items = _items(name)
    by_id = {i["id"]: i for i in items}
    misses = [i for i in items if not _answerable(i)]
    assert len(misses) >= minimum, f"{name}: {len(misses)} unanswerable near misses, expected at least {minimum}"
    twins: dict[str, list[dict]] = {}
    for item in items:
        if _answerable(item):
            target = item.get("twin_of")
            assert target in by_id, f"{item['id']}: twin_of {target!r} is not an id in {name}"
            assert not _answerable(by_id[target]), f"{item['id']}: twin_of {target} is answerable"
            twins.setdefault(target, []).append(item)
        else:
            assert "twin_of" not in item, f"{item['id']}: an unanswerable near miss is not a twin"
    for miss in misses:
        qid = miss["id"]
        tags = set(miss.get("tags", []))
        kinds = tags & NEAR_MISS_TYPES
        assert "near-miss" in tags and len(kinds) == 1, f"{qid}: needs near-miss and one type tag"
        pair = twins.get(qid, [])
        assert len(pair) == 1, f"{qid}: {len(pair)} twins, expected exactly one"
        twin = pair[0]
        assert twin["lang"] == miss["lang"], f"{twin['id']}: language differs from {qid}"
        assert {"twin"} | kinds <= set(twin.get("tags", [])), f"{twin['id']}: tags need twin and {sorted(kinds)}"
        assert _norm(twin["question"]).lower() != _norm(miss["question"]).lower(), f"{twin['id']}: same question"


def test_near_misses_over_the_seeds_have_twins_and_both_languages():
    _check_near_miss_twins("near_misses.jsonl", 32)
    misses = [i for i in _items("near_misses.jsonl") if not _answerable(i)]
    assert sum(i["lang"] == "de" for i in misses) >= 16
    assert sum(i["lang"] == "en" for i in misses) >= 16


def test_near_miss_yesno_twins_carry_the_verdict_word_in_the_question_language():
    for item in _items("near_misses.jsonl"):
        if item["kind"] == "yesno":
            assert any(len(group) == 1 and group[0] in VERDICTS[item["lang"]] for group in item["keywords"]), item["id"]


def test_near_miss_questions_are_new():
    near = {_norm(i["question"]).lower() for i in _items("near_misses.jsonl")}
    names = [name for name in SET_FILES if name != "near_misses.jsonl"] + ["yesno.jsonl"]
    others = {_norm(i["question"]).lower() for name in names for i in _items(name)}
    assert not near & others


def _external_corpus(corpus: str) -> Path:
    directory = EXTERNAL / corpus
    if not (directory / "corpus").is_dir():
        pytest.skip(f"../shared/external-dev/{corpus} is not next to the repository")
    return directory


@pytest.mark.parametrize("name", list(EXTERNAL_SETS))
def test_external_near_misses_have_twins_and_one_language(name):
    _check_near_miss_twins(name, 6)
    lang = EXTERNAL_SETS[name][1]
    assert all(i["lang"] == lang for i in _items(name)), f"{name}: every question is in {lang}"


@pytest.mark.parametrize("name", list(EXTERNAL_SETS))
def test_external_near_miss_evidence_occurs_verbatim_in_its_corpus(name):
    corpus = _external_corpus(EXTERNAL_SETS[name][0]) / "corpus"
    texts = {p.stem: _norm(p.read_text(encoding="utf-8")) for p in corpus.glob("*.txt")}
    assert texts, f"no documents in {corpus}"
    for item in _items(name):
        if not _answerable(item):
            continue
        qid = item["id"]
        docs = item.get("relevant_docs") or []
        assert docs and all(doc in texts for doc in docs), f"{qid}: relevant_docs {docs} are not files in {corpus}"
        assert item.get("answers") and item.get("keywords"), f"{qid}: answerable but no answers or keywords"
        assert item.get("evidence"), f"{qid}: answerable but no evidence"
        covered = set()
        for span in item["evidence"]:
            words = len(span.split())
            assert 5 <= words <= 25, f"{qid}: evidence span has {words} words, expected 5-25: {span!r}"
            hits = {doc for doc in docs if _norm(span) in texts[doc]}
            assert hits, f"{qid}: evidence not found verbatim in {docs}: {span!r}"
            covered |= hits
        assert covered == set(docs), f"{qid}: no evidence span comes from {sorted(set(docs) - covered)}"


@pytest.mark.parametrize("name", list(EXTERNAL_SETS))
def test_external_near_miss_questions_are_not_the_corpus_own_questions(name):
    questions = _external_corpus(EXTERNAL_SETS[name][0]) / "questions.jsonl"
    theirs = {
        _norm(json.loads(line)["question"]).lower()
        for line in questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    ours = {_norm(i["question"]).lower() for i in _items(name)}
    assert not ours & theirs
