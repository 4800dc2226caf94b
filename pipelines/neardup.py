"""Near-duplicate articles: the same story reprinted, found before extraction so it is extracted once.

In: a batch's articles to extract, and a look-up of stored articles by band key. Out: ``Links``:
each article's signature and band keys (stored with it, so that later batches find it) and, for each
near-duplicate, the article whose extraction it reuses. Its events are then that article's, each
quote re-anchored in the copy's own text (``copy_events``), so the copy counts as one more source of
each event.

Two articles are near-duplicates when the Jaccard similarity of their word 3-shingles (of the folded
text, so orthographic variants do not matter) is at least ``THRESHOLD`` (estimated first from their
MinHash signatures, datasketch's affine32 scheme, then counted for the few above it), and every
sentence of the copy that may state an event is (but for a word or two) in the original too: a
reprint with a paragraph of its own is extracted itself, so nothing it adds is lost. Candidates come
from locality-sensitive hashing: the signature cut into ``BANDS`` bands whose hashes are a column of
the store, so finding them among every stored article is one Arrow membership test per batch, not an
index built again each time; the stored signatures then tell the near-duplicates from the rest.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from pipelines.textnorm import fold, ground

NUM_PERM = 128  # the estimate's error is about 0.04 near the threshold
BANDS, ROWS = 32, 4  # BANDS * ROWS == NUM_PERM: most pairs above about 0.45 become candidates
THRESHOLD = 0.6  # of the whole text: a short wire story with its own headline and a paragraph cut
SENTENCE = 0.8  # of one sentence: the same sentence but for a word or two (a dateline of its own)
SEED = 1
_WORD = re.compile(r"[^\W_]+")


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for ``SEED``: h -> a*h + b mod 2**32, ``a`` odd."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(fold(text).text)
    return {" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))}


def signature(text: str) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` values) of the word 3-shingles of the folded text: the
    values ``datasketch.MinHash(NUM_PERM, seed=SEED, scheme="affine32")`` gives for them (a test holds
    it to that). Computed here in numpy because importing datasketch imports SciPy, 0.75 s and 55 MB
    of every build's start for nothing this uses."""
    shingles = _shingles(text)
    hv = np.fromiter(
        (int.from_bytes(hashlib.sha1(s).digest()[:4], "little") for s in shingles),
        dtype=np.uint32,
        count=len(shingles),
    ).reshape(-1, 1)
    # The MurmurHash3 finalizer datasketch mixes each hash with, in wrapping uint32 arithmetic.
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    a, b = _permutations()
    return (hv * a + b).min(axis=0)


