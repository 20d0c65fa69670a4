import pytest

from textkit.wrap import center, columns, dedent, fill, indent, justify, justify_line, truncate, wrap

TEXT = "The quick brown fox jumps over the lazy dog"


def test_wrap_basic():
    assert wrap(TEXT, 15) == ["The quick brown", "fox jumps over", "the lazy dog"]


def test_wrap_exact_fit():
    assert wrap("aaa bbb", 7) == ["aaa bbb"]
    assert wrap("aaa bbb", 6) == ["aaa", "bbb"]


def test_wrap_collapses_whitespace():
    assert wrap("  one \n\n two   three ", 20) == ["one two three"]
    assert wrap("", 10) == []


def test_wrap_breaks_long_words():
    assert wrap("ab abcdefghij cd", 4) == ["ab", "abcd", "efgh", "ij", "cd"]


def test_wrap_keeps_long_words():
    assert wrap("ab abcdefghij cd", 4, break_long=False) == ["ab", "abcdefghij", "cd"]


def test_wrap_invalid_width():
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_fill():
    assert fill(TEXT, 20) == "The quick brown fox\njumps over the lazy\ndog"


def test_justify_line_distributes_left_first():
    assert justify_line("a b c", 8) == "a   b  c"
    assert justify_line("a b c", 9) == "a   b   c"
    assert justify_line("one two", 10) == "one    two"


def test_justify_line_edge_cases():
    assert justify_line("word", 6) == "word  "
    assert justify_line("", 3) == "   "
    assert justify_line("too long here", 5) == "too long here"


def test_justify():
    assert justify(TEXT, 15) == "The quick brown\nfox  jumps over\nthe lazy dog"
    assert justify("", 10) == ""


def test_indent():
    assert indent("a\nb") == "    a\n    b"
    assert indent("a\n\nb", "> ") == "> a\n\n> b"
    assert indent("a\n\nb", "> ", skip_blank=False) == "> a\n> \n> b"


def test_indent_first_line():
    assert indent("item\nmore", "   ", first=" - ") == " - item\n   more"


def test_dedent():
    assert dedent("    a\n      b\n    c") == "a\n  b\nc"
    assert dedent("  a\n   \n  b") == "a\n\nb"
    assert dedent("\n\n") == "\n\n"


def test_truncate():
    assert truncate("hello world", 20) == "hello world"
    assert truncate("hello world", 8) == "hello..."
    assert truncate("hello world", 11) == "hello world"


def test_truncate_whole_words_and_small_width():
    assert truncate("hello bigger world", 13, whole_words=True) == "hello..."
    assert truncate("hello bigger world", 13) == "hello bigg..."
    assert truncate("hello big world", 13) == "hello big..."
    assert truncate("helloworld", 8, whole_words=True) == "hello..."
    assert truncate("hello world", 2) == ".."
    assert truncate("hello world", 6, ellipsis="~") == "hello~"


def test_center():
    assert center("ab", 7) == "  ab   "
    assert center("ab", 6, "*") == "**ab**"
    assert center("abcdef", 3) == "abcdef"
    with pytest.raises(ValueError):
        center("a", 5, "--")


def test_columns():
    items = ["apple", "fig", "banana", "kiwi", "plum"]
    assert columns(items, width=20) == ["apple   fig", "banana  kiwi", "plum"]
    assert columns(items, width=30) == ["apple   fig     banana  kiwi", "plum"]
    assert columns([]) == []
    assert columns(["abcdef"], width=3) == ["abcdef"]
    assert columns(["abcdef", "x"], width=3) == ["abcdef", "x"]

LONG = " ".join(["abcdefghi"] * 7) + " z"


def test_wrap_default_width_is_70():
    assert wrap(LONG) == [LONG[:69], "z"]


def test_justify_default_width_is_70():
    assert justify(LONG) == "abcdefghi  " + LONG[10:69] + "\nz"


def test_fill_default_width_is_70():
    assert fill(LONG) == LONG[:69] + "\nz"
