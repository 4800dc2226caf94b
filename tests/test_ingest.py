import codecs
import json
from pathlib import Path

import pytest

from pipelines.ingest import DecodeError, clean_text, decode, detect_language, html_to_text, ingest

ARABIC = "دعا مجلس الأمن إلى وقف فوري لإطلاق النار في السودان.\n\nوقال دبلوماسيون إن التصويت سيجري الخميس."


@pytest.mark.parametrize(
    "raw,encoding",
    [
        (ARABIC.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ARABIC.encode("utf-8"), "utf-8-sig"),
        (ARABIC.encode("utf-16"), "utf-16"),
        (ARABIC.encode("utf-16-le"), "utf-16-le"),
        (ARABIC.encode("cp1256"), "cp1256"),
    ],
)
def test_encodings_are_detected_not_assumed(raw, encoding):
    text, enc = decode(raw)
    assert text == ARABIC
    assert enc == encoding


def test_binary_content_is_not_decoded():
    with pytest.raises(DecodeError):
        decode(bytes(range(256)) * 4)


def test_debris_lines_and_related_blocks_are_dropped():
    text = (
        "Title of the story\n\nThe council met on Monday.\n\nShare\n\nDiplomats said a vote is due.\n\n"
        "It was the third meeting this month.\n\nRelated articles\n\nAnother story teaser …"
        "\n\nLeave a comment"
    )
    cleaned = clean_text(text)
    assert "Share" not in cleaned
    assert "Related articles" not in cleaned and "teaser" not in cleaned
    assert "Leave a comment" not in cleaned
    assert cleaned.startswith("Title of the story") and "third meeting" in cleaned


def test_arabic_debris_is_dropped():
    text = (
        "عنوان الخبر\n\nدعت مصر إلى هدنة.\n\nوأكدت الخارجية ذلك في بيان.\n\n"
        "اقرأ أيضاً\n\nخبر آخر\n\nاترك تعليقاً"
    )
    cleaned = clean_text(text)
    assert "خبر آخر" not in cleaned and "اترك" not in cleaned and "هدنة" in cleaned


def test_html_main_text_without_scripts_navigation_or_footer():
    html = """<html><head><title>Site | Story</title><script>var x = 1;</script></head><body>
    <nav><a href="/">Home</a> <a href="/world">World</a></nav>
    <h1>Council votes on Libya</h1>
    <p>The Security Council adopted a resolution on Thursday.</p>
    <p>Russia abstained.</p>
    <footer>Copyright 2024 Back to top</footer></body></html>"""
    title, text = html_to_text(html)
    assert title == "Council votes on Libya"
    assert "adopted a resolution" in text and "Russia abstained." in text
    assert "var x" not in text and "Home" not in text and "Copyright" not in text


def test_language_detection():
    assert detect_language(ARABIC) == "ar"
    assert detect_language("The council said the vote would take place on Thursday in New York.") == "en"
    assert detect_language("Le Conseil de sécurité a appelé à un cessez-le-feu dans la région.") == "fr"
    assert detect_language("Güvenlik Konseyi bir ateşkes çağrısı yaptı ve bu karar için oy verdi.") == "tr"
    assert detect_language("Der Sicherheitsrat hat die Resolution mit großer Mehrheit angenommen.") == "de"
    assert detect_language("شورای امنیت سازمان ملل خواستار آتش‌بس فوری در غزه شد و گفت") == "fa"
    assert detect_language("Xkcd qwrt zzyv plmk") == "und"


def test_folder_ingest_with_manifest_jsonl_and_bad_files(tmp_path):
    (tmp_path / "a.txt").write_text(
        "First title\n\nBody of the first article about the truce.", encoding="utf-8"
    )
    (tmp_path / "b.txt").write_bytes(ARABIC.encode("cp1256"))
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02\x03" * 50 + b"\xff\xfe\x00")
    (tmp_path / "empty.txt").write_text("\n\nShare\n", encoding="utf-8")
    (tmp_path / "dup.txt").write_text(
        "First title\n\nBody of the first article about the truce.", encoding="utf-8"
    )
    sub = tmp_path / "more"
    sub.mkdir()
    lines = [
        json.dumps(
            {
                "text": "A jsonl article about drones.",
                "title": "J1",
                "published": "2024-03-01T10:00:00Z",
                "outlet": "Wire",
                "url": "https://example.org/j1",
            }
        ),
        "{not json",
        json.dumps({"title": "no text"}),
    ]
    (sub / "batch.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "manifest.csv").write_text(
        "file,published,language,outlet,url\na.txt,2024-01-05,en,Daily,\nb.txt,,ar,,\n", encoding="utf-8"
    )
    result = ingest([tmp_path])
    by_name = {a.source.rsplit("/", 1)[-1]: a for a in result.articles}
    assert set(by_name) == {"a.txt", "b.txt", "batch.jsonl:1"}
    assert by_name["a.txt"].published == "2024-01-05" and by_name["a.txt"].outlet == "Daily"
    assert by_name["a.txt"].title == "First title"
    assert by_name["b.txt"].encoding == "cp1256" and by_name["b.txt"].language == "ar"
    j = by_name["batch.jsonl:1"]
    assert (j.title, j.published, j.outlet, j.url) == ("J1", "2024-03-01", "Wire", "https://example.org/j1")
    reasons = {r.source.rsplit("/", 1)[-1]: r.reason for r in result.rejected}
    assert reasons == {
        "bad.txt": "undecodable",
        "empty.txt": "empty",
        "dup.txt": "duplicate",
        "batch.jsonl:2": "invalid_json",
        "batch.jsonl:3": "missing_text",
    }


