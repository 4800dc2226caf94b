"""Normalisation: dates of every month family, actors in both scripts, places, ACLED columns."""

import os

import pytest

from pipelines.ingest import Article, article_id
from pipelines.normalize import acled_columns, normalize_event
from pipelines.normalize.actors import canonical_actor, resolve
from pipelines.normalize.dates import check_date, resolve_date
from pipelines.normalize.places import geocode

PUB = "2020-06-20"  # a Saturday


@pytest.mark.parametrize(
    "month_words,number",
    [
        (["يناير", "كانون الثاني", "جانفي", "أي النار"], 1),
        (["فبراير", "شباط", "فيفري", "النوار"], 2),
        (["مارس", "آذار", "الربيع"], 3),
        (["أبريل", "نيسان", "أفريل", "الطير"], 4),
        (["مايو", "أيار", "آيار", "ماي", "الماء"], 5),
        (["يونيو", "حزيران", "جوان", "الصيف"], 6),
        (["يوليو", "تموز", "جويلية", "ناصر"], 7),
        (["أغسطس", "آب", "أوت", "هانيبال"], 8),
        (["سبتمبر", "أيلول", "الفاتح"], 9),
        (["أكتوبر", "تشرين الأول", "التمور"], 10),
        (["نوفمبر", "تشرين الثاني", "الحرث"], 11),
        (["ديسمبر", "كانون الأول", "الكانون"], 12),
    ],
)
def test_every_arabic_month_family(month_words, number):
    for word in month_words:
        assert resolve_date(f"وقع ذلك في 5 {word} 2019", None) == (f"2019-{number:02d}-05", "day"), word


@pytest.mark.parametrize(
    "text,expected",
    [
        ("أعلن ذلك اليوم", ("2020-06-20", "day")),
        ("أعلن ذلك أمس", ("2020-06-19", "day")),
        ("أعلن يوم الخميس", ("2020-06-18", "day")),
        ("أعلن السبت الماضي", ("2020-06-13", "day")),
        ("أعلن يوم السبت", ("2020-06-20", "day")),
        ("said on Thursday", ("2020-06-18", "day")),
        ("said yesterday", ("2020-06-19", "day")),
        ("وكان ذلك في ١٢ الطير/أبريل", ("2020-04-12", "day")),
        ("وصلت في 4 الطير/أبريل 2019م", ("2019-04-04", "day")),
        ("the talks of last week", ("2020-06", "month")),
        ("earlier this month", ("2020-06", "month")),
        ("الشهر الماضي", ("2020-05", "month")),
    ],
)
def test_relative_and_paired_forms_against_a_fixed_publication_date(text, expected):
    assert resolve_date(text, PUB) == expected


def test_a_proposed_date_is_checked_against_the_text_and_never_invents_a_year():
    quote = ["قالت روسيا الخميس إنها تعترض"]
    assert check_date("2020-06-17", "day", quote, PUB, "") == ("2020-06-18", "day")  # the text wins
    assert check_date("2011-03-17", "day", ["no time here"], PUB, "the war of 2011") == ("2011-03-17", "day")
    assert check_date("2013-03-17", "day", ["no time here"], PUB, "no year written") == (None, "unknown")
    assert check_date("2013-03-17", "day", ["no time here"], None, "no year written") == (None, "unknown")


@pytest.mark.parametrize(
    "name,canonical",
    [
        ("الإمارات", "United Arab Emirates"),
        ("الامارات العربية المتحدة", "United Arab Emirates"),
        ("UAE", "United Arab Emirates"),
        ("جوتيريس", "Antonio Guterres"),
        ("غوتيريش", "Antonio Guterres"),
        ("Antonio Guterres", "Antonio Guterres"),
        ("حفتر", "Khalifa Haftar"),
        ("Khalifa Hifter", "Khalifa Haftar"),
        ("مجلس الأمن الدولي", "United Nations Security Council"),
        ("Security Council", "United Nations Security Council"),
        ("حكومة الوفاق", "Government of National Accord"),
        ("Sergei Lavrov", "Sergey Lavrov"),  # fuzzy
        ("Antonio Gutteres", "Antonio Guterres"),  # fuzzy
    ],
)
def test_actor_aliases_in_both_scripts(name, canonical):
    actor = resolve(name)
    assert actor is not None and actor.name == canonical


