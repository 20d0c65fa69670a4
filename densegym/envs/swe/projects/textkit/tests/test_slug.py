from textkit.slug import TRANSLIT, is_slug, slugify, transliterate, unique_slug


def test_transliterate_table():
    assert transliterate("Grüße aus Köln") == "Gruesse aus Koeln"
    assert transliterate("Ærøskøbing") == "AEroskobing"


def test_transliterate_whole_table():
    assert transliterate("àáâäåæçèéêëìíîïñòóôõöøùúûüýÿßł") == "aaaaeaaeceeeeiiiinoooooeouuuueyyssl"
    assert transliterate("ÄÖÜÆØÅÉÑÇŁ") == "AeOeUeAEOAENCL"


def test_transliterate_unknown():
    assert transliterate("naïve ☃ café") == "naive  cafe"
    assert transliterate("☃x", unknown="?") == "?x"


def test_transliterate_custom_table():
    assert transliterate("a-b", table={"-": "_"}) == "a_b"
    assert transliterate("é", table={}) == ""
    assert TRANSLIT["ß"] == "ss"


def test_slugify_basic():
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("  --Already--slugged--  ") == "already-slugged"


def test_slugify_symbols():
    assert slugify("Fish & Chips @ 50%") == "fish-and-chips-at-50-percent"


def test_slugify_accents_and_case():
    assert slugify("Crème Brûlée") == "creme-brulee"
    assert slugify("Crème Brûlée", lowercase=False) == "Creme-Brulee"


def test_slugify_separator():
    assert slugify("a b c", sep="_") == "a_b_c"


def test_slugify_stopwords():
    assert slugify("The Art of War", stopwords=("the", "of")) == "art-war"


def test_slugify_max_length_cuts_at_word():
    assert slugify("hello wonderful world", max_length=12) == "hello"
    assert slugify("hello wonderful world", max_length=15) == "hello-wonderful"
    assert slugify("hello wonderful world", max_length=16) == "hello-wonderful"
    assert slugify("supercalifragilistic", max_length=5) == "super"
    assert slugify("hello world", max_length=50) == "hello-world"


def test_slugify_empty():
    assert slugify("!!!") == ""


def test_unique_slug():
    assert unique_slug("post", set()) == "post"
    assert unique_slug("post", {"post"}) == "post-2"
    assert unique_slug("post", {"post", "post-2", "post-3"}) == "post-4"
    assert unique_slug("post", {"post"}, sep="_", start=1) == "post_1"


def test_is_slug():
    assert is_slug("hello-world-2")
    assert not is_slug("")
    assert not is_slug("-hello")
    assert not is_slug("hello-")
    assert not is_slug("hello--world")
    assert not is_slug("Hello")
    assert not is_slug("héllo")
    assert is_slug("a_b", sep="_")
