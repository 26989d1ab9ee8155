"""Extractive answers: sentences picked from retrieved chunks, with offsets into the document text."""

from __future__ import annotations

import pytest

from rag.answering.extractive import MAX_SENTENCES, best_sentence, chunk_sentences, pick_sentences
from rag.ingest.chunking import chunk_text
from rag.types import StoredChunk
from tests.fakes import make_chunk

DOC = (
    "Schoigu sprach am Sonntag mit Lloyd Austin.\n\n"
    "Danach telefonierte er mit Hulusi Akar aus der Türkei. Auch Ben Wallace aus London war dabei.\n\n"
    "Die NATO beobachtet die Lage in der Ukraine genau. Kurz gesagt: gut."
)


def stored(doc: str, doc_id: str = "doc", max_chars: int = 100, score: float = 0.5) -> list[StoredChunk]:
    """The document chunked as `rag index` does, read back the way the store returns it."""
    return [
        StoredChunk(
            chunk_id=c.chunk_id,
            doc_id=doc_id,
            title="Titel",
            date=None,
            source=f"{doc_id}.txt",
            chunk_index=c.chunk_index,
            start=c.start,
            end=c.end,
            text=c.text,
            sentences=tuple((s.start, s.end) for s in c.sentences),
            score=score,
        )
        for c in chunk_text(doc, doc_id, max_chars=max_chars, overlap_sentences=1)
    ]


def make(text: str, start: int = 0, sentences: tuple[tuple[int, int], ...] = (), score: float = 0.5) -> StoredChunk:
    return make_chunk(text, chunk_id="c", doc_id="d", title="T", start=start, sentences=sentences, score=score)


# --- chunk_sentences --------------------------------------------------------------------------------


def test_sentences_map_back_to_the_document():
    chunks = stored(DOC)
    assert len(chunks) > 1 and chunks[1].start > 0
    for c in chunks:
        spans = chunk_sentences(c)
        assert len(spans) == len(c.sentences)
        for start, end, text in spans:
            assert DOC[start:end] == text
            assert c.text[start - c.start : end - c.start] == text


def test_chunk_without_sentence_offsets_is_one_sentence():
    c = make("Ein Satz ohne gespeicherte Grenzen. Noch einer.", start=40)
    assert chunk_sentences(c) == [(40, 40 + len(c.text), c.text)]


# --- best_sentence ----------------------------------------------------------------------------------


def test_best_sentence_is_the_one_sharing_most_words_with_the_claim():
    chunk = next(c for c in stored(DOC) if "Wallace" in c.text)
    start, end, text = best_sentence("Wallace war in London dabei.", chunk)
    assert text == "Auch Ben Wallace aus London war dabei."
    assert DOC[start:end] == text


def test_best_sentence_ties_go_to_the_first_sentence():
    text = "Erster Satz hier. Zweiter Satz dort."
    c = make(text, start=10, sentences=((10, 27), (28, 45)))
    assert best_sentence("Mondlandung", c) == (10, 27, "Erster Satz hier.")


def test_best_sentence_offsets_are_absolute():
    prefix = "Vorspann. "
    text = "Akar kam. Wallace blieb in London."
    c = make(text, start=len(prefix), sentences=((10, 19), (20, 44)))
    start, end, quote = best_sentence("London", c)
    assert (prefix + text)[start:end] == quote == "Wallace blieb in London."


def test_a_claim_no_sentence_shares_words_with_takes_the_closest_in_meaning():
    text = "Akar kam. Wallace blieb in London."
    c = make(text, start=0, sentences=((0, 9), (10, 34)))
    asked: list[tuple[str, list[str]]] = []

    def similarity(claim: str, sentences: list[str]) -> list[float]:
        asked.append((claim, sentences))
        return [0.1, 0.8]

    assert (
        best_sentence("The British minister stayed behind.", c, similarity=similarity)[2] == "Wallace blieb in London."
    )
    assert asked == [("The British minister stayed behind.", ["Akar kam.", "Wallace blieb in London."])]


