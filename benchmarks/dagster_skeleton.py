"""The least a build through Dagster costs: the shape of the build's job with no work in it.

Seven assets (five partitioned by a dynamic partition, two over them) and four blocking checks, run
in process on an ephemeral instance, with the Arrow and Delta Lake imports every build needs.
``benchmarks/startup.py`` times it beside the sample build: what the build adds above it is the
project's own cost; the rest is Dagster's (its instance keeps runs and events in an in-memory SQLite
database through SQLAlchemy and Alembic).

    .venv/bin/python benchmarks/dagster_skeleton.py
"""

import gc

import dagster as dg
import deltalake  # noqa: F401
import pyarrow.parquet  # noqa: F401

batches = dg.DynamicPartitionsDefinition(name="batches")


@dg.asset(partitions_def=batches)
def articles() -> int:
    return 1


@dg.asset(partitions_def=batches)
def event_mentions(articles: int) -> int:
    return articles


@dg.asset(partitions_def=batches)
def validated_events(event_mentions: int) -> int:
    return event_mentions


@dg.asset(partitions_def=batches)
def normalized_events(validated_events: int) -> int:
    return validated_events


@dg.asset(partitions_def=batches)
def stored_articles(normalized_events: int) -> int:
    return normalized_events


@dg.asset(deps=[stored_articles])
def merged_events() -> int:
    return 1


@dg.asset
def published_dataset(merged_events: int) -> int:
    return merged_events


def _check(asset, name: str):
    @dg.asset_check(asset=asset, name=name, blocking=True)
    def check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return check


CHECKS = [
    _check(validated_events, "events_match_schema"),
    _check(normalized_events, "quotes_grounded_before_publishing"),
    _check(published_dataset, "quotes_grounded"),
    _check(published_dataset, "articles_accounted_for"),
]

if __name__ == "__main__":
    assets = [articles, event_mentions, validated_events, normalized_events, stored_articles]
    defs = dg.Definitions(assets=[*assets, merged_events, published_dataset], asset_checks=CHECKS)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("batches", ["b"])
        # As the build does (pipelines.memory.freeze): start-up's objects left out of collections.
        gc.freeze()
        assert job.execute_in_process(instance=instance, partition_key="b").success
