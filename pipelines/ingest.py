"""Read input files into clean articles; anything unreadable is quarantined, never dropped.

In: paths (folders are walked recursively) to ``.txt``, ``.html``/``.htm`` and
``.jsonl`` files, with an optional ``manifest.csv`` per folder giving
``file,published,language,outlet,url``.
Out: ``Article`` records (stable content-hash id, cleaned text that evidence
offsets point into, metadata, warnings about bad metadata or bytes, what the
web-debris rules removed) and ``Rejected`` records (source + reason) for every
other path met under an input root: unsupported types, links out of the input,
loops, unreadable files and folders, oversized articles, bad JSONL lines.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from pipelines.data import load_yaml
from pipelines.textnorm import normalize

SUFFIXES = {".txt", ".html", ".htm", ".jsonl"}
MANIFEST = "manifest.csv"
DEFAULT_MAX_ARTICLE_CHARS = 1_000_000
# A single-article file this many times the character limit is refused unread (HTML markup included).
_FILE_BYTES_PER_CHAR = 16


def max_article_chars() -> int:
    """Longest article text read (EVENTBUILDER_MAX_ARTICLE_CHARS, default 1,000,000 characters)."""
    from pipelines.outdir import env_number

    return max(1, int(env_number("EVENTBUILDER_MAX_ARTICLE_CHARS", DEFAULT_MAX_ARTICLE_CHARS)))


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
    warnings: list[str] = field(default_factory=list)  # bad metadata or bytes, each with where it was
    removed: list[str] = field(default_factory=list)  # what the web-debris rules took out
    removed_chars: int = 0
    key: str = ""  # identity across runs: the caller's id ("id:..."), else the source

    def __post_init__(self) -> None:
        self.key = self.key or self.source

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: its recursive deep copy was a tenth of publishing 10,000 articles.
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "key"}
        d["warnings"], d["removed"] = list(self.warnings), list(self.removed)
        return d


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
    inputs: list[str] = field(default_factory=list)  # every path met, to prove all are accounted for
    problems: list[Rejected] = field(default_factory=list)  # not articles: a bad manifest
    ignored: list[str] = field(default_factory=list)  # hidden files and folders, not read
    full_refresh: bool = False  # the dataset becomes exactly these inputs (else they are added to it)


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


def _bad_utf8_bytes(raw: bytes) -> int:
    """How many bytes are not valid UTF-8 (each becomes one lone surrogate under surrogateescape)."""
    return sum(1 for c in raw.decode("utf-8", errors="surrogateescape") if "\udc80" <= c <= "\udcff")


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 or a single-byte encoding such as Windows-1256.

    Detected from the bytes, not assumed; raises DecodeError when nothing fits.
    """
    return decode_with_warnings(raw)[:2]


def decode_with_warnings(raw: bytes) -> tuple[str, str, list[str]]:
    """``decode``, plus what was repaired: UTF-8 but for a few bad bytes is read as UTF-8 with
    U+FFFD in their place (rather than as a single-byte encoding's gibberish), and says so."""
    try:
        text, encoding = _decode(raw)
        return text, encoding, []
    except _MostlyUtf8 as e:
        text = raw.decode("utf-8", errors="replace")
        return text, "utf-8", [f"{e.bad} invalid UTF-8 byte(s) replaced with U+FFFD"]


class _MostlyUtf8(Exception):
    def __init__(self, bad: int) -> None:
        self.bad = bad


