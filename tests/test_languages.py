"""An article in a language the embedded extractor cannot read is never a silent no_events."""

import pandas as pd

from .conftest import run_cli

# Written for this test: each reports a ceasefire call the rules would find in Arabic or English.
TEXTS = {
    "fa.txt": "شورای امنیت سازمان ملل روز دوشنبه خواستار آتش‌بس فوری در یمن شد. این شورا از همه"
    " طرف‌ها خواست به گفتگو بازگردند و گفت که کمک‌های انسانی باید بدون مانع برسد.",
    "tr.txt": "Birleşmiş Milletler Güvenlik Konseyi pazartesi günü Yemen'de derhal ateşkes çağrısı"
    " yaptı. Konsey bu çağrıyı bir açıklama ile duyurdu ve tüm tarafları müzakereye davet etti.",
    "en.txt": "The United Nations Security Council called on Monday for an immediate ceasefire in"
    " Yemen and urged all parties to return to talks.",
    "fr.txt": "Le Conseil de sécurité des Nations unies a appelé lundi à un cessez-le-feu immédiat au"
    " Yémen et a exhorté toutes les parties à reprendre les négociations.",
    "en_none.txt": "The weather in the capital was mild on Monday and the markets were calm, traders"
    " said, as the holiday season began with the usual crowds in the old city.",
}


def test_uncovered_languages_are_named_and_counted(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, text in TEXTS.items():
        (src / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = run_cli("build", str(src), "--output", str(out))
    assert done.returncode == 0, done.stderr
    arts = pd.read_parquet(out / "articles").set_index("source")
    by_file = {s.rsplit("/", 1)[-1]: row for s, row in arts.iterrows()}
    assert (by_file["fa.txt"]["state"], by_file["fa.txt"]["reason"]) == (
        "no_events",
        "language_not_covered: fa",
    )
    assert by_file["tr.txt"]["reason"] == "language_not_covered: tr"
    assert by_file["en.txt"]["state"] == by_file["fr.txt"]["state"] == "extracted"  # both are read
    # English with nothing to report is read and found empty: no reason to give.
    assert by_file["en_none.txt"]["state"] == "no_events"
    assert pd.isna(by_file["en_none.txt"]["reason"])
    said = " ".join(done.stdout.split())
    assert "2 article(s) in languages the embedded extractor cannot read (1 fa, 1 tr)" in said
    assert "--extractor llm" in said