def test_article_id_is_a_stable_content_hash(tmp_path):
    (tmp_path / "x.txt").write_text("Title\n\nSame text.", encoding="utf-8")
    first = ingest([tmp_path]).articles[0].article_id
    (tmp_path / "x.txt").write_text("Title\r\n\r\nSame text.\r\n", encoding="utf-8")
    assert ingest([tmp_path]).articles[0].article_id == first
    (tmp_path / "x.txt").write_text("Title\n\nOther text.", encoding="utf-8")
    assert ingest([tmp_path]).articles[0].article_id != first


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        ingest([tmp_path / "nope"])


def test_jsonl_metadata_falls_back_to_the_manifest_and_a_repeated_id_is_quarantined(tmp_path):
    (tmp_path / "feed.jsonl").write_text(json.dumps({"id": "1", "text": "First story about a truce."}) + "\n")
    (tmp_path / "other.jsonl").write_text(
        json.dumps({"id": "1", "text": "Another story about drones."}) + "\n"
    )
    (tmp_path / "empty.jsonl").write_text("\n\n")
    (tmp_path / "manifest.csv").write_text(
        "file,published,language,outlet,url\nfeed.jsonl,2024-03-05,en,Wire,\n"
    )
    result = ingest([tmp_path])
    by_src = {a.source.rsplit("/", 1)[-1]: a for a in result.articles}
    # The same caller id on a different text: the later record is quarantined, never merged with the first.
    assert set(by_src) == {"feed.jsonl:1"}
    assert (by_src["feed.jsonl:1"].published, by_src["feed.jsonl:1"].outlet) == ("2024-03-05", "Wire")
    assert sorted((r.source.rsplit("/", 1)[-1], r.reason) for r in result.rejected) == [
        ("empty.jsonl", "empty"),
        ("other.jsonl:1", "duplicate_id"),
    ]
    assert len(result.inputs) == 3


def test_an_svg_title_is_not_the_article_title():
    html = (
        "<html><head><title>Russia urges truce</title></head><body>"
        "<svg><title>Share on Facebook</title></svg>"
        "<p>Russia urged a truce in Idlib on Monday.</p></body></html>"
    )
    title, text = html_to_text(html)
    assert title == "Russia urges truce" and "Share on Facebook" not in text


def test_a_hand_over_holds_references_and_reads_the_texts_back_or_names_a_changed_file(tmp_path):
    from pipelines.handover import InputChanged, references, resolve

    (tmp_path / "a.txt").write_text("Title A\n\nEgypt called for a ceasefire in Gaza.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Title B\n\nQatar called for a truce in Sudan.", encoding="utf-8")
    read = ingest([tmp_path])
    ref = references(read)
    assert [a.text[:7] for a in ref.articles] == ["sha256:", "sha256:"]
    assert "ceasefire" not in repr(ref)
    assert [a.text for a in resolve(ref).articles] == [a.text for a in read.articles]
    (tmp_path / "b.txt").write_text("Title B\n\nQatar called for talks.", encoding="utf-8")
    with pytest.raises(InputChanged, match=r"b\.txt: the file changed"):
        resolve(ref)


def test_a_date_line_at_the_top_of_a_text_is_its_publication_date_unless_the_manifest_has_one(tmp_path):
    (tmp_path / "a.txt").write_text(
        " date 2023-04-13 Sudan: the AU calls for a truce\n\nText.", encoding="utf-8"
    )
    (tmp_path / "b.txt").write_text("Published: 2022-11-02\nTitle\n\nText.", encoding="utf-8")
    (tmp_path / "c.txt").write_text("date 2023-04 Month only\n\nText.", encoding="utf-8")
    (tmp_path / "d.txt").write_text("date 2023-04-13 Title\n\nText.", encoding="utf-8")
    (tmp_path / "manifest.csv").write_text("file,published\nd.txt,2023-04-20\n", encoding="utf-8")
    got = {Path(a.source).name: a.published for a in ingest([tmp_path]).articles}
    assert got == {"a.txt": "2023-04-13", "b.txt": "2022-11-02", "c.txt": None, "d.txt": "2023-04-20"}