def _decode(raw: bytes) -> tuple[str, str]:
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
    bad = _bad_utf8_bytes(raw)
    if bad <= max(8, len(raw) // 1000):
        # A damaged UTF-8 file, not a single-byte one: Windows-1256 Arabic is almost all bad UTF-8.
        if _controls(raw.decode("utf-8", errors="replace")) > max(2, len(raw) // 100):
            raise DecodeError("binary content (control characters), not a text file")
        raise _MostlyUtf8(bad)
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


@dataclass
class Cleaned:
    text: str
    removed: list[str]  # one entry per debris line dropped or tail cut, with the characters it took
    removed_chars: int


def _short(line: str, n: int = 60) -> str:
    line = " ".join(line.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def clean(text: str) -> Cleaned:
    """Normalise line ends and drop web debris (comment forms, related-article blocks...).

    A "related / see also" line in the second half cuts everything after it, unless that tail
    still holds a possible event (then only the line goes): an article is never cut silently.
    """
    from pipelines.extract import possible_event

    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    cut, line = _debris()
    lines = [ln.rstrip() for ln in text.split("\n")]
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    half = nonempty[len(nonempty) // 2] if nonempty else 0
    kept: list[str] = []
    removed: list[str] = []
    removed_chars = 0
    tail_has_event: list[bool] | None = None  # per line: a possible event in this line or after it
    for i, ln in enumerate(lines):
        folded = normalize(ln)
        if folded and i >= half and cut.match(folded):
            if tail_has_event is None:
                tail_has_event = [False] * (len(lines) + 1)
                for j in range(len(lines) - 1, i, -1):
                    tail_has_event[j] = tail_has_event[j + 1] or possible_event(lines[j])
            if not tail_has_event[i + 1]:
                tail = sum(len(x) + 1 for x in lines[i:])
                removed.append(f"cut: {_short(ln)!r} and the {tail - len(ln) - 1} characters after it")
                removed_chars += tail
                break
            removed.append(f"line: {_short(ln)!r} (the text after it holds a possible event: kept)")
            removed_chars += len(ln)
            continue
        if folded and (line.match(folded) or (len(folded) < 40 and cut.match(folded))):
            removed.append(f"line: {_short(ln)!r}")
            removed_chars += len(ln)
            continue
        kept.append(ln)
    out = "\n".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return Cleaned(out.strip(), removed, removed_chars)


def clean_text(text: str) -> str:
    """The cleaned text alone (see ``clean``)."""
    return clean(text).text


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

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
    # Elements a browser closes when the same one opens again (<p>one<p>two).
    SELF_CLOSING_SIBLINGS = {"p", "li", "dt", "dd", "tr", "td", "th", "option"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # open elements: (tag, skipped with its content)
        self.skip = 0
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self._in_title = False
        self._in_h1 = False

    @staticmethod
    def hidden(attrs: list[tuple[str, str | None]]) -> bool:
        """Hidden from readers: the hidden attribute, aria-hidden="true", display:none, visibility:hidden."""
        a = {k.lower(): (v or "") for k, v in attrs}
        style = re.sub(r"\s+", "", a.get("style", "").lower())
        return (
            "hidden" in a
            or a.get("aria-hidden", "").strip().lower() == "true"
            or "display:none" in style
            or "visibility:hidden" in style
        )

    def _pop(self) -> None:
        _, skipped = self.stack.pop()
        if skipped:
            self.skip -= 1

    # Block elements that close an open <p>, as a browser does (<p hidden>x<div>shown</div>).
    CLOSE_P = {
        "div",
        "section",
        "article",
        "main",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "blockquote",
        "pre",
        "form",
        "header",
        "footer",
        "nav",
        "aside",
        "figure",
        "hr",
        "dl",
        "p",
    }

    def handle_starttag(self, tag, attrs):
        if tag in self.SELF_CLOSING_SIBLINGS and self.stack and self.stack[-1][0] == tag:
            self._pop()
        elif tag in self.CLOSE_P and self.stack and self.stack[-1][0] == "p":
            self._pop()
        if tag not in self.VOID:
            skipped = tag in self.SKIP or self.hidden(attrs)
            self.stack.append((tag, skipped))
            if skipped:
                self.skip += 1
        if self.skip:
            return
        if tag == "title":
            self._in_title = True
        elif tag == "h1":
            self._in_h1 = True
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if not self.skip and tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.stack):
            while self.stack:
                top = self.stack[-1][0]
                self._pop()
                if top == tag:
                    break
        if tag == "title":
            self._in_title = False
        elif tag == "h1":
            self._in_h1 = False
        if tag in self.BLOCK and not self.skip:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.skip:
            return
        if self._in_title:
            self.title.append(data)
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
    """ar or fa by script; a Latin-script language by its commonest words (en, fr, es, pt, de, it, tr);
    'und' (undetermined) rather than a guess."""
    letters = _LETTER.findall(text[:5000])
    if not letters:
        return None
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    if arabic / len(letters) > 0.5:
        return "fa" if re.search(r"[پچژگ]", text[:5000]) and "ة" not in text[:5000] else "ar"
    words = [w.lower() for w in re.findall(r"\w+", text[:5000])]
    if not words:
        return "und"
    share = {lang: sum(w in common for w in words) / len(words) for lang, common in _COMMON.items()}
    best = max(share, key=share.get)
    return best if share[best] > 0.08 else "und"


# The commonest short words of the Latin-script languages news comes in: enough to tell them apart,
# and to say which language an article is in when the embedded extractor cannot read it.
_COMMON = {
    "en": frozenset("the and of to in said a is that for on was with by".split()),
    "fr": frozenset("le la les des du et à est une un que dans pour sur au aux par qui a été".split()),
    "es": frozenset("el la los las de del y en que por con para una un es se al".split()),
    "pt": frozenset("o a os as de do da dos das e em que por com para uma um é não no na".split()),
    "de": frozenset("der die das und den des dem ist nicht mit von zu im auf für ein eine".split()),
    "it": frozenset("il la le di del della e che per con un una è non nel alla gli".split()),
    "tr": frozenset("ve bir bu da de ile için olarak olan ama gibi daha çok en ne".split()),
}


def article_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def source_file(source: str) -> str:
    """The file a source names: a JSONL record's or manifest row's ``path:line`` without the line."""
    head, _, tail = source.rpartition(":")
    return head if head and tail.isdigit() else source


# A publication date written at the top of a page ("date 2023-04-13", "Published: 2022-11-02"): a
# full ISO date only, within the text's first characters.
_LEADING_DATE = re.compile(
    r"^\W{0,3}(?:date|published(?: on)?|publi[ée](?: le)?|تاريخ النشر)\W{0,3}(\d{4}-\d{2}-\d{2})(?!\d|-)",
    re.IGNORECASE,
)


def _leading_date(text: str) -> str | None:
    m = _LEADING_DATE.match(text[:60])
    if not m:
        return None
    try:
        return _meta_date(m[1])
    except ValueError:
        return None


def _first_line(text: str) -> str | None:
    for ln in text.split("\n"):
        if ln.strip():
            return ln.strip()
    return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_LANG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
TEXT_FIELDS = ("title", "url", "outlet", "language", "id")


def _meta_date(value: object) -> str | None:
    """An ISO date (``YYYY-MM-DD``, a time after it allowed) that exists; anything else raises ValueError."""
    s = str(value).strip()
    m = _ISO_DATE.match(s)
    if not m:
        raise ValueError(f"{s!r} is not a date in YYYY-MM-DD form")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise ValueError(f"{s!r} is not a real date") from None


def _clean(value: object) -> str | None:
    s = str(value).strip() if value is not None else ""
    return s or None


def check_meta(meta: dict, where: str) -> tuple[dict, list[str]]:
    """Keep the metadata fields that are what they should be; say why each other one was ignored.

    ``where`` names the origin in the warnings (``manifest.csv:4``, ``a.jsonl:7``).
    """
    out: dict = {}
    warnings: list[str] = []
    for key in (*TEXT_FIELDS, "published"):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            kind = type(value).__name__
            warnings.append(f"{where}: {key} should be text, not a {kind}: ignored")
            continue
        if key == "id" and isinstance(value, float):
            warnings.append(f"{where}: id should be text or an integer, not {value!r}: ignored")
            continue
        if key == "published":
            try:
                out[key] = _meta_date(value)
            except ValueError as e:
                warnings.append(f"{where}: published {e}: ignored")
            continue
        if key == "language" and not _LANG.match(str(value).strip()):
            warnings.append(f"{where}: language {str(value)[:40]!r} is not a language code: detected instead")
            continue
        out[key] = _clean(value)
    return out, warnings


# --- walking ------------------------------------------------------------------------


@dataclass
class Walk:
    """What a walk over the input roots met: files to read, other paths with their reason, hidden ones."""

    files: list[Path] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def walk(paths: Iterable[Path], exclude: Iterable[Path] = ()) -> Walk:
    """Every path under the given roots, sorted: regular files with a supported suffix to read, and
    for every other path met a ``Rejected`` with its reason (``unsupported_type``, ``unreadable``,
    ``link_outside_input``, ``link_not_followed``); hidden names are listed as ignored.

    File links are followed only when their target is inside an input root; folder links never are.
    ``exclude``: folders not to enter (the output folder). Missing roots raise FileNotFoundError.
    """
    out = Walk()
    seen: set[Path] = set()
    roots = [Path(p) for p in paths]
    for p in roots:
        if not p.exists() and not p.is_symlink():
            raise FileNotFoundError(f"{p}: no such file or folder")
    real_roots = [r.resolve() for r in roots if r.is_dir()]
    skip_dirs = {Path(x).resolve() for x in exclude}

    def reject(path: Path, reason: str, detail: str) -> None:
        out.rejected.append(Rejected(str(path.absolute()), reason, detail))

    def add_file(path: Path, real: Path, explicit: bool) -> None:
        if real in seen:
            return
        seen.add(real)
        if path.name == MANIFEST and not explicit:
            return  # read as its folder's metadata
        if real.suffix.lower() not in SUFFIXES:
            supported = ", ".join(sorted(SUFFIXES))
            reject(
                path, "unsupported_type", f"{real.suffix or 'no suffix'}: not read (supported: {supported})"
            )
            return
        out.files.append(real)

    def visit(path: Path, explicit: bool = False) -> None:
        if not explicit and path.name.startswith("."):
            out.ignored.append(str(path.absolute()))
            return
        if path.is_symlink():
            try:
                real = path.resolve(strict=True)
            except FileNotFoundError:
                reject(path, "unreadable", f"dangling link to {os.readlink(path)}")
                return
            except (OSError, RuntimeError):
                reject(path, "unreadable", "symlink loop")
                return
            if real.is_dir():
                if not explicit:
                    reject(
                        path, "link_not_followed", f"link to the folder {real}: folder links are not followed"
                    )
                    return
            elif not explicit and not _inside(real, real_roots):
                reject(path, "link_outside_input", f"link to {real}, outside the input folders: not read")
                return
        try:
            st = path.stat()
        except OSError as e:
            reject(path, "unreadable", e.strerror or str(e))
            return
        if stat.S_ISDIR(st.st_mode):
            real = path.resolve()
            if real in skip_dirs:
                out.ignored.append(str(path.absolute()))
                return
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as e:
                reject(path, "unreadable", f"folder cannot be listed: {e.strerror or e}")
                return
            for entry in entries:
                visit(Path(entry.path))
        elif stat.S_ISREG(st.st_mode):
            add_file(path, path.resolve(), explicit)
        else:
            reject(path, "unsupported_type", f"{_kind(st.st_mode)}: not read")

    for p in roots:
        visit(p, explicit=True)
    return out


def discover(paths: Iterable[Path]) -> list[Path]:
    """Input files under the given paths, sorted, each once. Missing paths raise FileNotFoundError."""
    return walk(paths).files


@dataclass
class Manifest:
    rows: dict[str, dict] = field(default_factory=dict)  # file name -> metadata
    lines: dict[str, int] = field(default_factory=dict)  # file name -> line in manifest.csv
    problems: list[Rejected] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def read_manifest(folder: Path) -> Manifest:
    """``manifest.csv`` of a folder; what cannot be read becomes a problem, never an exception."""
    path = folder / MANIFEST
    out = Manifest()
    if not path.is_file():
        return out
    where = str(path.absolute())
    try:
        text, _ = decode(path.read_bytes())
        reader = csv.DictReader(text.split("\n"))
        fields = reader.fieldnames or []
        if "file" not in fields:
            out.problems.append(
                Rejected(where, "bad_manifest", f"no 'file' column (columns: {', '.join(fields) or 'none'})")
            )
            return out
        for row in reader:
            name = (row.get("file") or "").strip()
            if not name:
                if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    out.problems.append(
                        Rejected(f"{where}:{reader.line_num}", "bad_manifest", "row without a file name")
                    )
                continue
            where_row = f"{where}:{reader.line_num}"
            if row.get(None):  # csv puts fields beyond the header under None
                out.problems.append(
                    Rejected(
                        where_row, "bad_manifest", "more fields than the header: the extra ones are ignored"
                    )
                )
            if "/" in name or "\\" in name:
                out.problems.append(
                    Rejected(
                        where_row,
                        "bad_manifest",
                        f"names {name!r}: a manifest describes its own folder's files",
                    )
                )
                continue
            if name in out.rows:
                out.problems.append(
                    Rejected(
                        where_row,
                        "bad_manifest",
                        f"names {name!r} again (line {out.lines[name]}): row ignored",
                    )
                )
                continue
            out.rows[name] = {k: v for k, v in row.items() if k and k != "file"}
            out.lines[name] = reader.line_num
    except (OSError, DecodeError, csv.Error) as e:
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        out.problems.append(Rejected(where, "bad_manifest", f"cannot be read: {detail}"))
    return out


_MANIFESTS: dict[Path, Manifest] = {}  # the manifests of the ingest in progress, for _read_files


def _read_files(paths: list[Path]) -> list[list[Article | Rejected]]:
    """The records of each file (in a worker process: manifest problems are the caller's to report)."""
    return [
        [r for r in _read(p, _MANIFESTS) if not (isinstance(r, Rejected) and r.meta.get("problem"))]
        for p in paths
    ]


def _read(path: Path, manifests: dict[Path, Manifest]) -> Iterator[Article | Rejected]:
    source = str(path)
    if path.parent not in manifests:
        manifests[path.parent] = read_manifest(path.parent)
        yield from (
            Rejected(r.source, r.reason, r.detail, {"problem": True}) for r in manifests[path.parent].problems
        )
    manifest = manifests[path.parent]
    meta, warnings = {}, []
    if path.name in manifest.rows:
        manifest.used.add(path.name)
        where = f"{path.parent / MANIFEST}:{manifest.lines[path.name]}"
        meta, warnings = check_meta(manifest.rows[path.name], where)
    limit = max_article_chars()
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if suffix != ".jsonl" and size > limit * _FILE_BYTES_PER_CHAR:
            yield Rejected(
                source,
                "too_large",
                f"{size / 1e6:.1f} MB file, over the limit for one article "
                f"(EVENTBUILDER_MAX_ARTICLE_CHARS={limit}): not read",
            )
            return
        raw = path.read_bytes()
    except OSError as e:
        yield Rejected(source, "unreadable", e.strerror or str(e))
        return
    try:
        text, encoding, decode_warnings = decode_with_warnings(raw)
    except DecodeError as e:
        yield Rejected(source, "undecodable", str(e))
        return
    warnings += [f"{source}: {w}" for w in decode_warnings]
    if suffix == ".jsonl":
        yield from _jsonl(source, text, encoding, meta, warnings)
        return
    title = None
    if suffix in {".html", ".htm"}:
        title, text = html_to_text(text)
    yield _article(source, text, encoding, {**meta, "title": title or meta.get("title")}, warnings)


def _jsonl(
    source: str, text: str, encoding: str, meta: dict, warnings: list[str]
) -> Iterator[Article | Rejected]:
    records = 0
    # Only \n ends a record: U+2028, U+0085 and friends are legal inside JSON strings.
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        records += 1
        where = f"{source}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            yield Rejected(where, "invalid_json", f"line {lineno}: {e.msg} (column {e.colno})")
            continue
        except RecursionError:
            yield Rejected(where, "invalid_json", f"line {lineno}: nested too deeply to read")
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            yield Rejected(where, "missing_text", f"line {lineno}: no string field 'text'")
            continue
        # The record's own metadata wins over the manifest's, where it has any.
        own, own_warnings = check_meta(rec, where)
        yield _article(where, rec["text"], encoding, {**meta, **own}, [*warnings, *own_warnings])
    if not records:
        yield Rejected(source, "empty", "no records in the file")


def _article(source: str, text: str, encoding: str, meta: dict, warnings: list[str]) -> Article | Rejected:
    limit = max_article_chars()
    if len(text) > limit:
        return Rejected(
            source,
            "too_large",
            f"{len(text):,} characters, over the limit of {limit:,} (EVENTBUILDER_MAX_ARTICLE_CHARS)",
        )
    cleaned = clean(text)
    if not cleaned.text:
        return Rejected(source, "empty", "no text left after removing web debris")
    return Article(
        article_id=meta.get("id") or article_id(cleaned.text),
        source=source,
        text=cleaned.text,
        title=meta.get("title") or _first_line(cleaned.text),
        published=meta.get("published") or _leading_date(cleaned.text),
        language=meta.get("language") or detect_language(cleaned.text),
        outlet=meta.get("outlet"),
        url=meta.get("url"),
        encoding=encoding,
        warnings=warnings,
        removed=cleaned.removed,
        removed_chars=cleaned.removed_chars,
        key=f"id:{meta['id']}" if meta.get("id") else source,
    )


def ingest(paths: Iterable[Path], exclude: Iterable[Path] = ()) -> Ingested:
    """Read every input; every path met ends as an article or a rejection with its reason.

    Duplicates (same cleaned text) and records re-using an earlier record's id are quarantined
    with a pointer to the first. ``exclude``: folders not to walk into (the output).
    """
    return ingest_walk(walk(paths, exclude))


def split(found: Walk, size: int) -> list[Walk]:
    """A walk cut into batches of at most ``size`` files, in order; the paths met that are not files
    to read (rejected, hidden) go with the first batch. Always at least one batch."""
    size = max(1, size)
    parts = [found.files[i : i + size] for i in range(0, len(found.files), size)] or [[]]
    return [
        Walk(files, list(found.rejected), list(found.ignored)) if i == 0 else Walk(files)
        for i, files in enumerate(parts)
    ]


def ingest_walk(found: Walk) -> Ingested:
    """Read the files a walk found (see ``ingest``)."""
    from pipelines.workers import map_chunks

    result = Ingested([], list(found.rejected), ignored=found.ignored)
    result.inputs = [r.source for r in found.rejected]
    seen: dict[str, str] = {}  # content hash -> first source
    ids: dict[str, str] = {}  # article id -> first source
    # Every folder's manifest, read once here before any worker starts (forked workers share them).
    manifests = {folder: read_manifest(folder) for folder in dict.fromkeys(p.parent for p in found.files)}
    for manifest in manifests.values():
        result.problems += manifest.problems
    _MANIFESTS.clear()
    _MANIFESTS.update(manifests)
    # Reading, decoding and cleaning are per file, in worker processes for a large input; what
    # depends on the files read before (duplicates, ids) is decided here, in the files' order.
    for path, records in zip(found.files, map_chunks(_read_files, found.files), strict=True):
        result.inputs.append(str(path))
        if path.name in manifests[path.parent].rows:
            manifests[path.parent].used.add(path.name)
        for rec in records:
            if isinstance(rec, Rejected):
                result.rejected.append(rec)
                continue
            content = article_id(rec.text)  # a caller's own id does not make two texts different
            if content in seen:
                result.rejected.append(Rejected(rec.source, "duplicate", f"same text as {seen[content]}"))
            elif rec.article_id in ids:
                result.rejected.append(
                    Rejected(
                        rec.source,
                        "duplicate_id",
                        f"id {rec.article_id!r} is already {ids[rec.article_id]}'s",
                    )
                )
            else:
                seen[content] = rec.source
                ids[rec.article_id] = rec.source
                result.articles.append(rec)
    for folder, manifest in manifests.items():
        for name in sorted(set(manifest.rows) - manifest.used):
            if not (folder / name).exists():
                result.problems.append(
                    Rejected(
                        f"{folder / MANIFEST}:{manifest.lines[name]}",
                        "bad_manifest",
                        f"names {name!r}, which is not in the folder",
                    )
                )
    return result
