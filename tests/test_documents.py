import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rag.ingest.chunking import chunk_document
from rag.ingest.documents import SUPPORTED_SUFFIXES, DocumentError, is_boilerplate, load_document, parse_document

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
DATE_MARKER = re.compile(r"^\s*date \d{4}-\d{2}\s*")


def test_seed_corpus_is_present():
    assert len(SEEDS) == 5


def test_date_marker_gives_date_and_first_sentence_title():
    raw = " date 2022-11 Berlin – Der Kanzler reist ab. Er fliegt nach Paris.\n\nZweiter Absatz."
    doc = parse_document(raw, "d1")
    assert doc.date == "2022-11"
    assert doc.title == "Berlin – Der Kanzler reist ab."
    assert doc.text == "Berlin – Der Kanzler reist ab. Er fliegt nach Paris.\n\nZweiter Absatz."
    assert "date" not in doc.text


def test_full_iso_date_marker():
    doc = parse_document("date 2022-11-20 Heute passierte etwas.", "d2")
    assert doc.date == "2022-11-20"
    assert doc.text == "Heute passierte etwas."


def test_heading_gives_the_title_and_stays_in_the_text():
    doc = parse_document("Die Überschrift\n\nErster Satz. Zweiter Satz.\n", "d3", source="x/d3.txt")
    assert doc.title == "Die Überschrift"
    assert doc.date is None
    assert doc.text == "Die Überschrift\n\nErster Satz. Zweiter Satz."
    assert doc.source == "x/d3.txt"
    assert doc.doc_id == "d3"


def test_date_line_below_title():
    doc = parse_document("Titel\nDatum: 2023-01-05\n\nText des Artikels.", "d4")
    assert doc.date == "2023-01-05"
    assert doc.text == "Titel\n\nText des Artikels."
    assert doc.removed_lines == ("Datum: 2023-01-05",)


def test_date_inside_article_text_is_not_metadata():
    doc = parse_document("Titel\n\nEins.\n\nZwei.\n\nDrei.\n\nAm 2022-11-20 geschah es.", "d5")
    assert doc.date is None


def test_long_first_sentence_title_is_cut_at_word_boundary():
    sentence = " ".join(["Wort"] * 60) + "."
    doc = parse_document(f" date 2022-11 {sentence}", "d6")
    assert len(doc.title) <= 150
    assert doc.title.endswith("Wort…")
    assert doc.text == sentence


def test_newlines_and_whitespace_are_normalised():
    doc = parse_document("Titel\r\n\r\nEins.   \r\n\n\n\n\nZwei.\rDrei.", "d7")
    assert doc.text == "Titel\n\nEins.\n\nZwei.\nDrei."


def test_markdown_heading_title():
    doc = parse_document("# Ein Titel\n\nText.", "d8")
    assert doc.title == "Ein Titel"


@pytest.mark.parametrize(
    "line",
    [
        "Guardar",
        "Teilen",
        "Facebook Twittern WhatsApp E-Mail",
        "Compartir",
        "(Foto: dpa)",
        "Foto: Reuters",
        "Bild: Getty Images",
        "Quelle: dpa",
        "REUTERS/Gonzalo Fuentes",
        "EFE/Sergei Ilnitsky",
        "© Alexei Druzhinin/imago-images",
        "Lesen Sie auch:",
        "Lesen Sie weiter:",
        "Mehr zum Thema",
        "Read more",
        "Weiterlesen",
        "Mit Informationen von Reuters",
        "dpa",
    ],
)
def test_boilerplate_lines_are_recognised(line):
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Das Foto zeigt den Kanzler bei seinem Besuch in Kiew am Montag.",
        "Facebook hat am Dienstag neue Regeln für politische Werbung in der EU vorgestellt, hieß es.",
        "Teilen Sie diese Einschätzung, fragte der Minister die Abgeordneten im Ausschuss.",
        "Zum Thema Atomwaffen sagte er nichts.",
        "KOMMUNIKATIONSKANÄLE",
        "Politische Unterstützung für Moskau",
        "Er sagte: „Lesen Sie auch die Verträge, bevor Sie urteilen, und zwar sehr gründlich.“",
    ],
)
def test_content_lines_are_not_boilerplate(line):
    assert not is_boilerplate(line)


