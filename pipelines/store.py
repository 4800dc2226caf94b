"""What an output folder has accumulated across runs: every article read, its state and its mentions.

In: the output folder; per run, the rows of the inputs it read. Out: one Delta Lake table,
``OUTPUT/store/``, one row per input key (a file path, a JSONL record's path and line, or a caller's
``id``) holding the article's published columns, its ``extraction_key``, the run that first stored it,
its normalised event mentions (JSON) and its quarantine rows (JSON). Each run upserts the keys it met
in one commit (Delta's own atomic commit; a killed run leaves the previous table version), so the
published tables are the union of everything the folder holds, and an unchanged article is never
extracted twice.

The ``extraction_key`` is a hash of the extractor's version (for the embedded extractor: its code, the
lexicons, the actor, place and date data; for a model: the model name, prompt and schema versions) and
of the article's text and metadata: a new lexicon, prompt or model, or a changed article, extracts again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pipelines.data import files_digest

STORE = "store"
EXTRA_COLUMNS = (
    "key",
    "kind",
    "extraction_key",
    "first_seen",
    "mentions",
    "rejected",
    "minhash",
    "near_keys",
)


@cache
def store_schema():
    import pyarrow as pa

    from pipelines.schema import arrow_schema

    base = arrow_schema("article")
    extra = [
        pa.field("key", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # article, or problem (a bad manifest row)
        pa.field("extraction_key", pa.string()),
        pa.field("first_seen", pa.string()),
        pa.field("mentions", pa.string()),
        pa.field("rejected", pa.string()),
        # The article's MinHash signature and its band keys: later batches find its reprints by them.
        pa.field("minhash", pa.binary()),
        pa.field("near_keys", pa.list_(pa.int64())),
    ]
    return pa.schema([*extra, *(f for f in base if f.name not in EXTRA_COLUMNS)])


def path(output: Path) -> Path:
    return Path(output) / STORE


# --- versions ----------------------------------------------------------------------


def normalization_version() -> str:
    """The code and data that turn an extractor's events into stored mentions."""
    return _normalization_version(os.environ.get("EVENTBUILDER_ACTORS", ""))


@cache
def _normalization_version(user_actors: str) -> str:
    # Once per process (and per EVENTBUILDER_ACTORS value), not once per article.
    root = Path(__file__).resolve().parent
    files = [
        *sorted(str(p) for p in (root / "data").glob("*.yaml")),
        *sorted(str(p) for p in (root / "normalize").glob("*.py")),
    ]
    files += [str(root / n) for n in ("validate.py", "textnorm.py", "segment.py", "merge.py")]
    files += [f for f in user_actors.split(":") if f]
    from pipelines.schema import schema_version

    return f"{schema_version()}:{files_digest(tuple(files))}"


def rules_version() -> str:
    root = Path(__file__).resolve().parent
    return f"rules:{files_digest((str(root / 'extract' / 'rules.py'),))}"


def extraction_key(extractor_version: str, article) -> str:
    material = json.dumps([extractor_version, normalization_version(), article.to_dict()], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:24]


# --- reading and writing ------------------------------------------------------------


def exists(output: Path) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(str(path(output)))


def _read(output: Path, columns: list[str] | None = None):
    """The table's current version as Arrow, read through pyarrow from the files Delta lists.

    Not DeltaTable.to_pyarrow_table(): its scanner's threads can outlive the interpreter and abort
    the process at exit (SIGABRT, "terminate called without an active exception"), which would turn
    a finished run into a failed exit status for a scheduler.
    """
    from pipelines.parquet import read_files

    schema = store_schema()
    return read_files(_files(output), columns or schema.names, schema)


def _files(output: Path) -> list[str]:
    """The Parquet files of the table's current version, as paths."""
    from urllib.parse import unquote

    from deltalake import DeltaTable

    # file_uris() percent-encodes (a space is %20); pyarrow wants the path itself.
    return [unquote(f.removeprefix("file://")) for f in DeltaTable(str(path(output))).file_uris()]


def table(output: Path, columns: list[str] | None = None):
    """Every stored row as one Arrow table (texts as Arrow buffers, not Python objects); ``columns``:
    only these."""
    if not exists(output):
        empty = store_schema().empty_table()
        return empty.select(columns) if columns else empty
    return _read(output, columns)


def version(output: Path) -> tuple | None:
    """The store's current version (None: no store yet): what was read from it is still what it
    holds while this stays the same."""
    if not exists(output):
        return None
    from deltalake import DeltaTable

    number = DeltaTable(str(path(output))).version()
    # The commit file's identity too: a store removed and made again restarts at version 0.
    commit = os.stat(path(output) / "_delta_log" / f"{number:020d}.json")
    return (number, commit.st_ino, commit.st_mtime_ns)


INDEX_COLUMNS = ["key", "kind", "article_id", "extraction_key", "state", "source", "first_seen", "run_id"]


