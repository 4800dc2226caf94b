"""The pipeline as Dagster assets, grouped by stage, with the checks that guard them.

articles (ingest) -> event_mentions (extract) -> validated_events (validate)
-> normalized_events (normalize) -> stored_articles (store) -> merged_events (merge across sources)
-> published_dataset (publish). The first five are partitioned by batch (``batches``, dynamic
partitions: the CLI cuts its inputs into batches, the sensor adds one per batch of new files) and each
adds its batch to the output's store; ``merged_events`` and ``published_dataset`` are single assets
over all of them, built from the store.
Each asset calls the plain function of its stage; the logic and its tests live in those
modules, not here. Each reports ``dagster/row_count`` and ``dagster/column_schema`` (from
``schemas/``).
"""

from pathlib import Path

import dagster as dg

from pipelines import extract as extract_stage
from pipelines import ingest as ingest_stage
from pipelines import memory
from pipelines import merged as merged_stage
from pipelines import publish as publish_stage
from pipelines import validate as validate_stage
from pipelines.defs.resources import ExtractorSettings, OutputLocation

batches = dg.DynamicPartitionsDefinition(name="batches")


class InputConfig(dg.Config):
    """A batch's input files or folders. None: the files registered for the batch (a re-run or a
    backfill), else the built-in sample corpus. ``run_id``: the build the batch belongs to (default:
    the partition key). ``full_refresh``: the dataset becomes exactly the build's inputs."""

    paths: list[str] = []
    run_id: str = ""
    full_refresh: bool = False


class PublishConfig(dg.Config):
    """Version id written in every row (default: a new timestamped id); a build's batches and its
    publication share it."""

    run_id: str = ""


RELEASE_AFTER_EVENTS = 5000


def table_metadata(rows: int, table: str) -> dict:
    """Dagster's standard row count and column schema, the columns taken from ``schemas/``."""
    from pipelines.schema import arrow_schema

    columns = [dg.TableColumn(f.name, str(f.type)) for f in arrow_schema(table)]
    return {"dagster/row_count": rows, "dagster/column_schema": dg.TableSchema(columns=columns)}


def sample_corpus() -> Path:
    from pipelines.data import data_path

    return Path(str(data_path("sample") / "articles"))


@dg.asset(
    group_name="ingest",
    partitions_def=batches,
    description="A batch's input articles read, decoded and cleaned; bad inputs quarantined.",
)
def articles(
    context: dg.AssetExecutionContext, config: InputConfig, output: OutputLocation
) -> ingest_stage.Ingested:
    from pipelines import batches as registry
    from pipelines import outdir, store

    folder = output.folder()
    outdir.check_output(folder)  # refuse a folder it cannot write or does not own, before any work
    key = context.partition_key
    batch = registry.load(folder, key)
    if batch is None or config.paths:
        paths = [Path(p) for p in config.paths] or [sample_corpus()]
        found = ingest_stage.walk(paths, exclude=[folder])
        batch = registry.Batch.of(key, config.run_id or key, found, config.full_refresh)
        with outdir.locked(folder, output.wait(), batch.run_id):
            outdir.init(folder)
            registry.save(folder, batch)
    result = ingest_stage.ingest_walk(batch.walk())
    result.full_refresh = batch.full_refresh
    store.claimed(result, store.index(folder, keys=[a.key for a in result.articles]), batch.run_id)
    context.add_output_metadata(
        {
            "articles": len(result.articles),
            "quarantined": len(result.rejected),
            "ignored": len(result.ignored),
            **table_metadata(len(result.articles) + len(result.rejected), "article"),
        }
    )
    return result


@dg.asset(group_name="extract", partitions_def=batches, description="Candidate events of every article.")
def event_mentions(
    context: dg.AssetExecutionContext,
    articles: ingest_stage.Ingested,
    extractor: ExtractorSettings,
    output: OutputLocation,
) -> extract_stage.Extraction:
    from pipelines import neardup, store

    folder = output.folder()
    ex = extractor.build(folder)
    met = articles.articles
    stored = store.index(folder, keys=[a.key for a in met], article_ids=[a.article_id for a in met])
    todo, keys, reused, duplicates = store.plan(met, ex.version, stored, articles.full_refresh)
    links = neardup.link(todo, store.near_duplicates(folder, exclude={a.key for a in todo}))
    if extractor.show_progress:
        from pipelines.progress import progress_bar

        with progress_bar(len(todo), f"extracting ({ex.name})") as advance:
            result = extract_stage.extract_linked(todo, ex, links, progress=lambda _a: advance())
    else:
        result = extract_stage.extract_linked(todo, ex, links)
    result.keys, result.reused, result.duplicates = keys, reused, duplicates
    usage = {
        k: sum(u.get(k) or 0 for u in result.usage.values()) for k in ("llm_calls", "tokens_in", "tokens_out")
    }
    context.add_output_metadata(
        {
            "candidates": len(result.events),
            "extracted": len(todo),
            "unchanged": len(reused),
            "duplicates": len(duplicates),
            "near_duplicates": len(result.copies),
            "failed": len(result.failed),
            "extractor": ex.name,
            **usage,
            **table_metadata(len(result.events), "event"),
        }
    )
    return result


@dg.asset(
    group_name="validate",
    partitions_def=batches,
    description="Candidates that are grounded and schema-valid; the rest quarantined.",
)
def validated_events(
    context: dg.AssetExecutionContext,
    articles: ingest_stage.Ingested,
    event_mentions: extract_stage.Extraction,
) -> validate_stage.Validated:
    result = validate_stage.validate_all(articles.articles, event_mentions.events)
    context.add_output_metadata(
        {"quarantined": len(result.quarantine), **table_metadata(len(result.events), "event")}
    )
    return result


