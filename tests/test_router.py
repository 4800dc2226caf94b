"""Several model deployments through litellm's Router, configured by litellm's own proxy file;
two real scripted servers on 127.0.0.1, one of them always failing."""

import json

import pytest
import yaml

from pipelines.extract import extract_all
from pipelines.extract.llm import LLMConfig, LLMExtractor
from pipelines.extract.router import RouterConfigError, load
from pipelines.ingest import Article, article_id

from .llm_server import LLMServer, Script


def story(i: int) -> Article:
    text = f"Story {i}\n\nEgypt called for a ceasefire in Libya, report {i}."
    return Article(article_id(text), f"{i}.txt", text, published="2024-03-15")


ANSWER = json.dumps(
    {
        "events": [
            {
                "event_type": "ceasefire_call",
                "status": "called",
                "actors": [{"role": "caller", "name": "Egypt"}],
                "date": None,
                "date_precision": "unknown",
                "evidence": [{"quote": "Egypt called for a ceasefire in Libya"}],
            }
        ]
    }
)


def proxy_config(tmp_path, good: LLMServer, bad: LLMServer, **router_settings):
    """A file as `litellm --config` reads it: one group, two deployments, the proxy's own sections."""
    cfg = {
        "model_list": [
            {
                "model_name": "extractor",
                "litellm_params": {
                    "model": "openai/m-bad",
                    "api_base": bad.api_base,
                    "api_key": "sk-bad-0000000000",
                    "rpm": 600,
                    "order": 1,  # the primary
                },
            },
            {
                "model_name": "extractor",
                "litellm_params": {
                    "model": "openai/m-good",
                    "api_base": good.api_base,
                    "api_key": "os.environ/GOOD_KEY_FOR_TEST",
                    "rpm": 600,
                    "order": 2,  # the backup: tried when the primary fails (litellm's deployment order)
                },
            },
        ],
        "router_settings": {"routing_strategy": "simple-shuffle", **router_settings},
        "litellm_settings": {"num_retries": 3},
        "general_settings": {"master_key": "sk-proxy-only"},
    }
    path = tmp_path / "litellm.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_with_one_deployment_always_failing_every_article_is_extracted_and_both_were_tried(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("GOOD_KEY_FOR_TEST", "sk-good-1111111111")
    good, bad = Script(default={"content": ANSWER}), Script(default={"status": 500})
    arts = [story(i) for i in range(12)]
    with LLMServer(good) as g, LLMServer(bad) as b:
        path = proxy_config(tmp_path, g, b, allowed_fails=1, cooldown_time=30)
        cfg = LLMConfig.from_env(router=path, articles_per_call=1, backoff_base=0.05, backoff_cap=0.5)
        assert cfg.model == "extractor"  # the file's first group when --model names none
        result = extract_all(arts, LLMExtractor(cfg))
    assert result.failed == {}
    assert len({e["evidence"][0]["article_id"] for e in result.events}) == 12
    assert good.articles_sent == 12 and len(bad.calls) >= 1  # both were tried; only one answered
    assert {c["headers"]["authorization"] for c in good.calls} == {"Bearer sk-good-1111111111"}
    assert {c["body"]["model"] for c in good.calls} == {"m-good"}


def test_model_picks_a_group_and_a_group_the_file_lacks_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOD_KEY_FOR_TEST", "sk-good-1111111111")
    with LLMServer(Script()) as g, LLMServer(Script()) as b:
        path = proxy_config(tmp_path, g, b)
        assert LLMConfig.from_env(router=path, model="extractor").model == "extractor"
        with pytest.raises(
            RouterConfigError, match=r"litellm.yaml: no model_name 'gpt-9' \(it has extractor\)"
        ):
            LLMConfig.from_env(router=path, model="gpt-9")
        monkeypatch.delenv("GOOD_KEY_FOR_TEST")
        with pytest.raises(RouterConfigError, match="GOOD_KEY_FOR_TEST is not set"):
            load(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("model_list: []\n", "needs a non-empty model_list"),
        ("model_list:\n  - model_name: x\n", r"model_list\[0\] needs model_name and litellm_params"),
        ("model_list: [\n", "line 2 not valid YAML"),
        (
            "model_list:\n  - {model_name: x, litellm_params: {model: openai/x}}\n"
            "router_settings: {retries: 2}\n",
            "unknown setting",
        ),
    ],
)
def test_a_bad_router_file_is_named_with_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RouterConfigError, match=message) as e:
        load(path)
    assert str(path) in str(e.value)


def test_build_with_a_router_file_publishes_through_the_deployment_that_answers(tmp_path, monkeypatch):
    import pandas as pd
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("GOOD_KEY_FOR_TEST", "sk-good-1111111111")
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(3):
        (inp / f"{i}.txt").write_text(story(i).text, encoding="utf-8")
    good, bad = Script(default={"content": ANSWER}), Script(default={"status": 500})
    with LLMServer(good) as g, LLMServer(bad) as b:
        path = proxy_config(tmp_path, g, b, allowed_fails=1, cooldown_time=30)
        monkeypatch.setenv("EVENTBUILDER_ROUTER", str(path))  # as a schedule would set it
        result = CliRunner().invoke(app, ["build", str(inp), "--output", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    arts = pd.read_parquet(tmp_path / "o" / "articles")
    assert set(arts["state"]) == {"extracted"} and set(arts["model"]) == {"extractor"}
    assert len(bad.calls) >= 1 and good.articles_sent == 3


def test_build_names_a_bad_router_file_and_exits_2(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    path = tmp_path / "router.yaml"
    path.write_text("model_list:\n  - {model_name: a, litellm_params: {model: openai/x}}\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["build", "--router", str(path), "--model", "b", "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert f"{path}: no model_name 'b' (it has a)" in result.output
    assert not (tmp_path / "o" / "current").exists()