def index(
    output: Path,
    keys: Iterable[str] | None = None,
    article_ids: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> dict[str, dict]:
    """key -> the stored row's article_id, extraction_key, state, source, first_seen and run_id (no
    texts), for the rows whose key is in ``keys``, whose article_id is in ``article_ids`` or whose
    source names a file in ``sources`` (a record's ``path:line`` names ``path``); every row when none
    of the three is given.

    The columns are read once per table version and kept as Arrow (a few hundred bytes a row; as a
    dict a row they took about 4.5 MB per thousand rows): a batch's stages share one read and each
    turns into Python only the rows it asks for.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    t = _index_table(output)
    if t is None:
        return {}
    if (keys, article_ids, sources) != (None, None, None):
        mask = pa.array([False] * len(t), pa.bool_())
        for values, column in ((keys, "key"), (article_ids, "article_id"), (sources, "source")):
            if not values:
                continue
            col = t.column(column)
            if column == "source":  # the file a source names: ``ingest.source_file``, in Arrow
                col = pc.replace_substring_regex(col, pattern=r"^(.+):[0-9]+$", replacement=r"\1")
            hit = pc.is_in(col, value_set=pa.array(sorted(set(values)), pa.string()))
            mask = pc.or_(mask, pc.fill_null(hit, False))
        t = t.filter(mask)
    return {r["key"]: r for r in t.to_pylist()}


def stored_keys(output: Path) -> set[str]:
    """Every key the store holds."""
    t = _index_table(output)
    return set() if t is None else set(t.column("key").to_pylist())


def _index_table(output: Path):
    current = version(output)
    if current is None:
        return None
    where = str(path(output))
    cached = _INDEX.get(where)
    if cached is None or cached[0] != current:
        _INDEX.clear()  # one table's index at a time
        _INDEX[where] = cached = (current, _read(output, INDEX_COLUMNS).combine_chunks())
    return cached[1]


_INDEX: dict[str, tuple] = {}


def claimed(ingested, stored: dict[str, dict], run_id: str) -> None:
    """Quarantine, as ``duplicate_id``, the articles whose key an earlier batch of the same build
    stored from another source: a caller's id used twice, the two records in different batches."""
    from pipelines.ingest import Rejected

    keep = []
    for a in ingested.articles:
        prev = stored.get(a.key)
        if prev and prev["run_id"] == run_id and prev["source"] != a.source:
            detail = f"id {a.article_id!r} is already {prev['source']}'s"
            ingested.rejected.append(Rejected(a.source, "duplicate_id", detail))
        else:
            keep.append(a)
    ingested.articles = keep


def rows(output: Path, keys: set[str], by: str = "key") -> dict[str, dict]:
    """key (or the column ``by``, e.g. article_id) -> the whole stored row, for these values only."""
    if not keys or not exists(output):
        return {}
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipelines.parquet import read_files

    wanted = pa.array(sorted(keys), pa.string())
    schema = store_schema()
    out: dict[str, dict] = {}
    # The column looked up first, file by file: only a file holding one of the rows is read whole
    # (texts and all), not the whole store for a few rows.
    for f in _files(output):
        hit = pc.is_in(pq.ParquetFile(f).read(columns=[by]).column(by), value_set=wanted)
        if pc.any(hit).as_py():
            rows = read_files([f], schema.names, schema).filter(hit).to_pylist()
            out.update({r[by]: r for r in rows if r["kind"] == "article" or by == "key"})
    return out


def similar(output: Path, keys: set[int], exclude: set[str] = frozenset()):
    """The stored articles extracted (with or without events) that share one of these band keys
    (``pipelines.neardup``), but those whose key is in ``exclude``: (article ids, their signatures as
    rows of a uint32 array, their band keys as rows of an int64 array). Arrays, not Python lists: a
    story retold often shares bands with tens of thousands of stored articles."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipelines.neardup import BANDS, NUM_PERM

    none = ([], np.empty((0, NUM_PERM), np.uint32), np.empty((0, BANDS), np.int64))
    if not keys or not exists(output):
        return none
    t = _read(output, ["key", "article_id", "state", "minhash", "near_keys"])
    bands = t.column("near_keys").combine_chunks()
    hit = pc.is_in(pc.list_flatten(bands), value_set=pa.array(sorted(keys), pa.int64()))
    t = t.take(pc.unique(pc.list_parent_indices(bands).filter(hit)))
    # A row signed under other MinHash settings (a stored article of an older version) is no
    # candidate: its bands and signature do not compare.
    keep = pc.and_(
        pc.and_(
            pc.is_in(t.column("state"), value_set=pa.array(["extracted", "no_events"])),
            pc.invert(pc.is_in(t.column("key"), value_set=pa.array(sorted(exclude), pa.string()))),
        ),
        pc.and_(
            pc.equal(pc.binary_length(t.column("minhash")), NUM_PERM * 4),
            pc.equal(pc.list_value_length(t.column("near_keys")), BANDS),
        ),
    )
    t = t.filter(pc.fill_null(keep, False))
    if not t.num_rows:
        return none
    sigs = np.frombuffer(b"".join(t.column("minhash").to_pylist()), np.uint32).reshape(-1, NUM_PERM)
    near = pc.list_flatten(t.column("near_keys")).to_numpy().reshape(-1, BANDS)
    return t.column("article_id").to_pylist(), sigs, near


def near_duplicates(output: Path, exclude: set[str] = frozenset()):
    """The store as ``neardup.link`` looks into it: candidates by band key (``similar``), then the
    text and mentions of those it needs."""
    from pipelines.neardup import Stored

    def load(ids: set[str]) -> dict[str, tuple[str, list[dict]]]:
        return {
            i: (r["text"] or "", decode(r, "mentions")) for i, r in rows(output, ids, by="article_id").items()
        }

    return Stored(lambda keys: similar(output, keys, exclude), load)


def _table(rows: list[dict]):
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=store_schema())


WRITE_CHUNK = 2000  # rows per commit of new articles: the Delta writer holds about twice what it is given


def write(
    output: Path,
    rows: list[dict],
    drop: list[str] = (),
    known: set[str] | None = None,
) -> None:
    """Upsert ``rows`` and delete the ``drop`` keys by key. Then remove the files no version needs
    (the lock is held: no reader). ``known``: the keys stored now, when the caller has read them already.

    Rows of new keys are appended, a commit per ``WRITE_CHUNK`` rows: memory stays bounded and no
    stored file is read. Changed rows and deletions travel in one merge, which reads the table. A run
    killed between commits leaves some of its rows stored and no version published: the next run
    finds them stored and does not extract them again, and what it did not store it does again.
    """
    from deltalake import DeltaTable, write_deltalake

    target = str(path(output))
    if known is None:
        known = set(index(output, keys={r["key"] for r in rows} | set(drop)))
    new = [r for r in rows if r["key"] not in known]
    changed = [r for r in rows if r["key"] in known]
    for i in range(0, len(new), WRITE_CHUNK):
        mode = "append" if exists(output) else "overwrite"
        write_deltalake(target, _table(new[i : i + WRITE_CHUNK]), mode=mode, schema_mode="merge")
    drop = [k for k in drop if k in known]
    if changed or drop:
        # Deletions travel in the same merge as rows of kind "drop", so the change is one commit.
        tomb = {"kind": "drop", "article_id": "", "source": "", "state": "quarantined"}
        tombstones = [{"key": k, **tomb} for k in drop]
        (
            DeltaTable(target)
            .merge(
                _table([*changed, *tombstones]),
                predicate="t.key = s.key",
                source_alias="s",
                target_alias="t",
            )
            .when_matched_delete(predicate="s.kind = 'drop'")
            .when_matched_update_all(predicate="s.kind <> 'drop'")
            .when_not_matched_insert_all(predicate="s.kind <> 'drop'")
            .execute()
        )
    if not exists(output):  # nothing to write into a new store: it exists, empty
        write_deltalake(target, _table([]), mode="overwrite")
    table = DeltaTable(target)
    if len(table.file_uris()) > 64:
        # Files of 64 MB, one at a time: compaction's memory stays bounded however large the store.
        table.optimize.compact(target_size=64 * 2**20, max_concurrent_tasks=1)
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)


def decode(row: dict, field: str) -> list[dict]:
    return json.loads(row.get(field) or "[]")


def encode(items: list[dict]) -> str:
    return json.dumps(items, ensure_ascii=False, sort_keys=True)


def plan(articles: list, extractor_version: str, stored: dict[str, dict], full_refresh: bool = False):
    """Which articles to extract: those new, changed, failed before, or extracted by another version.

    Returns (to extract, extraction key per article id, ids reused unchanged, id -> the source that
    already holds the same text under another key: a duplicate, not extracted).
    """
    keys = {a.article_id: extraction_key(extractor_version, a) for a in articles}
    if full_refresh:
        return list(articles), keys, set(), {}
    met = {a.key for a in articles}
    holders = {
        r["article_id"]: r
        for r in stored.values()
        if r["kind"] == "article"
        and r["state"] in ("extracted", "no_events", "failed")
        and r["key"] not in met
    }
    todo, reused, duplicates = [], set(), {}
    for a in articles:
        prev = stored.get(a.key)
        if (
            prev
            and prev["article_id"] == a.article_id
            and prev["extraction_key"] == keys[a.article_id]
            and prev["state"] in ("extracted", "no_events")
        ):
            reused.add(a.article_id)
        elif a.article_id in holders:
            duplicates[a.article_id] = holders[a.article_id]["source"]
        else:
            todo.append(a)
    return todo, keys, reused, duplicates
