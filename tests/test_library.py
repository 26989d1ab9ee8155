"""The document library (rag/ingest/library.py): upload checks, the uploads folder and re-indexing; no models."""

from __future__ import annotations

import re

import pytest

from rag.ingest import library
from rag.ingest.library import UploadError, check_upload, safe_stem
from rag.settings import Settings


# -- file names -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd"),
        ("..\\..\\windows\\system.ini.md", "system_ini"),
        ("Zebrafestival in Quedlinburg.txt", "Zebrafestival_in_Quedlinburg"),
        ("Überraschung: Größe!.md", "Ueberraschung_Groesse"),
        ("café.pdf", "cafe"),
        ("..", "upload"),
        ("", "upload"),
        ("...txt", "upload"),
        ("-rf --no-preserve-root.txt", "rf_--no-preserve-root"),
        ("a" * 200 + ".txt", "a" * 80),
        ("report.final.v2.txt", "report_final_v2"),
        ("<script>.txt", "script"),
    ],
)
def test_safe_stem(name, expected):
    stem = safe_stem(name)
    assert stem == expected
    assert re.fullmatch(r"[A-Za-z0-9_-]+", stem)
    assert not stem.startswith(("-", "."))


# -- upload checks ------------------------------------------------------------------
ARTICLE = "Zebrafestival in Quedlinburg\n\nDatum: 2024-05-01\n\nIn Quedlinburg fand ein Zebrafestival statt.\n"


def test_valid_text_upload():
    checked = check_upload("Zebra Fest.txt", ARTICLE.encode(), 10_000)
    assert checked.stem == "Zebra_Fest" and checked.suffix == ".txt"
    assert checked.title == "Zebrafestival in Quedlinburg"
    assert check_upload("x.md", ("\ufeff" + ARTICLE).encode(), 10_000).title == "Zebrafestival in Quedlinburg"


def test_traversal_name_is_reduced_to_a_plain_stem():
    checked = check_upload("../../etc/passwd.txt", ARTICLE.encode(), 10_000)
    assert checked.stem == "passwd"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.txt", b"", "empty"),
        ("a.txt", b"  \n\t \n", "empty"),
        ("a.txt", b"Text\x00\x01\x02 binary", "binary"),
        ("a.txt", "Zebra in Quedlinburg".encode("latin-1") + b"\xe4\xf6\xfc", "UTF-8"),
        ("a.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "binary"),
        ("a.txt", b"%PDF-1.7\n...", "PDF"),
        ("a.pdf", ARTICLE.encode(), "not a PDF"),
        ("a.exe", ARTICLE.encode(), "Unsupported"),
        ("a", ARTICLE.encode(), "Unsupported"),
        ("a.txt", ("x" * 2000).encode() + b"\x01\x02\x03\x04\x05" * 10, "control characters"),
    ],
)
def test_rejected_uploads(name, data, message):
    with pytest.raises(UploadError, match=message):
        check_upload(name, data, 10_000)


def test_too_large_upload():
    with pytest.raises(UploadError, match="limit"):
        check_upload("a.txt", ARTICLE.encode() * 100, 1_000)


def test_pdf_without_text_or_broken_is_rejected():
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    import io

    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UploadError, match="no extractable text"):
        check_upload("blank.pdf", buffer.getvalue(), 100_000)
    with pytest.raises(UploadError, match="[Cc]annot be read"):
        check_upload("broken.pdf", b"%PDF-1.7\ngarbage", 100_000)


def test_save_upload_stays_inside_the_uploads_folder(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", seeds_dir=tmp_path / "seeds", llm_backend="none")
    checked = check_upload("../../../evil.txt", ARTICLE.encode(), 10_000)
    path, replaced = library.save_upload(settings, checked)
    assert path == (tmp_path / "uploads" / "evil.txt").resolve()
    assert path.read_bytes() == ARTICLE.encode() and replaced == {}
    assert library.uploaded_file(settings, "evil") == tmp_path / "uploads" / "evil.txt"
    assert library.uploaded_file(settings, "../evil") is None
    assert library.kind_of(settings, "evil") == "upload"
    # A re-upload as .md replaces the .txt, so one document id never has two files.
    md = check_upload("evil.md", ARTICLE.encode(), 10_000)
    path2, replaced2 = library.save_upload(settings, md)
    assert path2.suffix == ".md" and not path.exists() and list(replaced2.values()) == [ARTICLE.encode()]
