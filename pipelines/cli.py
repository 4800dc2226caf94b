"""The ``eventbuilder`` command line.

Heavy modules (Dagster, pandas, litellm) are imported inside the commands, so
``eventbuilder --help`` answers at once.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="eventbuilder",
    help=(
        "Turn news articles (Arabic, English) into an ACLED-style Parquet dataset of ceasefire calls, "
        "resolutions and arms deliveries.\n\n"
        "Start with `eventbuilder build` (the built-in sample corpus, offline), then point it at your own "
        "files: `eventbuilder build ARTICLES_DIR --output DIR`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"eventbuilder {version('eventbuilder')}")
        except PackageNotFoundError:
            print("eventbuilder (not installed)")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Turn news articles into an ACLED-style Parquet dataset."""


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Article files or folders (searched recursively): .txt (first line = title), .html, .jsonl "
        "(one article per line with 'text'), with an optional manifest.csv per folder "
        "(file,published,language,outlet,url). None: the built-in sample corpus.",
        show_default=False,
    ),
]
ExtractorOpt = Annotated[
    str,
    typer.Option(
        "--extractor",
        "-x",
        help="auto: the LLM when a model is configured (--model or EVENTBUILDER_MODEL), else rules; "
        "rules: the embedded offline extractor; llm: a model through litellm.",
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="litellm model string, e.g. openai/gpt-4.1-mini, ollama_chat/qwen2.5:7b, hosted_vllm/NAME "
        "(default: EVENTBUILDER_MODEL). The key comes from the provider's usual variable.",
    ),
]
RouterOpt = Annotated[
    Path | None,
    typer.Option(
        "--router",
        help="A litellm proxy config (model_list, router_settings: fallbacks, retries, rpm/tpm) to spread "
        "calls over several deployments; --model picks a model_name group (default: its first). "
        "[default: EVENTBUILDER_ROUTER]",
        show_default=False,
    ),
]
ApiBaseOpt = Annotated[
    str, typer.Option("--api-base", help="OpenAI-compatible endpoint, e.g. http://localhost:11434 (Ollama).")
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        show_default=False,
        help="LLM calls in flight at once. [default: EVENTBUILDER_CONCURRENCY, else 8]",
    ),
]
MaxCallsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-calls",
        min=0,
        show_default=False,
        help="Stop calling the model after this many calls. [default: EVENTBUILDER_MAX_CALLS, else no limit]",
    ),
]
PrefilterOpt = Annotated[
    bool,
    typer.Option(
        "--prefilter/--no-prefilter",
        help="Send the model only paragraphs where the embedded lexicon sees a possible event (and their "
        "neighbours): fewer tokens, a little less recall.",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir", help="LLM answer cache. [default: EVENTBUILDER_CACHE_DIR, else OUTPUT/.cache/llm]"
    ),
]
EvalCacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="LLM answer cache. [default: EVENTBUILDER_CACHE_DIR, else none]"),
]


NO_DATASET = "no published dataset there (no _manifest.json): give a build's output"
DatasetOpt = Annotated[
    str,
    typer.Option(
        "--dataset",
        "-d",
        help="The published dataset: a build's --output folder, or its s3://bucket/prefix.",
    ),
]


@contextlib.contextmanager
def _dataset(dataset: str):
    """The dataset as a local folder: an object store's current version is downloaded first."""
    from pipelines import remote

    if not remote.is_remote(dataset):
        yield Path(dataset)
        return
    try:
        with remote.dataset(dataset) as local:
            yield local
    except remote.RemoteError as e:
        _err(str(e))
        raise typer.Exit(2) from None


def _err(msg: str) -> None:
    print(f"eventbuilder: {msg}", file=sys.stderr)