@dg.asset(
    group_name="normalize",
    partitions_def=batches,
    description="Canonical actors, checked dates, geocoded places.",
)
def normalized_events(
    context: dg.AssetExecutionContext,
    articles: ingest_stage.Ingested,
    validated_events: validate_stage.Validated,
) -> list[dict]:
    from pipelines.normalize import normalize_events

    result = normalize_events(validated_events.events, articles.articles)
    unknown = sum(1 for e in result for a in e["actors"] if not a.get("known", True))
    located = sum(1 for e in result if e.get("latitude") is not None)
    context.add_output_metadata(
        {"unknown_actors": unknown, "with_coordinates": located, **table_metadata(len(result), "event")}
    )
    return result


@dg.asset(
    group_name="store",
    partitions_def=batches,
    description="The batch's articles, states and mentions added to the output's store (Delta Lake).",
)
def stored_articles(
    context: dg.AssetExecutionContext,
    articles: ingest_stage.Ingested,
    event_mentions: extract_stage.Extraction,
    validated_events: validate_stage.Validated,
    normalized_events: list[dict],
    output: OutputLocation,
) -> dict:
    from pipelines import batches as registry

    folder = output.folder()
    batch = registry.load(folder, context.partition_key)
    summary = publish_stage.store_batch(
        folder, articles, event_mentions, validated_events, normalized_events, batch.run_id, output.wait()
    )
    batch.summary = {**summary, "extractor": event_mentions.extractor}
    registry.mark(folder, [batch], "stored")
    counts = {k: summary[k] for k in ("read", "extracted", "unchanged", "failed", "carried")}
    context.add_output_metadata({**counts, **table_metadata(len(summary["met"]), "article")})
    # What the next step needs is in the store and the batch's record: only the counts travel.
    return {"batch": batch.key, "run_id": batch.run_id, **counts}


def _full_refresh(pending: list, run_id: str) -> set[str] | None:
    """The keys a full refresh keeps: those its build's batches met (None: not a full refresh). Only
    the publishing build's own batches decide: a full-refresh build that failed earlier does not make
    a later build one."""
    own = [b for b in pending if b.run_id == run_id]
    if not any(b.full_refresh for b in own):
        return None
    return {k for b in own for k in b.summary["met"]}


def _to_publish(context: dg.AssetExecutionContext, folder: Path) -> tuple[list, list[dict]]:
    """The stored batches not yet published, and their summaries. When there are none because a run
    of another partition at the same time (a backfill on several workers) already published this
    run's batch with its own, this run publishes the same content again rather than failing."""
    from pipelines import batches as registry

    pending = registry.pending(folder)
    own = registry.load(folder, context.run.tags.get("dagster/partition", "")) if context.run else None
    if not pending and own is not None and own.state == "published":
        return [], [own.summary]
    return pending, [b.summary for b in pending]


@dg.asset(
    group_name="merge",
    deps=[stored_articles],
    description="Every stored mention merged into one row per real event across sources, staged for "
    "the next version (refused when the build read nothing or every article failed).",
)
def merged_events(
    context: dg.AssetExecutionContext, config: PublishConfig, output: OutputLocation
) -> merged_stage.Merged:
    from pipelines import batches as registry

    folder = output.folder()
    pending, summaries = _to_publish(context, folder)
    run_id = config.run_id or publish_stage.new_run_id()
    try:
        result = publish_stage.prepare(
            folder,
            summaries,
            run_id,
            keep=_full_refresh(pending, config.run_id),
            lock_wait=output.wait(),
        )
    except publish_stage.PublishRefused:
        registry.mark(folder, pending, "refused")
        raise
    if result.n_events >= RELEASE_AFTER_EVENTS:
        # What the merge held goes back before the tables are written; for a small dataset a
        # collection costs more (0.06 s of a sample build's 2 s) than it gives back.
        memory.release()
    context.add_output_metadata(
        {
            "run_id": run_id,
            "events_by_type": dg.MetadataValue.json(result.events_by_type),
            **table_metadata(result.n_events, "event"),
        }
    )
    return result


@dg.asset(
    group_name="publish",
    description="Parquet tables events, articles and quarantine of everything the store holds.",
)
def published_dataset(
    context: dg.AssetExecutionContext, merged_events: merged_stage.Merged, output: OutputLocation
) -> publish_stage.Published:
    from pipelines import batches as registry

    folder = output.folder()
    pending, summaries = _to_publish(context, folder)
    try:
        result = publish_stage.publish(
            folder,
            summaries,
            extractor=", ".join(sorted({s.get("extractor", "") for s in summaries})),
            lock_wait=output.wait(),
            merged=merged_events,
        )
    except publish_stage.PublishRefused:
        registry.mark(folder, pending, "refused")
        raise
    registry.mark(folder, pending, "published")
    registry.drop_old(folder)
    output.published(result.run_id)
    counts = result.counts()
    context.add_output_metadata(
        {
            "path": dg.MetadataValue.path(str(result.output.resolve())),
            "run_id": result.run_id,
            "batches": len(pending),
            "articles": result.n_articles,
            "quarantine": len(result.quarantine),
            **table_metadata(result.n_events, "event"),
            "articles_by_state": dg.MetadataValue.json(counts["articles"]),
            "events_by_type": dg.MetadataValue.json(counts["events"]),
        }
    )
    return result