def test_unknown_actors_are_kept_and_flagged_not_forced_onto_an_entry():
    rec = canonical_actor({"role": "caller", "name": "Brigade of the Free Coast"})
    assert rec["name"] == "Brigade of the Free Coast" and rec["known"] is False
    assert resolve("Rus") is None  # too short to guess


def test_known_actor_records_get_type_and_iso3_and_keep_the_surface_form():
    rec = canonical_actor({"role": "supplier", "name": "تركيا"})
    assert (rec["name"], rec["actor_type"], rec["iso3"], rec["known"], rec["surface"]) == (
        "Turkey",
        "state",
        "TUR",
        True,
        "تركيا",
    )


def test_ambiguous_places_follow_the_conflict_country():
    libya = geocode("طرابلس", conflict="LBY")
    lebanon = geocode("طرابلس", conflict="LBN")
    assert (libya.country, lebanon.country) == ("LBY", "LBN")
    assert libya.latitude != lebanon.latitude and libya.geo_precision == 1


@pytest.mark.parametrize(
    "name,country",
    [("سوتشي", "RUS"), ("Sochi", "RUS"), ("مصراتة", "LBY"), ("Kharkiv", "UKR"), ("Ajdabiya", "LBY")],
)
def test_places_in_both_scripts_and_from_geonames(name, country):
    geo = geocode(name)
    assert geo.country == country and geo.latitude is not None and geo.geo_precision == 1


def test_country_only_and_unknown_places():
    assert geocode(None, country="SDN").fields() == {
        "location": None,
        "country": "SDN",
        "admin1": None,
        "latitude": None,
        "longitude": None,
        "geo_precision": 3,
    }
    assert geocode("ليبيا").geo_precision == 3
    assert geocode("Xyzzyville") is None


def test_normalize_event_fills_geo_and_canonical_actors():
    text = "On Thursday Turkey sent drones to Tripoli."
    art = Article(article_id(text), "a.txt", text, published=PUB)
    ev = {
        "event_type": "arms_delivery",
        "status": "alleged",
        "date": None,
        "date_precision": "unknown",
        "location": "طرابلس",
        "country": None,
        "conflict_country": "LBY",
        "actors": [{"role": "supplier", "name": "Turkiye"}, {"role": "recipient", "name": "GNA"}],
        "evidence": [{"article_id": art.article_id, "quote": text, "start": 0, "end": len(text)}],
    }
    out = normalize_event(ev, art)
    assert (out["location"], out["country"], out["admin1"], out["geo_precision"]) == (
        "Tripoli",
        "LBY",
        "Tripoli",
        1,
    )
    assert (out["date"], out["date_precision"]) == ("2020-06-18", "day")
    assert [a["name"] for a in out["actors"]] == ["Turkey", "Government of National Accord"]