@contextlib.contextmanager
def _output_errors():
    """An unusable --output is exit 2, one held by another run exit 75: one line each; an object store
    that cannot be read or written, exit 1 (its published version is unchanged)."""
    from pipelines import outdir, remote

    try:
        yield
    except outdir.OutputBusy as e:
        _err(str(e))
        raise typer.Exit(75) from None
    except outdir.OutputError as e:
        _err(str(e))
        raise typer.Exit(2) from None
    except remote.RemoteError as e:
        _err(str(e))
        raise typer.Exit(1) from None


@app.command()
def build(
    paths: PathsArg = None,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Folder of the published dataset, or an object store prefix (s3://bucket/prefix).",
        ),
    ] = "outputs",
    extractor: ExtractorOpt = "auto",
    model: ModelOpt = "",
    router: RouterOpt = None,
    api_base: ApiBaseOpt = "",
    concurrency: ConcurrencyOpt = None,
    max_calls: MaxCallsOpt = None,
    prefilter: PrefilterOpt = False,
    cache_dir: CacheDirOpt = None,
    run_id: Annotated[
        str,
        typer.Option(
            help="Run id written into every row and naming the version folder runs/ID: 1-64 letters, digits, "
            "'_', '.' or '-'. [default: a new timestamped id]",
            show_default=False,
        ),
    ] = "",
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait when another run is writing the same --output (0: refuse at once).",
        ),
    ] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="On failure, print the whole error chain.")] = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild the dataset from PATHS alone (default: PATHS are added to what --output holds).",
        ),
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Files per batch: memory holds one batch's texts (default EVENTBUILDER_BATCH_SIZE or 2000).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Ingest articles, extract events, validate them and publish events/articles/quarantine as Parquet.

    The dataset in --output grows: new articles are added, changed ones (same path or id, new text or
    metadata) replace their old events, and articles already extracted by the same extractor version
    are not extracted again. The published tables hold everything --output has accumulated.

    Runs the same Dagster assets as the UI, in this process, a run per batch of --batch-size files
    (each adds its batch to OUTPUT/store/; the last publishes). Every build adds a complete version under
    OUTPUT/runs/ and switches OUTPUT/current to it at once. Exit status: 0 published (quarantined
    inputs and failed articles are reported, not fatal: a failed article keeps its earlier events);
    1 nothing published (nothing read, every article failed, or an error: the current version is
    kept); 2 bad arguments or an unusable --output; 75 another run is writing --output.
    """
    import os

    from pipelines import outdir
    from pipelines.extract import resolve_choice

    env_router = os.environ.get("EVENTBUILDER_ROUTER")
    router = router or (Path(env_router) if env_router else None)
    try:
        kind = resolve_choice(extractor, model or None, router)
    except ValueError as e:
        _err(str(e))
        raise typer.Exit(2) from None
    if kind == "llm" and not (model or router or os.environ.get("EVENTBUILDER_MODEL")):
        _err(
            "--extractor llm needs a model: pass --model (e.g. openai/gpt-4.1-mini) or --router FILE, "
            "or set EVENTBUILDER_MODEL"
        )
        raise typer.Exit(2)
    if router is not None:
        from pipelines.extract.router import RouterConfigError, load

        try:
            routes = load(router)
            if model:
                routes.deployment_model(model)
        except RouterConfigError as e:
            _err(str(e))
            raise typer.Exit(2) from None
    for p in paths or []:
        if not p.exists() and not p.is_symlink():
            _err(f"{p}: no such file or folder")
            raise typer.Exit(2)
    try:
        outdir.check_run_id(run_id)
    except ValueError as e:
        _err(str(e))
        raise typer.Exit(2) from None
    from pipelines.build import build as run_build

    t0 = time.perf_counter()
    with _output_errors():
        result = run_build(
            list(paths or []),
            output,
            extractor,
            model,
            show_progress=True,
            run_id=run_id,
            lock_wait=wait,
            full_refresh=full_refresh,
            batch_size=batch_size or 0,
            api_base=api_base,
            router=str(router) if router else "",
            concurrency=concurrency or 0,
            max_calls=max_calls or 0,
            prefilter=prefilter,
            cache_dir=str(cache_dir) if cache_dir else "",
        )
    elapsed = time.perf_counter() - t0
    if result.published is None:
        if debug and result.traceback:
            print(result.traceback, file=sys.stderr)
        _err(f"nothing was published, the current version (if any) is kept: {result.error}")
        raise typer.Exit(1)
    _summary(result, elapsed, output)
    if result.error:
        if debug and result.traceback:
            print(result.traceback, file=sys.stderr)
        _err(f"warning: {result.error}")


def _summary(result, elapsed: float, output: str) -> None:
    from rich.console import Console
    from rich.table import Table

    pub = result.published
    counts = pub.counts()
    console = Console()
    t = Table(title=f"eventbuilder run {pub.run_id}", show_header=True)
    t.add_column("articles by state")
    t.add_column("n", justify="right")
    for state in ("extracted", "no_events", "quarantined", "failed"):
        t.add_row(state, str(counts["articles"].get(state, 0)))
    console.print(t)
    e = Table(show_header=True)
    e.add_column("events by type")
    e.add_column("n", justify="right")
    for etype, n in sorted(counts["events"].items()):
        e.add_row(etype, str(n))
    e.add_row("rejected candidates / inputs (quarantine)", str(counts["quarantine"]))
    console.print(e)
    llm = counts.get("llm") or {}
    if llm.get("llm_calls") or llm.get("cached_calls"):
        console.print(
            f"LLM: {llm['llm_calls']} calls, {llm['cached_calls']} chunks from cache, "
            f"{llm['tokens_in']} tokens in ({llm.get('cached_tokens', 0)} from the provider's prefix cache), "
            f"{llm['tokens_out']} out, ${llm['cost_usd']:.4f}"
        )
    if pub.run:
        r = pub.run
        console.print(
            f"this run: {r['read']} input(s) read, {r['extracted']} extracted, {r['unchanged']} unchanged "
            f"(not extracted again), {r['failed']} failed; the dataset holds {pub.n_articles} input(s)"
        )
    failures = pub.failures()
    if failures:
        from pipelines.publish import describe

        n = sum(c for _, c in failures)
        console.print(
            f"[yellow]{n} article(s) failed and will be tried again next run[/yellow]: {describe(failures)}"
            + (f"; {pub.carried} earlier event(s) of theirs kept" if pub.carried else ""),
            markup=True,
            highlight=False,
        )
    if pub.not_covered:
        langs = ", ".join(f"{n} {lang}" for lang, n in pub.not_covered.items())
        console.print(
            f"[yellow]{sum(pub.not_covered.values())} article(s) in languages the embedded extractor "
            f"cannot read[/yellow] ({langs}): no_events with reason language_not_covered; "
            "--extractor llm reads them",
            markup=True,
            highlight=False,
        )
    if pub.not_sent:
        why = "; ".join(f"{n}× {reason}" for reason, n in pub.not_sent.items())
        console.print(
            f"{sum(pub.not_sent.values())} article(s) not sent to the model ({why}): no_events",
            highlight=False,
        )
    if pub.ignored:
        console.print(
            f"ignored {len(pub.ignored)} path(s): hidden names (starting with '.') or the output folder"
        )
    for name, ok in sorted(result.checks.items()):
        console.print(f"check {name}: {'passed' if ok else 'FAILED'}")
    from pipelines import remote

    if remote.is_remote(output):
        url = output.rstrip("/")
        console.print(
            f"published to {url}/runs/{pub.run_id}/ and pointed {url}/_current.json at it in {elapsed:.1f} s"
        )
        console.print(f"read it: pandas.read_parquet('{url}/runs/{pub.run_id}/events')")
        return
    out = pub.output.resolve()
    console.print(f"published to {out}/ (events/, articles/, quarantine/, _manifest.json) in {elapsed:.1f} s")
    console.print(f"read it: pandas.read_parquet('{out}/events')")


@app.command()
def remove(
    targets: Annotated[
        list[str], typer.Argument(help="Article ids, or paths of files or folders (all their articles).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder of the published dataset.")] = Path(
        "outputs"
    ),
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="Seconds to wait when another run is writing --output.")
    ] = 0,
) -> None:
    """Take articles out of the dataset (their events, quarantine rows, state) and publish a new version."""
    from pipelines import store
    from pipelines.publish import remove as remove_articles

    if not store.exists(output):
        _err(f"--output {output}: no dataset there")
        raise typer.Exit(2)
    with _output_errors():
        keys, published = remove_articles(output, targets, lock_wait=wait)
    if published is None:
        _err(f"nothing matched {', '.join(targets)} in {output}: nothing was removed")
        raise typer.Exit(1)
    print(f"removed {len(keys)} input(s); version {published.run_id} holds {published.n_articles} articles")


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="acled-csv: ACLED's 31 columns in ACLED's order and types; csv: one flat row per event "
            "(UTF-8 with a BOM, for Excel); xlsx: the same rows with a frozen header and filters.",
        ),
    ] = "csv",
    dataset: DatasetOpt = "outputs",
) -> None:
    """Export the published dataset as ACLED's CSV, a flat CSV or an Excel workbook."""
    from pipelines import export as ex

    if fmt not in ex.FORMATS:
        _err(f"--format {fmt}: not one of {', '.join(ex.FORMATS)}")
        raise typer.Exit(2)
    with _dataset(dataset) as folder:
        try:
            result = ex.write(folder, fmt, output)
        except FileNotFoundError as e:
            _err(f"--dataset {str(e).replace(str(folder), dataset)}")
            raise typer.Exit(2) from None
        except OSError as e:
            _err(f"--output {output}: {e.strerror or e}")
            raise typer.Exit(2) from None
    print(f"wrote {len(result.rows)} event(s) to {output} ({fmt})")
    for reason, n in sorted(result.left_out.items()):
        print(f"left out {n} event(s): {reason}")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    dataset: DatasetOpt = "outputs",
) -> None:
    """One self-contained HTML page: figures, a chart, a map, and every event with its evidence for review."""
    from pipelines import report as rp

    with _dataset(dataset) as folder:
        if not (folder / "_manifest.json").is_file():
            _err(f"--dataset {dataset}: {NO_DATASET}")
            raise typer.Exit(2)
        try:
            n = rp.write(folder, output)
        except OSError as e:
            _err(f"--output {output}: {e.strerror or e}")
            raise typer.Exit(2) from None
    print(f"wrote {output} ({n} events); open it in a browser, nothing is fetched from the network")


