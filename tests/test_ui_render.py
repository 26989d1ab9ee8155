"""Fast checks of the chat's HTML rendering (ui/render.py); no server, no models."""

from __future__ import annotations

import re

from ui.render import (
    esc,
    highlight,
    highlight_span,
    link_citations,
    pending_citations,
    render_answer,
    render_chat,
    render_evidence,
)

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1"> ${alert(1)} {{value}}'


def _answer(**overrides):
    passage = "Erster Satz. Shoigu sprach mit Austin. Dritter Satz."
    start = 100
    quote = "Shoigu sprach mit Austin."
    q0 = start + passage.index(quote)
    answer = {
        "answer": "Shoigu sprach mit Austin [1]. Unbekannt [7].",
        "refused": False,
        "answer_lang": "de",
        "mode": "llm",
        "warning": None,
        "citations": [
            {
                "n": 1,
                "doc_id": "003_doc",
                "title": "Titel",
                "date": "2022-10",
                "author": "Anna Muster",
                "passage": passage,
                "quote": quote,
                "start": start,
                "end": start + len(passage),
                "quote_start": q0,
                "quote_end": q0 + len(quote),
            }
        ],
        "uncited": [{"doc_id": "004_doc", "title": "Andere", "date": None, "score": 0.41, "text": "Anderer Text."}],
        "retrieved": [{"doc_id": "003_doc", "chunk_index": 2, "score": 0.71}],
        "timings": {"retrieval_ms": 12.3, "ttft_ms": None, "total_ms": 40.0},
    }
    answer.update(overrides)
    return answer


