import pytest

from textkit.tokens import (camel_case, char_ngrams, is_word_char, ngrams, normalize_whitespace,
                            snake_case, split_camel, tokens, words)


def test_is_word_char():
    assert is_word_char("a")
    assert is_word_char("7")
    assert is_word_char("'")
    assert is_word_char("_")
    assert not is_word_char(" ")
    assert not is_word_char(".")


def test_normalize_whitespace():
    assert normalize_whitespace("  a \t b\n\nc  ") == "a b c"
    assert normalize_whitespace("   ") == ""


def test_tokens_offsets():
    assert tokens("Hi, you!") == [("Hi", 0, 2), ("you", 4, 7)]


def test_tokens_keep_punct():
    assert tokens("Hi, you!", keep_punct=True) == [("Hi", 0, 2), (",", 2, 3), ("you", 4, 7), ("!", 7, 8)]


def test_tokens_trims_joiners():
    assert tokens("'quoted' -dash-") == [("quoted", 1, 7), ("dash", 10, 14)]


def test_tokens_keeps_inner_joiners():
    assert tokens("don't re-use snake_case") == [("don't", 0, 5), ("re-use", 6, 12), ("snake_case", 13, 23)]


def test_tokens_only_joiners():
    assert tokens("-- ' __") == []


def test_words():
    assert words("The cat, the HAT.") == ["The", "cat", "the", "HAT"]
    assert words("The cat, the HAT.", lower=True) == ["the", "cat", "the", "hat"]


def test_words_min_length():
    assert words("a bb ccc dddd", min_length=3) == ["ccc", "dddd"]


def test_ngrams():
    assert ngrams(["a", "b", "c", "d"]) == [("a", "b"), ("b", "c"), ("c", "d")]
    assert ngrams(["a", "b", "c"], 3) == [("a", "b", "c")]
    assert ngrams(["a", "b"], 3) == []
    assert ngrams(["a", "b"], 1) == [("a",), ("b",)]


def test_ngrams_invalid():
    with pytest.raises(ValueError):
        ngrams(["a"], 0)


@pytest.mark.parametrize("name,parts", [
    ("camelCase", ["camel", "Case"]),
    ("PascalCaseName", ["Pascal", "Case", "Name"]),
    ("HTTPServer", ["HTTP", "Server"]),
    ("getHTTPResponse", ["get", "HTTP", "Response"]),
    ("snake_case_name", ["snake", "case", "name"]),
    ("version2Update", ["version2", "Update"]),
    ("ABC", ["ABC"]),
    ("__x__", ["x"]),
])
def test_split_camel(name, parts):
    assert split_camel(name) == parts


def test_snake_case():
    assert snake_case("HTTPServerError") == "http_server_error"
    assert snake_case("already_snake") == "already_snake"


def test_camel_case():
    assert camel_case("http_server_error") == "httpServerError"
    assert camel_case("http_server_error", upper_first=True) == "HttpServerError"
    assert camel_case("XMLParser") == "xmlParser"
    assert camel_case("___") == ""


def test_char_ngrams():
    assert char_ngrams("cat") == ["#ca", "cat", "at#"]
    assert char_ngrams("cat", n=2, pad="") == ["ca", "at"]
    assert char_ngrams("a", n=4, pad="") == []
    assert len(char_ngrams("hello", n=2)) == 6


def test_split_camel_short_acronym_prefix():
    assert split_camel("ABc") == ["A", "Bc"]
    assert split_camel("aB") == ["a", "B"]
