"""The pipeline as Dagster assets, grouped by stage, with the checks that guard them.

articles (ingest) -> event_mentions (extract) -> validated_events (validate)
-> normalized_events (normalize) -> published_dataset (publish; merges across sources).
Each asset calls the plain function of its stage; the logic and its tests live in those
modules, not here. Each reports ``dagster/row_count`` and ``dagster/column_schema`` (from
``schemas/``).
"""

from pathlib import Path

import dagster as dg

from pipelines import extract as extract_stage
from pipelines import ingest as ingest_stage
from pipelines import publish as publish_stage
from pipelines import validate as validate_stage
from pipelines.defs.resources import ExtractorSettings, OutputLocation


class InputConfig(dg.Config):
    """Input files or folders (none: the built-in sample corpus). They are added to what the output
    holds; ``full_refresh``: the dataset becomes exactly these inputs."""

    paths: list[str] = []
    full_refresh: bool = False


class PublishConfig(dg.Config):
    """Run id written in every row (default: a new timestamped id)."""

    run_id: str = ""


def table_metadata(rows: int, table: str) -> dict:
    """Dagster's standard row count and column schema, the columns taken from ``schemas/``."""
    from pipelines.schema import arrow_schema

    columns = [dg.TableColumn(f.name, str(f.type)) for f in arrow_schema(table)]
    return {"dagster/row_count": rows, "dagster/column_schema": dg.TableSchema(columns=columns)}


def sample_corpus() -> Path:
    from pipelines.data import data_path

    return Path(str(data_path("sample") / "articles"))


@dg.asset(
    group_name="ingest", description="Input articles read, decoded and cleaned; bad inputs quarantined."
)
def articles(
    context: dg.AssetExecutionContext, config: InputConfig, output: OutputLocation
) -> ingest_stage.Ingested:
    from pipelines import outdir

    outdir.check_output(output.folder())  # refuse a folder it cannot write or does not own, before any work
    paths = [Path(p) for p in config.paths] or [sample_corpus()]
    result = ingest_stage.ingest(paths, exclude=[output.folder()])
    result.full_refresh = config.full_refresh
    context.add_output_metadata(
        {
            "articles": len(result.articles),
            "quarantined": len(result.rejected),
            "ignored": len(result.ignored),
            **table_metadata(len(result.articles) + len(result.rejected), "article"),
        }
    )
    return result


@dg.asset(group_name="extract", description="Candidate events of every article.")
def event_mentions(
    context: dg.AssetExecutionContext,
    articles: ingest_stage.Ingested,
    extractor: ExtractorSettings,
    output: OutputLocation,
) -> extract_stage.Extraction:
    from pipelines import store

    ex = extractor.build(output.folder())
    todo, keys, reused, duplicates = store.plan(
        articles.articles, ex.version, store.index(output.folder()), articles.full_refresh
    )
    if extractor.show_progress:
        from pipelines.progress import progress_bar

        with progress_bar(len(todo), f"extracting ({ex.name})") as advance:
            result = extract_stage.extract_all(todo, ex, progress=lambda _a: advance())
    else:
        result = extract_stage.extract_all(todo, ex)
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
            "failed": len(result.failed),
            "extractor": ex.name,
            **usage,
            **table_metadata(len(result.events), "event"),
        }
    )
    return result


@dg.asset(
    group_name="validate", description="Candidates that are grounded and schema-valid; the rest quarantined."
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


@dg.asset(group_name="normalize", description="Canonical actors, checked dates, geocoded places.")
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


@dg.asset(group_name="publish", description="Parquet tables events, articles and quarantine.")
def published_dataset(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    articles: ingest_stage.Ingested,
    event_mentions: extract_stage.Extraction,
    validated_events: validate_stage.Validated,
    normalized_events: list[dict],
    output: OutputLocation,
) -> publish_stage.Published:
    result = publish_stage.publish(
        output.folder(),
        articles,
        event_mentions,
        validated_events,
        run_id=config.run_id or None,
        events=normalized_events,
        lock_wait=output.wait(),
    )
    counts = result.counts()
    context.add_output_metadata(
        {
            "path": dg.MetadataValue.path(str(result.output.resolve())),
            "run_id": result.run_id,
            "articles": result.n_articles,
            "quarantine": len(result.quarantine),
            **table_metadata(len(result.events), "event"),
            "articles_by_state": dg.MetadataValue.json(counts["articles"]),
            "events_by_type": dg.MetadataValue.json(counts["events"]),
        }
    )
    return result