# -- escaping ------------------------------------------------------------------
def test_esc_neutralises_tags_and_template_syntax():
    out = esc(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out
    assert "${" not in out and "{{" not in out
    assert '"' not in out


def test_hostile_text_everywhere_is_escaped():
    answer = _answer(text=HOSTILE + " [1]", warning=HOSTILE)
    answer["citations"][0].update(title=HOSTILE, doc_id=HOSTILE, date=HOSTILE)
    answer["uncited"][0].update(title=HOSTILE, text=HOSTILE, doc_id=HOSTILE)
    turns = [{"question": HOSTILE, "status": "final", "answer": answer}]
    html = render_chat(turns, show_details=True) + render_evidence(answer["citations"][0])
    assert "<script" not in html and "<img" not in html
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert "${" not in html and "{{" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


def test_streaming_text_is_escaped_and_markers_are_not_links_yet():
    out = pending_citations("<b>bold</b> claim [2]")
    assert "&lt;b&gt;" in out
    assert '<span class="cite-pending">[2]</span>' in out
    assert "<a " not in out


# -- citation links ---------------------------------------------------------------
def test_known_citations_become_links_and_unknown_stay_text():
    out = link_citations("A [1]. B [7]. C [1][2].", turn=3, numbers=[1, 2])
    assert out.count('class="cite"') == 3
    assert '<a href="#" class="cite" data-turn="3" data-n="1"' in out
    assert '<a href="#" class="cite" data-turn="3" data-n="2"' in out
    assert "B [7]." in out


def test_answer_lists_sources_and_hides_uncited_passages():
    html = render_answer(_answer(), turn=0)
    assert html.count('data-n="1"') == 2  # in the text and in the source list
    assert "[7]" in html and 'data-n="7"' not in html
    assert re.search(r"<details class=\"uncited\">(?!.*open)", html)
    assert "Andere" in html and "004_doc" in html
    assert "Retrieval details" not in html
    assert "Retrieval details" in render_answer(_answer(), turn=0, show_details=True)


def test_refusal_looks_different_from_an_answer():
    refusal = render_answer(
        _answer(text="Die Artikel enthalten dazu keine Informationen.", refused=True, citations={}), 0
    )
    normal = render_answer(_answer(), 0)
    assert 'class="answer refusal"' in refusal and "refusal-label" in refusal
    assert "refusal" not in normal


def test_warning_is_shown_as_a_note():
    html = render_answer(_answer(warning="The LLM at local failed."), 0)
    assert 'class="note warn"' in html and "The LLM at local failed." in html


def test_chat_states():
    preview = {"question": "Q?", "status": "preview", "answer": _answer()}
    streaming = {"question": "Q?", "status": "streaming", "text": "Teil [1"}
    error = {"question": "Q?", "status": "error", "error": "The index is gone."}
    html = render_chat([preview, streaming, error])
    assert "extractive preview" in html
    assert "The model is writing" in html and "▌" in html
    assert 'class="note error"' in html and "The index is gone." in html
    assert 'data-turn="0"' in html
    assert "placeholder" in render_chat([], placeholder="Ask something")


# -- highlighting ----------------------------------------------------------------
def test_highlight_uses_offsets_relative_to_the_passage_start():
    c = _answer()["citations"][0]
    lo, hi = highlight_span(c["passage"], c["start"], c["quote_start"], c["quote_end"], c["quote"])
    assert c["passage"][lo:hi] == "Shoigu sprach mit Austin."
    html = render_evidence(c)
    assert "<mark>Shoigu sprach mit Austin.</mark>" in html
    assert "Erster Satz." in html and "Dritter Satz." in html
    assert "Titel" in html and "2022-10" in html and "003_doc" in html


def test_highlight_falls_back_to_the_quote_text_when_offsets_are_off():
    passage = "Eins. Zwei drei. Vier."
    assert highlight_span(passage, 0, 500, 510, "Zwei drei.") == (6, 16)
    assert highlight_span(passage, 0, 500, 510, "Nicht da.") == (-1, -1)
    assert "<mark>" not in highlight(passage, 0, 500, 510, "Nicht da.")


def test_highlight_escapes_inside_and_around_the_mark():
    passage = "<b>vorher</b> <i>Zitat</i> nachher"
    start = 10
    lo = passage.index("<i>")
    html = highlight(passage, start, start + lo, start + lo + len("<i>Zitat</i>"), "<i>Zitat</i>")
    assert "<mark>&lt;i&gt;Zitat&lt;/i&gt;</mark>" in html
    assert "<b>" not in html and "<i>" not in html


def test_highlight_keeps_the_mark_balanced_across_paragraphs():
    passage = "A.\n\nB beginnt. C endet.\n\nD."
    lo, hi = passage.index("B"), passage.index("D") - 2
    html = highlight(passage, 0, lo, hi)
    assert html.count("<mark>") == html.count("</mark>") >= 1


def test_evidence_placeholder():
    assert "Click a citation" in render_evidence(None)


def test_unsupported_sentences_are_marked_not_shown_as_cited_claims():
    answer = _answer(
        answer="Shoigu sprach mit Austin [1]. Er trug einen <b>Hut</b>.",
        unsupported_sentences=["Er trug einen <b>Hut</b>."],
    )
    html = render_answer(answer, 0)
    assert '<span class="unsupported"' in html and "not found in the sources" in html
    assert "&lt;b&gt;Hut&lt;/b&gt;" in html and "<b>Hut</b>" not in html


def test_refusal_says_what_was_searched():
    html = render_answer(_answer(refused=True, answer="Keine Infos.", searched=["Titel <A>", "Titel B"]), 0)
    assert "Searched: Titel &lt;A&gt; · Titel B" in html


def test_a_web_citation_shows_its_site_and_links_to_the_article_escaped():
    url = "https://news.example/politik/wahl.html?a=1&b=<2>"
    answer = _answer()
    answer["citations"][0].update(url=url, site='Tagesblatt <b>"Beispiel"</b>')
    panel = render_evidence(answer["citations"][0])
    link = '<a class="ev-url" href="https://news.example/politik/wahl.html?a=1&amp;b=&lt;2&gt;" target="_blank"'
    assert link in panel and 'rel="noopener noreferrer nofollow"' in panel
    assert "Tagesblatt &lt;b&gt;&quot;Beispiel&quot;&lt;/b&gt;" in panel and "<b>" not in panel
    sources = render_answer(answer, 0)
    assert link in sources and "Tagesblatt &lt;b&gt;" in sources


def test_only_http_urls_become_links():
    for bad in ("javascript:alert(1)", "data:text/html,<script>x</script>", "//evil.example/x", "https://a b/"):
        citation = {**_answer()["citations"][0], "url": bad, "site": "Site"}
        panel = render_evidence(citation)
        assert "<a " not in panel and "javascript:" not in panel and "<script>" not in panel, bad
    assert "<a " not in render_evidence({**_answer()["citations"][0], "url": None})


# -- shapes --------------------------------------------------------------------
def test_a_yes_no_answer_leads_with_its_verdict_in_the_answer_language():
    html = render_answer(_answer(answer="Nein. Shoigu sprach mit Austin [1].", kind="yesno", verdict="no"), turn=0)
    assert html.index('<div class="verdict no">Nein</div>') < html.index("Shoigu sprach")
    english = render_answer(_answer(answer="Yes, he did [1].", answer_lang="en", verdict="yes"), turn=0)
    assert '<div class="verdict yes">Yes</div>' in english
    assert 'class="verdict' not in render_answer(_answer(), turn=0)


def test_a_list_answer_is_a_list_of_its_items_with_the_quote_under_it():
    items = ["Lecornu", "Akar <b>", "Wallace [1]"]
    claim, quote = "Lecornu, Akar <b> und Wallace [1]", "Shoigu sprach mit Austin.“ [1]"
    written = f"{claim}\n\n„{quote}"
    html = render_answer(_answer(answer=written, claim=claim, quote=quote, kind="list", items=items), turn=0)
    assert html.count("<li>") >= 3 and "<li>Akar &lt;b&gt;</li>" in html  # escaped
    assert re.search(r'<li>Wallace <a [^>]*class="cite"[^>]*data-n="1"', html)
    assert "Lecornu, Akar" not in html  # the items stand for the model's words
    assert "„Shoigu sprach mit Austin.“" in html  # the quote stays


def test_a_two_part_answer_shows_each_answer_under_its_part():
    items = ["Mit Akar [1].", "Vor einer Eskalation [2]."]
    parts = ["Mit wem telefonierte <i>Schoigu</i>?", "Wovor warnte Lawrow?"]
    claim, quote = "Mit Akar [1].\nVor einer Eskalation [2].", "Schoigu sprach mit Akar.“ [1]"
    written = f"{claim}\n\n„{quote}"
    html = render_answer(
        _answer(answer=written, claim=claim, quote=quote, kind="list", items=items, parts=parts), turn=0
    )
    first = html.index('<span class="part">Mit wem telefonierte &lt;i&gt;Schoigu&lt;/i&gt;?</span>')
    assert first < html.index("Mit Akar") < html.index('<span class="part">Wovor warnte Lawrow?</span>')
    assert "<i>" not in html  # the question is escaped like every text


def test_the_upload_label_names_every_suffix_the_ingester_reads():
    from rag.ingest.formats import SUPPORTED_SUFFIXES
    from ui.render import upload_label

    label = upload_label(2.0)
    assert label == "Upload an article (.txt, .md, .html, .htm, .pdf or .docx, at most 2.0 MB)"
    assert all(suffix in label for suffix in SUPPORTED_SUFFIXES)
    assert upload_label(1.5, (".txt",)) == "Upload an article (.txt, at most 1.5 MB)"


def test_an_uncertain_answer_is_given_with_its_doubt_escaped_and_a_sure_one_without():
    doubt = "Die Artikel sagen das womöglich nicht: die zitierten Stellen nennen “<b>Mai</b>” nicht."
    html = render_answer(_answer(doubt=doubt), 0)
    assert 'class="answer uncertain"' in html and 'class="note doubt"' in html
    assert "&lt;b&gt;Mai&lt;/b&gt;" in html and "<b>Mai</b>" not in html
    assert "doubt" not in render_answer(_answer(), 0) and "uncertain" not in render_answer(_answer(), 0)
