"""Read input files into clean articles; anything unreadable is quarantined, never dropped.

In: paths (folders are walked recursively) to ``.txt``, ``.html``/``.htm`` and
``.jsonl`` files, with an optional ``manifest.csv`` per folder giving
``file,published,language,outlet,url``.
Out: ``Article`` records (stable content-hash id, cleaned text that evidence
offsets point into, metadata) and ``Rejected`` records (source + reason).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from pipelines.data import load_yaml
from pipelines.textnorm import normalize

SUFFIXES = {".txt", ".html", ".htm", ".jsonl"}
MANIFEST = "manifest.csv"


@dataclass
class Article:
    article_id: str
    source: str
    text: str
    title: str | None = None
    published: str | None = None
    language: str | None = None
    outlet: str | None = None
    url: str | None = None
    encoding: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Rejected:
    source: str
    reason: str
    detail: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass
class Ingested:
    articles: list[Article]
    rejected: list[Rejected]  # inputs that are not (usable) articles, each with its reason
    inputs: list[str] = field(default_factory=list)  # every file found, to prove all are accounted for
    problems: list[Rejected] = field(default_factory=list)  # not articles: a bad manifest


class DecodeError(ValueError):
    pass


# --- decoding -----------------------------------------------------------------------

_ARABIC = re.compile(r"[\u0621-\u064A]")
_LETTER = re.compile(r"[^\W\d_]")


def _arabic_share(text: str) -> float:
    letters = len(_LETTER.findall(text))
    return len(_ARABIC.findall(text)) / letters if letters else 0.0


def _controls(text: str) -> int:
    return sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")


def _utf16_order(raw: bytes) -> str | None:
    """UTF-16 without a BOM: the high byte of ASCII is 0x00 and of Arabic 0x06, in every other byte."""
    if len(raw) < 4 or len(raw) % 2:
        return None
    for enc, high in (("utf-16-le", raw[1::2]), ("utf-16-be", raw[0::2])):
        if sum(1 for b in high if b in (0, 6)) >= 0.9 * len(high) and high.count(0) > 0:
            return enc
    return None


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 or a single-byte encoding such as Windows-1256.

    Detected from the bytes, not assumed; raises DecodeError when nothing fits.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    utf16 = _utf16_order(raw)
    if utf16:
        try:
            text = raw.decode(utf16)
        except UnicodeDecodeError as e:
            raise DecodeError(f"looks like UTF-16 but is not: {e}") from e
        if _controls(text) == 0:
            return text, utf16
        raise DecodeError("binary content (NUL bytes), not a text file")
    try:
        text = raw.decode("utf-8")
        if _controls(text) > max(2, len(text) // 100):
            raise DecodeError("binary content (control characters), not a text file")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: single-byte Arabic encodings are common on Arabic sites.
    for enc in ("cp1256", "iso8859-6"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if _arabic_share(text) > 0.5 and _controls(text) == 0:
            return text, enc
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None and best.chaos < 0.2:
        text = str(best)
        if _controls(text) == 0:
            return text, best.encoding
    raise DecodeError("not valid UTF-8 or UTF-16, and no single-byte encoding gives readable text")


# --- cleaning -----------------------------------------------------------------------


@cache
def _debris() -> tuple[re.Pattern, re.Pattern]:
    spec = load_yaml("boilerplate.yaml")
    cut = re.compile(rf"^\W*(?:{'|'.join(spec['cut'])})\W*$")
    line = re.compile(rf"^\W*(?:{'|'.join(spec['line'])})\W*$")
    return cut, line


def clean_text(text: str) -> str:
    """Normalise line ends and drop web debris (comment forms, related-article blocks...)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    cut, line = _debris()
    lines = [ln.rstrip() for ln in text.split("\n")]
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    half = nonempty[len(nonempty) // 2] if nonempty else 0
    kept: list[str] = []
    for i, ln in enumerate(lines):
        folded = normalize(ln)
        if folded and i >= half and cut.match(folded):
            break
        if folded and (line.match(folded) or (len(folded) < 40 and cut.match(folded))):
            continue
        kept.append(ln)
    out = "\n".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


# --- HTML ---------------------------------------------------------------------------


class _MainText(HTMLParser):
    """Text of block elements, skipping scripts, navigation, headers, footers and forms."""

    SKIP = {
        "script",
        "style",
        "noscript",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "button",
        "select",
        "svg",
        "iframe",
        "template",
        "figure",
    }
    BLOCK = {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "br",
        "tr",
        "blockquote",
        "section",
        "article",
        "main",
        "pre",
        "dd",
        "dt",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self._in_title = False
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title" and not self.skip:
            self._in_title = True
        elif tag == "h1":
            self._in_h1 = True
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag == "h1":
            self._in_h1 = False
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)
            return
        if self.skip:
            return
        if self._in_h1:
            self.h1.append(data)
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str | None, str]:
    parser = _MainText()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.parts)
    paras = [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", raw)]
    text = "\n\n".join(p for p in paras if p)
    title = " ".join("".join(parser.h1).split()) or " ".join("".join(parser.title).split()) or None
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return title, text


# --- metadata -----------------------------------------------------------------------


def detect_language(text: str) -> str | None:
    """ar or en by script; other Latin-script text is 'und' (undetermined) rather than a guess."""
    letters = _LETTER.findall(text[:5000])
    if not letters:
        return None
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    if arabic / len(letters) > 0.5:
        return "fa" if re.search(r"[پچژگ]", text[:5000]) and "ة" not in text[:5000] else "ar"
    english = len(re.findall(r"\b(?:the|and|of|to|in|said|a)\b", text[:5000], re.I))
    words = len(re.findall(r"\w+", text[:5000])) or 1
    return "en" if english / words > 0.08 else "und"


def article_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _first_line(text: str) -> str | None:
    for ln in text.split("\n"):
        if ln.strip():
            return ln.strip()
    return None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _meta_date(value: object) -> str | None:
    if not value:
        return None
    m = _DATE.match(str(value).strip())
    return m.group(0) if m else None


def _clean(value: object) -> str | None:
    s = str(value).strip() if value is not None else ""
    return s or None


# --- walking ------------------------------------------------------------------------


def discover(paths: Iterable[Path]) -> list[Path]:
    """Input files under the given paths, sorted, each once. Missing paths raise FileNotFoundError."""
    found: dict[Path, None] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith("."):
                    found[f.resolve()] = None
        else:
            found[p.resolve()] = None
    return list(found)


def read_manifest(folder: Path) -> dict[str, dict[str, str | None]]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    text, _ = decode(path.read_bytes())
    rows = csv.DictReader(text.splitlines())
    return {
        (row.get("file") or "").strip(): {k: _clean(v) for k, v in row.items() if k != "file"}
        for row in rows
        if row.get("file")
    }


def _records(path: Path, manifests: dict[Path, dict]) -> Iterator[Article | Rejected]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        yield Rejected(source, "unreadable", str(e))
        return
    try:
        text, encoding = decode(raw)
    except DecodeError as e:
        yield Rejected(source, "undecodable", str(e))
        return
    if path.parent not in manifests:
        try:
            manifests[path.parent] = read_manifest(path.parent)
        except DecodeError as e:
            manifests[path.parent] = {}
            yield Rejected(str(path.parent / MANIFEST), "bad_manifest", str(e), meta={"problem": True})
    meta = manifests[path.parent].get(path.name, {})
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records = 0
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            records += 1
            where = f"{source}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                yield Rejected(where, "invalid_json", f"line {lineno}: {e.msg} (column {e.colno})")
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
                yield Rejected(where, "missing_text", f"line {lineno}: no string field 'text'")
                continue
            # The record's own metadata wins over the manifest's, where it has any.
            own = {k: rec[k] for k in ("title", "url", "published", "outlet", "language", "id") if rec.get(k)}
            yield _article(where, rec["text"], encoding, {**meta, **own})
        if not records:
            yield Rejected(source, "empty", "no records in the file")
        return
    title = None
    if suffix in {".html", ".htm"}:
        title, text = html_to_text(text)
    yield _article(source, text, encoding, {**meta, "title": title})


def _article(source: str, text: str, encoding: str, meta: dict) -> Article | Rejected:
    cleaned = clean_text(text)
    if not cleaned:
        return Rejected(source, "empty", "no text left after removing web debris")
    return Article(
        article_id=_clean(meta.get("id")) or article_id(cleaned),
        source=source,
        text=cleaned,
        title=_clean(meta.get("title")) or _first_line(cleaned),
        published=_meta_date(meta.get("published")),
        language=_clean(meta.get("language")) or detect_language(cleaned),
        outlet=_clean(meta.get("outlet")),
        url=_clean(meta.get("url")),
        encoding=encoding,
    )


def ingest(paths: Iterable[Path]) -> Ingested:
    """Read every input; duplicates (same cleaned text) are quarantined with a pointer to the first."""
    result = Ingested([], [])
    seen: dict[str, str] = {}  # content hash -> first source
    manifests: dict[Path, dict] = {}
    for path in discover(paths):
        result.inputs.append(str(path))
        for rec in _records(path, manifests):
            if isinstance(rec, Rejected):
                (result.problems if rec.meta.get("problem") else result.rejected).append(rec)
                continue
            content = article_id(rec.text)  # a caller's own id does not make two texts different
            if content in seen:
                result.rejected.append(Rejected(rec.source, "duplicate", f"same text as {seen[content]}"))
            else:
                seen[content] = rec.source
                result.articles.append(rec)
    return result
