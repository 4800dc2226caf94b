import pytest

from pipelines.normalize.dates import resolve_date

PUB = "2019-04-19"  # a Friday


@pytest.mark.parametrize(
    "sentence,published,expected",
    [
        ("قال دبلوماسيون إن البلدين قالا الخميس إنهما لا يؤيدان القرار", PUB, ("2019-04-18", "day")),
        ("عبر المجلس في الخامس من أبريل/نيسان عن القلق", PUB, ("2019-04-05", "day")),
        ("أقر البرلمان اقتراحا في 2 يناير يسمح بإرسال قوات", "2020-01-09", ("2020-01-02", "day")),
        ("حث يوم السبت الماضي على وقف فوري لإطلاق النار", "2020-01-09", ("2020-01-04", "day")),
        ("الذي قدمه الرئيسان يوم الأربعاء", "2020-01-09", ("2020-01-08", "day")),
        ("أعلن يوم 4 الطير/أبريل 2019م إطلاق عملية", None, ("2019-04-04", "day")),
        ("في ١٢ كانون الثاني ٢٠٢٤ اجتمع المجلس", None, ("2024-01-12", "day")),
        ("في 14 جانفي دعت الجزائر إلى هدنة", "2021-02-01", ("2021-01-14", "day")),
        ("وصلت الشحنة في 3 أيار", "2020-01-10", ("2019-05-03", "day")),  # most recent May before publication
        ("وصلت الشحنة أمس", "2024-02-02", ("2024-02-01", "day")),
        ("The council met on Thursday", "2024-03-15", ("2024-03-14", "day")),
        ("It happened last Friday", "2024-03-15", ("2024-03-08", "day")),
        ("on 12 March 2023 the ministers met", "2024-01-01", ("2023-03-12", "day")),
        ("the vote of April 20, 2019 failed", None, ("2019-04-20", "day")),
        ("the shipments arrived in April 2019", None, ("2019-04", "month")),
        ("في شهر حزيران 2014 أرسلت", None, ("2014-06", "month")),
        ("منذ عام 2011", None, ("2011", "year")),
    ],
)
def test_dates_resolve(sentence, published, expected):
    assert resolve_date(sentence, published) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "دعا يوم السبت إلى وقف القتال",
        "in 3 May the ship arrived",
        "The council met on Thursday",
        "لا تاريخ هنا",
    ],
)
def test_no_year_is_invented_without_a_publication_date(sentence):
    assert resolve_date(sentence, None) == (None, "unknown")


def test_the_expression_nearest_the_trigger_wins():
    s = "بعد اجتماع في 2 يناير، دعت مصر يوم الأربعاء إلى هدنة"
    anchor = s.index("دعت")
    assert resolve_date(s, "2020-01-09", anchor=anchor) == ("2020-01-08", "day")


@pytest.mark.parametrize(
    "sentence",
    [
        "The Council adopted on Thursday 13 March the resolution",
        "Le Conseil a adopté jeudi 13 mars la résolution",
        "اعتمد المجلس يوم الخميس 13 آذار/مارس القرار",
    ],
)
def test_a_weekday_followed_by_its_date_is_that_date_not_the_last_such_weekday(sentence):
    assert resolve_date(sentence, "2025-07-01", 3) == ("2025-03-13", "day")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Le 18 juin, Moscou avait opposé son veto", ("2025-06-18", "day")),
        ("Les ministres ont appelé hier à un cessez-le-feu", ("2025-06-30", "day")),
        ("Le cargo a accosté dimanche à Misrata", ("2025-06-29", "day")),
        ("Les combats ont repris le mois dernier", ("2025-06", "month")),
    ],
)
def test_french_dates(sentence, expected):
    assert resolve_date(sentence, "2025-07-01") == expected