def test_boilerplate_is_removed_and_recorded():
    raw = "Titel\n\nErster Absatz.\n\nGuardar\n(Foto: dpa)\n\nZweiter Absatz.\n\nLesen Sie auch:\nTeilen\n"
    doc = parse_document(raw, "d9")
    assert doc.text == "Titel\n\nErster Absatz.\n\nZweiter Absatz."
    assert doc.removed_lines == ("Guardar", "(Foto: dpa)", "Lesen Sie auch:", "Teilen")


def test_caption_alt_text_echo_is_removed_but_caption_kept():
    caption = "Jens Stoltenberg speaks during a news conference in Brussels, Belgium, March 23. REUTERS/Name"
    doc = parse_document(f"Titel\n\nText.\n\nJens Stoltenberg\n{caption}\n\nMehr Text.", "d10")
    assert "Jens Stoltenberg\n" not in doc.text
    assert caption in doc.text
    assert doc.removed_lines == ("Jens Stoltenberg",)


def test_one_line_file_keeps_its_text():
    doc = parse_document("Nur eine Zeile.", "d11")
    assert doc.title == "Nur eine Zeile."
    assert doc.text == "Nur eine Zeile."


@pytest.mark.parametrize("raw", ["", "   \n\t\n", " date 2022-11   \n"])
def test_parse_rejects_empty_text(raw):
    with pytest.raises(DocumentError):
        parse_document(raw, "empty")


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_has_sensible_title_and_body(seed):
    doc = load_document(seed)
    assert doc.doc_id == seed.stem
    assert doc.source == str(seed)
    assert 15 <= len(doc.title) <= 150
    assert "\n" not in doc.title
    assert len(doc.text) > 1000
    assert "\n\n\n" not in doc.text
    assert "\r" not in doc.text
    assert all(line == line.rstrip() for line in doc.text.split("\n"))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_date_marker(seed):
    doc = load_document(seed)
    marked = seed.read_text(encoding="utf-8").startswith(" date 2022-11")
    assert doc.date == ("2022-11" if marked else None)
    if marked:
        assert not doc.text.startswith(" ")
        assert "date 2022-11" not in doc.text
        assert doc.text.startswith(doc.title.removesuffix("…"))
        assert doc.removed_lines[0] == "date 2022-11"
    else:
        first_line = seed.read_text(encoding="utf-8").split("\n", 1)[0].strip()
        assert doc.title == first_line
        assert doc.text.startswith(first_line)


def test_seed_titles():
    titles = {p.stem: load_document(p).title for p in SEEDS}
    assert titles["000_343a3810acd3a032"].startswith("HALIFAX, Nova Scotia – Russlands Invasion")
    assert titles["001_0bda7b3f5836d6c8"] == ("Die NATO warnte Russland davor, dass es keinen Atomkrieg gewinnen kann")
    assert titles["002_eb5c34b194544d8a"].startswith("Russische Militärführung hat Atomwaffen-Einsatz")


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_keeps_every_content_line(seed):
    doc = load_document(seed)
    for line in seed.read_text(encoding="utf-8").split("\n"):
        line = DATE_MARKER.sub("", line).strip()
        if len(line.split()) > 12:
            assert line in doc.text, line


def test_seed_boilerplate_is_dropped():
    doc = load_document(SEEDS[1])
    lines = doc.text.split("\n")
    junk_lines = ["Guardar", "Lesen Sie weiter:", "Mit Informationen von Reuters"]
    junk_lines.append("NATO Secretary General Jens Stoltenberg")  # alt text repeated by the caption below it
    for junk in junk_lines:
        assert junk not in lines
        assert junk in doc.removed_lines
    credits = load_document(SEEDS[3]).removed_lines
    assert "Unsere Standards: Die Thomson IPSGURU Trust Principles." in credits


def test_load_markdown(tmp_path):
    path = tmp_path / "notiz.md"
    path.write_text("# Überschrift\n\nInhalt.\n", encoding="utf-8")
    doc = load_document(path)
    assert (doc.doc_id, doc.title, doc.text) == ("notiz", "Überschrift", "# Überschrift\n\nInhalt.")
    assert ".md" in SUPPORTED_SUFFIXES


