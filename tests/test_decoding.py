"""rag.ingest.decoding: text as browsers decode it, and unpacking within a limit."""

from __future__ import annotations

import gzip
import zlib

import pytest

from rag.ingest.decoding import TooLargeError, charset_of, codec_for, decode_markup, sniff_codec, unpack
from rag.ingest.formats import MAX_UNPACKED_HTML_BYTES, FormatError, extract

WINDOWS_1252 = "„Größer geht’s nicht“ – 5 €"


def page(meta: str = "", text: str = WINDOWS_1252) -> str:
    return f"<!DOCTYPE html><html><head>{meta}<title>T</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO_8859-1", "latin1", "us-ascii", "ascii", "windows-1252"])
def test_labels_browsers_read_as_windows_1252_keep_euro_and_quotes(label):
    data = page(f'<meta charset="{label}">').encode("cp1252")
    assert WINDOWS_1252 in decode_markup(data)
    assert WINDOWS_1252 in decode_markup(page().encode("cp1252"), label)  # the same label sent by the server


def test_the_order_is_bom_then_server_then_meta_then_detection():
    utf8_page = page('<meta charset="iso-8859-1">').encode("utf-8")
    assert sniff_codec(b"\xef\xbb\xbf" + utf8_page, "iso-8859-1") == "utf-8"  # the BOM wins
    assert sniff_codec(utf8_page, "utf-8") == "utf-8"  # the server's charset beats <meta>
    assert sniff_codec(utf8_page) == "cp1252"  # <meta> beats detection
    assert sniff_codec(page().encode("utf-8")) == "utf-8"  # detection: valid UTF-8
    assert sniff_codec(page().encode("cp1252")) == "cp1252"  # detection: anything else
    assert sniff_codec(page().encode("utf-8"), "no-such-charset") == "utf-8"  # an unknown label is ignored
    xml = '<?xml version="1.0" encoding="ISO-8859-1"?><rss><title>5 €</title></rss>'.encode("cp1252")
    assert "5 €" in decode_markup(xml)


def test_undefined_windows_1252_bytes_become_c1_controls_as_in_browsers():
    assert decode_markup(b"<p>\x81\x8d\x80</p>", "iso-8859-1") == "<p>\x81\x8d€</p>"


def test_charset_labels_are_read_from_content_type_and_mapped():
    assert charset_of('text/html; charset="Windows-1252"') == "Windows-1252"
    assert charset_of("text/html") is None
    assert (codec_for("latin1"), codec_for("UTF8"), codec_for("bogus"), codec_for("")) == (
        "cp1252",
        "utf-8",
        None,
        None,
    )


def test_unpack_stops_at_the_limit_for_gzip_deflate_and_a_gzip_body():
    bomb = gzip.compress(b"a" * 5_000_000)
    with pytest.raises(TooLargeError):
        unpack(bomb, 100_000)  # a gzip file as the body itself
    with pytest.raises(TooLargeError):
        unpack(bomb, 100_000, "gzip")
    with pytest.raises(TooLargeError):
        unpack(zlib.compress(b"a" * 5_000_000), 100_000, "deflate")
    assert unpack(gzip.compress(b"<html>"), 100) == b"<html>"
    assert unpack(zlib.compress(b"<html>")[2:-4], 100, "deflate") == b"<html>"  # raw deflate, as some servers send
    assert unpack(b"<html>", 100, "identity") == b"<html>"
    with pytest.raises(ValueError, match="not valid compressed data"):
        unpack(b"\x1f\x8b garbage", 100)


def test_a_saved_html_file_follows_the_same_rules():
    data = page('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">').encode("cp1252")
    assert WINDOWS_1252 in extract(data, ".html").text
    assert WINDOWS_1252 in extract(gzip.compress(data), ".html").text  # a page saved gzipped
    with pytest.raises(FormatError, match="unpacks to more than"):
        extract(gzip.compress(b"<p>" + b"a" * (MAX_UNPACKED_HTML_BYTES + 10) + b"</p>"), ".html")
