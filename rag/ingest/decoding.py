"""Bytes of a web page, feed or saved .html file -> text, the way browsers do it, within a size limit.

- `unpack` undoes gzip/deflate (a Content-Encoding, or a .gz file served or saved as is) and stops at a limit:
  a 57 KB gzip bomb never becomes 17 MB in memory.
- `decode_markup` follows the WHATWG encoding sniffing rules: a byte order mark, then the charset the server
  declared, then `<meta charset>` / `<?xml encoding?>` in the first 1,024 bytes, then detection (UTF-8 when the
  bytes are valid UTF-8, else windows-1252). Labels are mapped as browsers map them, so `iso-8859-1`, `latin1` and
  `ascii` decode as windows-1252 and keep `€ „ “ – ’`, which older German sites send under those labels.
"""

from __future__ import annotations

import codecs
import re
import zlib

_GZIP_MAGIC = b"\x1f\x8b"
_PRESCAN_BYTES = 1024
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
# WHATWG Encoding Standard labels whose Python codec differs from the label's literal meaning.
_WHATWG_LABELS = {
    **dict.fromkeys(
        (
            "ascii",
            "us-ascii",
            "ansi_x3.4-1968",
            "cp819",
            "ibm819",
            "iso-8859-1",
            "iso8859-1",
            "iso88591",
            "iso_8859-1",
            "iso_8859-1:1987",
            "iso-ir-100",
            "l1",
            "latin1",
            "csisolatin1",
            "x-cp1252",
            "cp1252",
            "windows-1252",
        ),
        "cp1252",
    ),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "iso_8859-9", "latin5", "l5", "windows-1254"), "cp1254"),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874", "dos-874"), "cp874"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "chinese", "csgb2312"), "gb18030"),
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16be"), "utf-8"),  # a label inside the bytes cannot be UTF-16
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class TooLargeError(ValueError):
    """Unpacking would go past the limit; `limit` is that limit in bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"unpacks to more than {limit:,} bytes")
        self.limit = limit


def unpack(data: bytes, limit: int, content_encoding: str = "") -> bytes:
    """`data` with its Content-Encoding (gzip, deflate) and a gzip wrapper undone, at most `limit` bytes of it."""
    for coding in (c.strip().lower() for c in reversed(content_encoding.split(","))):
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, limit, zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            data = _inflate(data, limit, zlib.MAX_WBITS | 32 if data[:1] == b"\x78" else -zlib.MAX_WBITS)
    while data.startswith(_GZIP_MAGIC):  # a .gz file served without Content-Encoding, or saved as it came
        data = _inflate(data, limit, zlib.MAX_WBITS | 16)
    return data


def _inflate(data: bytes, limit: int, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"is not valid compressed data ({exc})") from exc
    if len(out) > limit:
        raise TooLargeError(limit)
    return out


def codec_for(label: str | None) -> str | None:
    """The Python codec a browser would use for a charset label; None for an unknown label."""
    name = (label or "").strip().strip("\"'").lower()
    if not name:
        return None
    if name in _WHATWG_LABELS:
        return _WHATWG_LABELS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    match = re.search(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def sniff_codec(data: bytes, declared: str | None = None) -> str:
    """The codec for these bytes: BOM, then the server's charset, then <meta>/<?xml?>, then detection."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return bom_codec
    if server_codec := codec_for(declared):
        return server_codec
    if (match := _META_CHARSET_RE.search(data[:_PRESCAN_BYTES])) and (
        meta_codec := codec_for((match.group(1) or match.group(2)).decode("ascii"))
    ):
        return meta_codec
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode_markup(data: bytes, declared: str | None = None) -> str:
    """HTML or XML bytes as text (see the module doc for the order of the rules), without a BOM."""
    codec = sniff_codec(data, declared)
    # cp1252 leaves five bytes undefined; browsers map them to the C1 controls of the same number.
    text = data.decode(codec, errors="replace" if codec != "cp1252" else "c1-controls")
    return text.removeprefix("\ufeff")


def _c1_controls(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("c1-controls", _c1_controls)
