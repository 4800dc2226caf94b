"""Asset checks. The two on the events about to be published are blocking: when one fails, the
dataset is not published and the earlier version stays. The two on the published dataset read it
back from disk.
"""

import dagster as dg

from pipelines import checks
from pipelines.ingest import Ingested
from pipelines.publish import Published
from pipelines.schema import validation_errors
from pipelines.validate import Validated


@dg.asset_check(
    asset="validated_events",
    blocking=True,
    description="Every validated event conforms to schemas/event.schema.json (blocks publication).",
)
def events_match_schema(validated_events: Validated) -> dg.AssetCheckResult:
    bad = [e for e in validated_events.events if validation_errors(e)]
    return dg.AssetCheckResult(passed=not bad, metadata={"invalid": len(bad)})


@dg.asset_check(
    asset="normalized_events",
    blocking=True,
    description="Every quote to be published is text[start:end] of its article (blocks publication).",
    additional_ins={"articles": dg.AssetIn("articles")},
)
def quotes_grounded_before_publishing(
    articles: Ingested, normalized_events: list[dict]
) -> dg.AssetCheckResult:
    bad = checks.ungrounded(normalized_events, {a.article_id: a.text for a in articles.articles})
    return dg.AssetCheckResult(passed=not bad, metadata={"ungrounded": len(bad), "first": str(bad[:3])})


@dg.asset_check(
    asset="published_dataset", description="Every published quote is text[start:end] of its article."
)
def quotes_grounded(published_dataset: Published) -> dg.AssetCheckResult:
    bad = checks.ungrounded_quotes(published_dataset.output)
    return dg.AssetCheckResult(passed=not bad, metadata={"ungrounded": len(bad), "first": str(bad[:3])})


@dg.asset_check(asset="published_dataset", description="Every input ends in exactly one state.")
def articles_accounted_for(published_dataset: Published) -> dg.AssetCheckResult:
    missing = checks.unaccounted_inputs(published_dataset.output, published_dataset.inputs)
    return dg.AssetCheckResult(
        passed=not missing, metadata={"unaccounted": len(missing), "first": str(missing[:3])}
    )