def test_load_strips_utf8_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffTitel\n\nText.".encode())
    assert load_document(path).title == "Titel"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", b"Titel\n\x00\x01\x02binary", "binary"),
        ("latin1.txt", "Überschrift\n\nGrüße".encode("latin-1"), "UTF-8"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n\t \n", "empty"),
        ("image.png", b"\x89PNG", "unsupported"),
    ],
)
def test_load_rejects_bad_files(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=message) as info:
        load_document(path)
    assert name in str(info.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(DocumentError, match="missing.txt"):
        load_document(tmp_path / "missing.txt")


EXTERNAL = Path(__file__).resolve().parent.parent.parent / "shared" / "external-dev"


def test_one_line_paragraph_without_title_is_kept_whole():
    """A Wikipedia paragraph on one line: the whole paragraph is the text, the title its first sentence."""
    paragraph = "Die Stadt liegt am Rhein. " + " ".join(
        f"Satz {i} erzählt etwas über die Geschichte der Stadt." for i in range(40)
    )
    doc = parse_document(paragraph, "wiki")
    assert doc.text == paragraph.strip()
    assert doc.title == "Die Stadt liegt am Rhein."
    assert doc.removed_lines == ()


def test_first_line_that_is_a_sentence_stays_in_the_text_and_titles_by_its_first_sentence():
    raw = "Der Minister trat am Montag zurück. Er nannte keine Gründe.\n\nDie Opposition begrüßte den Schritt."
    doc = parse_document(raw, "s")
    assert doc.text == raw
    assert doc.title == "Der Minister trat am Montag zurück."


def test_format_metadata_wins_over_the_derived_title():
    doc = parse_document("Erster Absatz.\n\nZweiter.", "h", title="Die Schlagzeile", date="2024-05-01", author="A. B.")
    assert (doc.title, doc.date, doc.author) == ("Die Schlagzeile", "2024-05-01", "A. B.")
    assert doc.text == "Erster Absatz.\n\nZweiter."


_WORD = re.compile(r"\w+")
_DATE_ONLY = re.compile(r"(?:(?:date|datum)\s*:?\s*)?\d{4}-\d{2}(?:-\d{2})?", re.IGNORECASE)
_line = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
    st.sampled_from(["", "Teilen", "(Foto: dpa)", "Datum: 2022-11-20", "# Titel", "Lesen Sie auch:", "dpa"]),
    st.builds(lambda n: " ".join(["Wort."] * n), st.integers(1, 80)),
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(lines=st.lists(_line, min_size=1, max_size=12), marker=st.booleans())
def test_no_word_is_lost(lines, marker):
    """Every word of the input is in the chunks or in the reported removals; chunk offsets map back."""
    raw = (" date 2022-11 " if marker else "") + "\n".join(lines)
    try:
        doc = parse_document(raw, "p")
    except DocumentError:  # only when nothing but a date and boilerplate had words
        content = [
            line for line in lines if not is_boilerplate(line.strip()) and not _DATE_ONLY.fullmatch(line.strip())
        ]
        assert not _WORD.findall("\n".join(content))
        return
    chunks = chunk_document(doc, max_chars=120, overlap_sentences=1)
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
    kept = " ".join([*(c.text for c in chunks), *doc.removed_lines])
    kept_words = set(_WORD.findall(kept))
    assert set(_WORD.findall(raw)) <= kept_words


def test_rejected_document_had_no_words_besides_its_date_or_boilerplate():
    for raw in ["Teilen\n(Foto: dpa)", " date 2022-11 ", "Datum: 2022-11-20\n\n"]:
        with pytest.raises(DocumentError):
            parse_document(raw, "r")


@pytest.mark.skipif(not EXTERNAL.is_dir(), reason="../shared/external-dev is not next to the repository")
@pytest.mark.parametrize("corpus", ["xquad-de", "squad2"])
def test_every_sentence_of_external_paragraphs_is_retrievable_text(corpus):
    """XQuAD-de / SQuAD 2.0 paragraphs (CC BY-SA 4.0, Wikipedia): one line each, no title line."""
    files = sorted((EXTERNAL / corpus / "corpus").glob("*.txt"))[:8]
    assert files
    for file in files:
        doc = load_document(file)
        chunk_text = " ".join(c.text for c in chunk_document(doc, max_chars=600, overlap_sentences=1))
        source = " ".join(file.read_text(encoding="utf-8").split())
        for sentence in re.split(r"(?<=[.!?])\s+", source):
            assert " ".join(sentence.split()) in " ".join(chunk_text.split()), (file.name, sentence)