def test_a_claim_that_shares_words_with_a_sentence_keeps_it_without_asking_for_meaning():
    text = "Akar kam. Wallace blieb in London."
    c = make(text, start=0, sentences=((0, 9), (10, 34)))

    def similarity(claim: str, sentences: list[str]) -> list[float]:
        raise AssertionError("asked for meaning although the words decide")

    assert best_sentence("Akar kam am Montag.", c, similarity=similarity)[2] == "Akar kam."


# --- pick_sentences ---------------------------------------------------------------------------------


def test_no_chunks_give_no_sentences():
    assert pick_sentences("Mit wem sprach Schoigu?", []) == []


def test_only_short_sentences_give_nothing():
    """Sentences of 20 characters or fewer ("Kurz gesagt: gut.") are never picked."""
    c = make("Ja. Nein. Kurz gesagt: gut.", sentences=((0, 3), (4, 9), (10, 27)))
    assert pick_sentences("gut", [c]) == []


def test_picks_the_matching_sentences_with_document_offsets():
    picked = pick_sentences("Mit wem telefonierte Schoigu, mit Akar?", stored(DOC))
    assert len(picked) == MAX_SENTENCES
    assert picked[0].text == "Danach telefonierte er mit Hulusi Akar aus der Türkei."
    for p in picked:
        assert DOC[p.start : p.end] == p.text
        assert p.chunk.text[p.start - p.chunk.start : p.end - p.chunk.start] == p.text


def test_picked_sentences_are_ordered_by_score():
    picked = pick_sentences("NATO Ukraine Lage Akar", stored(DOC), limit=5)
    assert [p.score for p in picked] == sorted((p.score for p in picked), reverse=True)
    assert picked[0].text == "Die NATO beobachtet die Lage in der Ukraine genau."


def test_score_mixes_word_overlap_and_chunk_score():
    c = make("Schoigu sprach mit Austin am Sonntag.", sentences=((0, 37),), score=0.5)
    (picked,) = pick_sentences("Schoigu Austin", [c])
    assert picked.score == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)


def test_better_chunk_wins_between_equally_matching_sentences():
    text = "Schoigu sprach mit Austin am Sonntag."
    weak = make(text, sentences=((0, 37),), score=0.2)
    strong = make_chunk(text, chunk_id="s", doc_id="e", title="T", sentences=((0, 37),), score=0.9)
    picked = pick_sentences("Schoigu", [weak, strong])
    assert [p.chunk.chunk_id for p in picked] == ["s"]


def test_overlap_sentence_is_picked_once():
    """Adjacent chunks share an overlap sentence; the answer must not repeat it."""
    chunks = stored(DOC)
    texts = [t for c in chunks for _, _, t in chunk_sentences(c)]
    assert len(texts) > len(set(texts)), "the fixture needs a repeated overlap sentence"
    picked = pick_sentences("Akar Türkei Wallace London Austin Sonntag NATO", chunks, limit=10)
    assert len({p.text for p in picked}) == len(picked)
    assert len(picked) == len({t for t in texts if len(t) > 20})


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_limit_caps_the_number_of_sentences(limit):
    picked = pick_sentences("Schoigu Akar Wallace NATO", stored(DOC), limit=limit)
    assert len(picked) == limit


def test_zero_limit_picks_nothing():
    assert pick_sentences("Schoigu Akar Wallace NATO", stored(DOC), limit=0) == []


def test_a_headline_kept_in_the_text_is_not_quoted_when_sentences_match():
    chunk = stored("Zebrafestival in Quedlinburg\n\nDas Zebrafestival in Quedlinburg zählte 4200 Besucher.")[0]
    picked = pick_sentences("Wie viele Besucher hatte das Zebrafestival in Quedlinburg?", [chunk])
    assert [p.text for p in picked] == ["Das Zebrafestival in Quedlinburg zählte 4200 Besucher."]