def test_acled_columns_from_roles_and_actor_types():
    ev = {
        "event_type": "arms_delivery",
        "conflict_country": "LBY",
        "actors": [
            {"role": "supplier", "name": "Turkey", "actor_type": "state", "iso3": "TUR"},
            {"role": "supplier", "name": "Qatar", "actor_type": "state", "iso3": "QAT"},
            {
                "role": "recipient",
                "name": "Government of National Accord",
                "actor_type": "government",
                "iso3": "LBY",
            },
        ],
    }
    cols = acled_columns(ev)
    assert cols.pop("event_date") is None  # no date, no middle of a period
    assert cols.pop("notes") == (
        "Turkey and Qatar delivered military materiel to Government of National Accord (date not reported)."
    )
    assert cols == {
        "actor1": "Turkey",
        "assoc_actor_1": "Qatar",
        "actor2": "Government of National Accord",
        "assoc_actor_2": None,
        "inter1": 8,
        "inter2": 1,
    }
    res = {
        "event_type": "resolution",
        "conflict_country": "SYR",
        "actors": [
            {
                "role": "body",
                "name": "United Nations Security Council",
                "actor_type": "igo_body",
                "iso3": None,
            },
            {"role": "sponsor", "name": "Norway", "actor_type": "state", "iso3": "NOR"},
            {"role": "opposer", "name": "Russia", "actor_type": "state", "iso3": "RUS"},
            {"role": "opposer", "name": "China", "actor_type": "state", "iso3": "CHN"},
        ],
    }
    cols = acled_columns(res)
    assert (cols["actor1"], cols["assoc_actor_1"], cols["actor2"], cols["assoc_actor_2"]) == (
        "United Nations Security Council",
        "Norway",
        "Russia",
        "China",
    )
    assert cols["inter1"] == 8
    rebels = {
        "event_type": "ceasefire_call",
        "conflict_country": "SDN",
        "actors": [
            {"role": "caller", "name": "Rapid Support Forces", "actor_type": "armed_group", "iso3": "SDN"}
        ],
    }
    assert acled_columns(rebels)["inter1"] == 2


def test_the_extractors_date_survives_when_the_quote_supports_it():
    quote = [
        "On March 2 the army advanced, and in a statement issued on March 8, Russia called for a ceasefire."
    ]
    assert check_date("2024-03-08", "day", quote, "2024-03-10", "") == ("2024-03-08", "day")
    assert check_date("2024-03", "day", ["in March 2024 Russia called for a truce"], None, "") == (
        "2024-03",
        "month",
    )


def test_a_users_actor_file_extends_and_overrides_the_dictionary(tmp_path, monkeypatch):
    from pipelines.normalize.gazetteer import gazetteer
    from pipelines.textnorm import fold

    extra = tmp_path / "more.yaml"
    extra.write_text(
        "- name: United Arab Emirates\n  type: state\n  iso3: ARE\n  party_in: [YEM, SDN]\n"
        "  aliases: {en: [UAE, Emirates], ar: [الإمارات]}\n"
        "- name: Free Coast Brigade\n  type: armed_group\n  iso3: LBY\n  party_in: [LBY]\n"
        "  aliases: {en: [Free Coast Brigade], ar: [لواء الساحل الحر]}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("EVENTBUILDER_ACTORS", str(extra))
    gazetteer.cache_clear()
    try:
        g = gazetteer()
        found = {
            m.entry.name: m.entry.party_in for m in g.find_actors(fold("The UAE armed لواء الساحل الحر."))
        }
        assert found == {"United Arab Emirates": ("YEM", "SDN"), "Free Coast Brigade": ("LBY",)}
    finally:
        monkeypatch.delenv("EVENTBUILDER_ACTORS")
        gazetteer.cache_clear()


def test_the_dictionary_is_kept_built_between_processes_and_a_bad_copy_is_rebuilt(tmp_path):
    import subprocess
    import sys

    code = (
        "from pipelines.normalize.gazetteer import gazetteer; from pipelines.textnorm import fold; "
        "print(sorted(m.entry.name for m in gazetteer().find_actors(fold('دعت مصر وقطر. Turkey'))))"
    )
    env = {**os.environ, "EVENTBUILDER_DATA_CACHE": str(tmp_path / "cache")}

    def run() -> str:
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    first = run()
    assert first == "['Egypt', 'Qatar', 'Turkey']"
    (kept,) = (tmp_path / "cache").glob("gazetteer-*.pickle")
    assert run() == first
    kept.write_bytes(b"not a pickle")
    assert run() == first and kept.read_bytes() != b"not a pickle"