def band_keys(sig: np.ndarray) -> list[int]:
    """The signature's band hashes as signed 64-bit integers (a store column)."""
    out = []
    for b in range(BANDS):
        digest = hashlib.blake2b(bytes([b]) + sig[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8)
        out.append(int.from_bytes(digest.digest(), "little", signed=True))
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def _body(text: str) -> list[tuple[int, int]]:
    """The sentences of an article after its first line (the title: a reprint gets its own)."""
    from pipelines.segment import sentences

    title = text.find("\n")
    return [(s, e) for s, e in sentences(text) if title >= 0 and s > title]


def _copies(original: str, copy_text: str) -> bool:
    a, b = _shingles(original), _shingles(copy_text)
    return len(a & b) >= THRESHOLD * len(a | b) and _covers(a, copy_text)


def _covers(whole: set[bytes], copy_text: str) -> bool:
    """Whether every sentence of ``copy_text``'s body that may state an event is, but for a word or
    two, in the original whose shingles are ``whole``: most (``SENTENCE``) of its word 3-shingles are
    the original's."""
    from pipelines.extract import possible_event

    for s, e in _body(copy_text):
        sentence = copy_text[s:e]
        if possible_event(sentence):
            own = _shingles(sentence)
            if len(own & whole) < SENTENCE * len(own):
                return False
    return True


def _anchor(quote: str, text: str, folded, sentences: list[tuple[int, int, set[bytes]]]):
    """Where ``quote`` is in ``text``: itself (exactly or folded), else the sentence that says it but
    for a word or two (a reprint's own dateline), else None."""
    span = ground(quote, text, folded)
    if span:
        return span
    own = _shingles(quote)
    best = max(sentences, key=lambda x: len(own & x[2]), default=None)
    if best and len(own & best[2]) >= SENTENCE * len(own):
        return best[0], best[1]
    return None


@dataclass
class Links:
    keys: dict[str, list[int]] = field(default_factory=dict)  # article id -> band keys
    signatures: dict[str, bytes] = field(default_factory=dict)  # article id -> its signature, stored
    copy_of: dict[str, str] = field(default_factory=dict)  # near-duplicate's id -> its original's id
    stored: dict[str, list[dict]] = field(default_factory=dict)  # a stored original's id -> its mentions


@dataclass
class Stored:
    """How ``link`` sees the store: ``similar(keys)`` gives the stored articles sharing a band key
    (their ids, signatures as rows of a uint32 array and band keys as rows of an int64 array);
    ``load(ids)`` gives their text and mentions by id."""

    similar: Callable[[set[int]], tuple[list[str], np.ndarray, np.ndarray]]
    load: Callable[[set[str]], dict[str, tuple[str, list[dict]]]]


class _Index:
    """Signatures by band key, scored against a new signature in one numpy comparison.

    Two parts: the stored candidates, given at once (``extend``) and kept as band keys sorted in one
    array, looked up by binary search; and the batch's originals, added one by one (``add``) into a
    dict. Stories retold by many articles share bands with tens of thousands of stored ones, which a
    Python loop over their keys would add one by one."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.bands: dict[int, list[int]] = {}  # band key -> positions in ids (the ones added)
        self._flat = np.empty(0, dtype=np.int64)  # the extended rows' band keys, sorted
        self._at = np.empty(0, dtype=np.int64)  # the position in ids of each of those
        # The signatures as rows of one array (grown by doubling), indexed per look-up.
        self._sigs = np.empty((0, NUM_PERM), dtype=np.uint32)
        self._n = 0

    def _grow(self, more: int) -> None:
        if self._n + more > len(self._sigs):
            grown = np.empty((max(64, 2 * len(self._sigs), self._n + more), NUM_PERM), dtype=np.uint32)
            grown[: self._n] = self._sigs[: self._n]
            self._sigs = grown

    def extend(self, ids: list[str], sigs: np.ndarray, keys: np.ndarray) -> None:
        """Many at once: ``sigs`` and ``keys`` have a row per id."""
        if not ids:
            return
        self._grow(len(ids))
        self._sigs[self._n : self._n + len(ids)] = sigs
        flat = np.concatenate([self._flat, keys.ravel()])
        at = np.concatenate([self._at, np.repeat(np.arange(self._n, self._n + len(ids)), keys.shape[1])])
        order = np.argsort(flat, kind="stable")
        self._flat, self._at = flat[order], at[order]
        self.ids.extend(ids)
        self._n += len(ids)

    def add(self, article_id: str, sig: np.ndarray, keys: list[int]) -> None:
        self._grow(1)
        self._sigs[self._n] = sig
        for k in keys:
            self.bands.setdefault(k, []).append(self._n)
        self.ids.append(article_id)
        self._n += 1

    def scores(self, sig: np.ndarray, keys: list[int]) -> dict[str, float]:
        """Estimated similarity to each signature sharing a band key, for those at ``THRESHOLD`` or
        above (the only ones a link can follow)."""
        found = [np.asarray(self.bands[k], dtype=np.int64) for k in keys if k in self.bands]
        if len(self._flat):
            wanted = np.asarray(keys, dtype=np.int64)
            lo = np.searchsorted(self._flat, wanted, "left")
            hi = np.searchsorted(self._flat, wanted, "right")
            found += [self._at[i:j] for i, j in zip(lo, hi, strict=True) if j > i]
        if not found:
            return {}
        at = np.unique(np.concatenate(found))
        sims = (self._sigs[at] == sig).mean(axis=1)
        close = np.flatnonzero(sims >= THRESHOLD)
        return {self.ids[at[i]]: float(sims[i]) for i in close}


def link(articles: list, stored: Stored | None = None) -> Links:
    """Find the near-duplicates among ``articles`` (in order: the first of a story is its original)
    and between them and the ``stored`` articles."""
    links = Links()
    sigs = {a.article_id: signature(a.text) for a in articles}
    for a in articles:
        links.keys[a.article_id] = band_keys(sigs[a.article_id])
        links.signatures[a.article_id] = sigs[a.article_id].tobytes()
    texts = {a.article_id: a.text for a in articles}
    stored_index, batch = _Index(), _Index()
    if stored and articles:
        stored_index.extend(*stored.similar(set().union(*links.keys.values())))
    # Scored against the stored candidates first, so the few stored texts needed are read at once.
    scores = {
        a.article_id: stored_index.scores(sigs[a.article_id], links.keys[a.article_id]) for a in articles
    }
    wanted = {c for sc in scores.values() for c, v in sc.items() if v >= THRESHOLD and c not in texts}
    loaded = stored.load(wanted) if wanted and stored else {}
    for a in articles:
        sig = sigs[a.article_id]
        found = {**scores[a.article_id], **batch.scores(sig, links.keys[a.article_id])}
        found.pop(a.article_id, None)
        close = sorted((v, c) for c, v in found.items() if v >= THRESHOLD)[::-1]
        # The estimate picks the few; their shingles decide.
        best = next(
            (c for _, c in close if _copies(texts[c] if c in texts else loaded.get(c, ("", []))[0], a.text)),
            None,
        )
        if best:
            links.copy_of[a.article_id] = best
            if best not in texts:
                links.stored[best] = loaded[best][1]
        else:  # an original: later articles of the batch may be its copies
            batch.add(a.article_id, sig, links.keys[a.article_id])
    return links


def copy_events(original: list[dict], copy_article) -> list[dict]:
    """The ``original``'s events as the copy's own: every quote re-anchored in the copy's text (the
    same words, or the copy's sentence that says it but for a word or two). An event with a quote the
    copy does not have is left out (nothing is invented)."""
    from pipelines.segment import sentences

    text = copy_article.text
    folded = fold(text)
    spans = [(s, e, _shingles(text[s:e])) for s, e in sentences(text)]
    out = []
    for ev in original:
        mine = copy.deepcopy(ev)
        found = [_anchor(x["quote"], text, folded, spans) for x in mine["evidence"]]
        if not mine["evidence"] or any(f is None for f in found):
            continue
        for x, (s, e) in zip(mine["evidence"], found, strict=True):
            x.update(article_id=copy_article.article_id, start=s, end=e, quote=text[s:e])
        for k in ("event_id", "source_count"):
            mine.pop(k, None)
        out.append(mine)
    return out
