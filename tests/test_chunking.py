from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import CHUNKER_VERSION, Chunk, chunk_document, chunk_text
from rag.ingest.documents import load_document
from rag.sentences import split_sentences

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))


# --- chunking -------------------------------------------------------------------------------------


def assert_offsets_map_back(text: str, chunks: list[Chunk]) -> None:
    for index, chunk in enumerate(chunks):
        assert chunk.chunk_index == index
        assert chunk.text
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.sentences
        assert chunk.sentences[0].start == chunk.start
        assert chunk.sentences[-1].end == chunk.end
        for sentence in chunk.sentences:
            assert text[sentence.start : sentence.end] == sentence.text
            assert chunk.start <= sentence.start < sentence.end <= chunk.end


def test_chunker_version_is_a_string():
    assert isinstance(CHUNKER_VERSION, str)
    assert CHUNKER_VERSION


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
@pytest.mark.parametrize("max_chars", [200, 600, 800])
def test_seed_chunk_offsets_map_back(seed, max_chars):
    doc = load_document(seed)
    chunks = chunk_document(doc, max_chars=max_chars)
    assert len(chunks) > 1
    assert {c.doc_id for c in chunks} == {doc.doc_id}
    assert_offsets_map_back(doc.text, chunks)
    # Every sentence of the document lands in some chunk.
    covered = {(s.start, s.end) for c in chunks for s in c.sentences}
    assert covered >= {(s.start, s.end) for s in split_sentences(doc.text) if len(s.text) <= 2 * max_chars}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_chunks_respect_max_chars(seed):
    chunks = chunk_document(load_document(seed), max_chars=600)
    for chunk in chunks:
        assert len(chunk.text) <= 600 or len(chunk.sentences) == 1


def test_chunk_ids_stable_and_unique():
    docs = [load_document(p) for p in SEEDS]
    first = [c.chunk_id for d in docs for c in chunk_document(d)]
    second = [c.chunk_id for d in docs for c in chunk_document(d)]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in first)


def test_chunk_id_depends_on_doc_and_content():
    text = "Eins ist hier. Zwei ist da."
    assert chunk_text(text, "a")[0].chunk_id != chunk_text(text, "b")[0].chunk_id
    assert chunk_text(text, "a")[0].chunk_id != chunk_text(text + " Drei.", "a")[0].chunk_id


SIX = "Satz eins ist hier. Satz zwei ist da. Satz drei folgt. Satz vier folgt. Satz fünf kommt. Satz sechs endet."


def test_overlap_one_sentence():
    chunks = chunk_text(SIX, "d", max_chars=40, overlap_sentences=1)
    assert len(chunks) > 2
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.sentences[0] == previous.sentences[-1]
        assert current.end > previous.end
    assert_offsets_map_back(SIX, chunks)


def test_no_overlap_partitions_sentences():
    chunks = chunk_text(SIX, "d", max_chars=40, overlap_sentences=0)
    sentences = [s for c in chunks for s in c.sentences]
    assert sentences == split_sentences(SIX)
    assert all(len(c.text) <= 40 for c in chunks)


def test_two_sentence_overlap():
    chunks = chunk_text(SIX, "d", max_chars=60, overlap_sentences=2)
    assert len(chunks) > 1
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.sentences[:2] == previous.sentences[-2:]


def test_overlap_is_dropped_when_it_leaves_no_room():
    long = "Ein sehr langer Satz mit vielen Wörtern darin."  # 46 chars
    chunks = chunk_text(f"Kurz. {long} {long}", "d", max_chars=50, overlap_sentences=1)
    # Repeating the previous sentence would push each chunk past max_chars, so no chunk repeats one.
    assert [c.text for c in chunks] == ["Kurz.", long, long]
    assert [c.start for c in chunks] == [0, 6, 53]
    assert len({c.chunk_id for c in chunks}) == 3


def test_prefers_paragraph_boundary_when_half_full():
    first = "Erster Absatz hat diesen Satz. Und noch einen Satz."  # 51 chars
    second = "Zweiter Absatz beginnt hier. Er geht weiter und weiter und weiter."
    text = f"{first}\n\n{second}"
    # Greedy packing would also take "Zweiter Absatz beginnt hier." (81 chars <= 100).
    chunks = chunk_text(text, "d", max_chars=100, overlap_sentences=0)
    assert chunks[0].text == first
    assert chunks[1].text == second


def test_does_not_end_at_paragraph_before_half_full():
    text = "Kurzer Absatz.\n\nEin weiterer Satz folgt. Und noch einer danach. Dann das Ende hier."
    chunks = chunk_text(text, "d", max_chars=80, overlap_sentences=0)
    assert chunks[0].text.startswith("Kurzer Absatz.\n\nEin weiterer Satz folgt.")


def test_long_sentence_is_its_own_chunk():
    long_sentence = "Wort " * 30 + "Ende."  # 155 chars, between max_chars and 2 * max_chars
    text = f"Vorher. {long_sentence} Nachher."
    chunks = chunk_text(text, "d", max_chars=100, overlap_sentences=0)
    assert [c.text for c in chunks] == ["Vorher.", long_sentence, "Nachher."]


def test_very_long_sentence_is_split_at_word_boundaries():
    words = [f"wort{i}" for i in range(200)]
    text = " ".join(words) + "."
    chunks = chunk_text(text, "d", max_chars=100, overlap_sentences=0)
    assert len(chunks) > 5
    assert all(len(c.text) <= 100 for c in chunks)
    assert " ".join(c.text for c in chunks) == text  # cut only at spaces, nothing lost
    assert_offsets_map_back(text, chunks)


def test_unbreakable_token_is_hard_cut():
    text = "x" * 250
    chunks = chunk_text(text, "d", max_chars=100, overlap_sentences=0)
    assert [len(c.text) for c in chunks] == [100, 100, 50]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_blank_text_gives_no_chunks(text):
    assert chunk_text(text, "d") == []


@pytest.mark.parametrize(("max_chars", "overlap"), [(0, 1), (100, -1)])
def test_invalid_parameters(max_chars, overlap):
    with pytest.raises(ValueError):
        chunk_text("Text.", "d", max_chars=max_chars, overlap_sentences=overlap)


# --- properties -----------------------------------------------------------------------------------

GERMANISH = st.text(
    alphabet=st.sampled_from(list("abcXYZ zB.,!?…:;-–„“”«»\"'()0123456789\n\t ")) | st.characters(),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(
    GERMANISH | st.text(),
    st.integers(min_value=1, max_value=120),
    st.integers(min_value=0, max_value=3),
)
def test_chunk_text_never_raises_and_maps_back(text, max_chars, overlap):
    chunks = chunk_text(text, "doc", max_chars=max_chars, overlap_sentences=overlap)
    assert_offsets_map_back(text, chunks)
    assert (chunks == []) == (text.strip() == "")
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert previous.start <= current.start
        assert previous.end < current.end
    for chunk in chunks:
        assert len(chunk.text) <= max_chars or len(chunk.sentences) == 1