@app.command()
def review(
    event_id: Annotated[str | None, typer.Argument(help="The event decided on (its event_id).")] = None,
    accept: Annotated[bool, typer.Option("--accept", help="The event is right as it is.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="The event is wrong: it leaves events.")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE: correct one field (repeatable), e.g. --set status=adopted."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why, in your words.")] = None,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Who decides (default: $USER).")] = None,
    import_file: Annotated[
        Path | None,
        typer.Option(
            "--import",
            help="Decisions from a JSONL or CSV file: event_id, decision (accept, reject, set), field, "
            "value, note, reviewer, time.",
        ),
    ] = None,
    dataset: Annotated[
        Path, typer.Option("--dataset", "-d", help="Folder of the published dataset (a build's --output).")
    ] = Path("outputs"),
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="Seconds to wait when another run is writing the dataset.")
    ] = 0,
) -> None:
    """Accept, reject or correct published events. Decisions are kept with the dataset, take effect at
    once (a new version) and in every later build."""
    import os

    from pipelines import reviews, store
    from pipelines.publish import review as publish_review

    if not store.exists(dataset) or not (dataset / "_manifest.json").is_file():
        _err(f"--dataset {dataset}: no dataset there")
        raise typer.Exit(2)
    who = reviewer or os.environ.get("USER")
    try:
        if import_file is not None:
            if event_id or accept or reject or set_:
                raise reviews.ReviewError("--import takes its decisions from the file alone")
            decisions = reviews.read_file(import_file)
        else:
            if not event_id or (accept + reject + bool(set_)) != 1:
                raise reviews.ReviewError("give EVENT_ID and one of --accept, --reject or --set FIELD=VALUE")
            if set_:
                pairs = [s.split("=", 1) if "=" in s else (s, None) for s in set_]
                bad = [f for f, v in pairs if v is None]
                if bad:
                    raise reviews.ReviewError(f"--set {bad[0]}: write FIELD=VALUE")
                decisions = [reviews.decision(event_id, "set", f, v, note, who) for f, v in pairs]
            else:
                decisions = [
                    reviews.decision(event_id, "accept" if accept else "reject", note=note, reviewer=who)
                ]
        with _output_errors():
            published = publish_review(dataset, decisions, lock_wait=wait)
    except reviews.ReviewError as e:
        _err(str(e))
        raise typer.Exit(2) from None
    except OSError as e:
        _err(f"{e.filename or import_file}: {e.strerror or e}")
        raise typer.Exit(2) from None
    print(f"kept {len(decisions)} decision(s); version {published.run_id} holds {published.n_events} events")


