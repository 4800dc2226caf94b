import pytest

from pipelines.textnorm import fold, ground, normalize

TEXT = "وقال وزير الخارجيّة الأميركي إنّ مجلس الأمن سيبحث مسودة القرار، وأكّد على ضرورة وقفٍ فوري للقتال."


@pytest.mark.parametrize(
    "a,b",
    [
        ("إطلاق", "اطلاق"),  # hamza under alef
        ("أمين", "امين"),
        ("آذار", "اذار"),
        ("مسودة", "مسوده"),  # taa marbuta
        ("مصطفى", "مصطفي"),  # alef maqsura
        ("ليبيـــا", "ليبيا"),  # tatweel
        ("الخارجيّة", "الخارجيه"),  # shadda
        ("ایران", "ايران"),  # Persian yeh
        ("کردستان", "كردستان"),  # Persian kaf
        ("“سريع”", '"سريع"'),
        ("١٢", "12"),
        ("Guterres", "guterres"),
    ],
)
def test_orthographic_variants_fold_together(a, b):
    assert normalize(a) == normalize(b)


def test_fold_maps_back_to_original_offsets():
    f = fold(TEXT)
    i = f.text.index("مسوده القرار")
    s, e = f.span(i, i + len("مسوده القرار"))
    assert TEXT[s:e] == "مسودة القرار"


@pytest.mark.parametrize(
    "quote,expected",
    [
        ("مجلس الأمن سيبحث مسودة القرار", "مجلس الأمن سيبحث مسودة القرار"),  # exact
        ("مجلس الامن سيبحث مسوده القرار", "مجلس الأمن سيبحث مسودة القرار"),  # hamza + taa marbuta
        ("قال وزير الخارجية الأميركي", "قال وزير الخارجيّة الأميركي"),  # dropped و, diacritics
        ("ووزير الخارجية", "وزير الخارجيّة"),  # added و
        ("فأكد على ضرورة وقف فوري", "وأكّد على ضرورة وقفٍ فوري"),  # ف for و
        ("  مسودة القرار، ", "مسودة القرار"),  # punctuation and spaces at the edges
    ],
)
def test_ground_returns_offsets_of_the_verbatim_text(quote, expected):
    span = ground(quote, TEXT)
    assert span is not None
    assert TEXT[span[0] : span[1]] == expected


@pytest.mark.parametrize("quote", ["روسيا استخدمت حق النقض", "", "   ", "ab"])
def test_a_quote_that_is_not_in_the_article_is_not_grounded(quote):
    assert ground(quote, TEXT) is None