@app.command(name="eval")
def evaluate(
    gold: Annotated[
        Path, typer.Option("--gold", help="Folder of gold JSON files (one per article, same stem).")
    ],
    paths: PathsArg = None,
    extractor: ExtractorOpt = "rules",
    model: ModelOpt = "",
    router: RouterOpt = None,
    api_base: ApiBaseOpt = "",
    prefilter: PrefilterOpt = False,
    cache_dir: EvalCacheDirOpt = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Score an already published dataset (folder or s3://bucket/prefix) instead of extracting.",
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON.")] = None,
    fail_under: Annotated[
        float | None,
        typer.Option("--fail-under", min=0.0, max=1.0, help="Exit 1 when the micro F1 is below this (0-1)."),
    ] = None,
    show: Annotated[int, typer.Option(help="How many false positives and misses to list.")] = 50,
) -> None:
    """Score an extractor (or a published dataset) against gold annotations.

    Prints detection precision/recall/F1 per event type and micro-averaged, argument scores on matched
    events (actor F1 per role, status, date and country accuracy), the grounding rate, and every false
    positive and miss with its article and quote.
    """
    from pipelines import evaluate as ev

    if not gold.is_dir():
        _err(f"--gold {gold}: not a folder of gold files")
        raise typer.Exit(2)
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(_dataset(dataset)) if dataset is not None else None
        if folder is not None and not (folder / "_manifest.json").is_file():
            _err(f"--dataset {dataset}: {NO_DATASET}")
            raise typer.Exit(2)
        report = _run_eval(ev, gold, paths, extractor, model, folder, api_base, router, prefilter, cache_dir)
    ev.print_report(report, show=show)
    if json_out:
        ev.write_json(report, json_out)
    if fail_under is not None and report["detection"]["micro"]["f1"] < fail_under:
        _err(f"micro F1 {report['detection']['micro']['f1']:.3f} is below --fail-under {fail_under}")
        raise typer.Exit(1)


def _run_eval(ev, gold, paths, extractor, model, dataset, api_base, router, prefilter, cache_dir) -> dict:
    from pipelines.extract import ExtractorUnavailable

    try:
        return ev.run_eval(
            gold,
            list(paths or []),
            extractor=extractor,
            model=model,
            dataset=dataset,
            api_base=api_base or None,
            router=router,
            prefilter=prefilter or None,
            cache_dir=cache_dir,
        )
    except (FileNotFoundError, ValueError, ExtractorUnavailable) as e:
        _err(str(e))
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
