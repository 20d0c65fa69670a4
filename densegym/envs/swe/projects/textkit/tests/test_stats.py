from textkit.stats import (average_word_length, char_count, flesch_reading_ease, grade_level,
                           lexical_diversity, sentences, summary, syllables, top_words,
                           word_count, word_frequencies)


def test_sentences_basic():
    assert sentences("One. Two! Three?") == ["One.", "Two!", "Three?"]


def test_sentences_tail_and_empty():
    assert sentences("Done. and more") == ["Done.", "and more"]
    assert sentences("   ") == []


def test_sentences_abbreviations():
    assert sentences("Dr. Smith met Mr. Jones. They left.") == ["Dr. Smith met Mr. Jones.", "They left."]


def test_sentences_initials_and_numbers():
    assert sentences("J. R. R. Tolkien wrote it. Pi is 3.14 roughly.") == [
        "J. R. R. Tolkien wrote it.", "Pi is 3.14 roughly."]


def test_sentences_repeated_punctuation():
    assert sentences("What?! Really... Yes.") == ["What?!", "Really...", "Yes."]


def test_syllables_simple():
    assert syllables("cat") == 1
    assert syllables("water") == 2
    assert syllables("beautiful") == 3


def test_syllables_silent_e():
    assert syllables("make") == 1
    assert syllables("the") == 1


def test_syllables_silent_e_long_words():
    assert syllables("lemonade") == 3
    assert syllables("tadpole") == 2


def test_syllables_le_ending():
    assert syllables("table") == 2
    assert syllables("little") == 2
    assert syllables("whale") == 1


def test_syllables_edge():
    assert syllables("") == 0
    assert syllables("...") == 0
    assert syllables("rhythm") == 1
    assert syllables("Queue!") == 1


def test_word_count():
    assert word_count("It's a well-known fact, isn't it?") == 6
    assert word_count("") == 0


def test_char_count():
    assert char_count("a b\tc\n") == 3
    assert char_count("a b\tc\n", spaces=True) == 6


def test_average_word_length():
    assert average_word_length("a bb ccc") == 2.0
    assert average_word_length("ab abc") == 2.5
    assert average_word_length("one three") == 4.0
    assert average_word_length("a ab ab", ndigits=1) == 1.7
    assert average_word_length("!!") == 0.0


def test_flesch_reading_ease():
    assert flesch_reading_ease("The cat sat on the mat.") == 116.1
    assert flesch_reading_ease("") == 0.0


def test_flesch_two_sentences():
    assert flesch_reading_ease("The cat sat. The dog ran far away.") == 107.6
    assert flesch_reading_ease("no terminator here at all", ndigits=0) == 66.0


def test_grade_level():
    assert grade_level(95) == "very easy"
    assert grade_level(90) == "very easy"
    assert grade_level(70) == "easy"
    assert grade_level(69.9) == "standard"
    assert grade_level(50) == "standard"
    assert grade_level(30) == "difficult"
    assert grade_level(10) == "very difficult"


def test_grade_level_just_below_boundaries():
    assert grade_level(89.9) == "easy"
    assert grade_level(49.9) == "difficult"
    assert grade_level(29.5) == "very difficult"


def test_word_frequencies():
    assert word_frequencies("The cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
    assert word_frequencies("The cat and the hat", stopwords=("THE", "and")) == {"cat": 1, "hat": 1}
    assert word_frequencies("a bb a ccc", min_length=2) == {"bb": 1, "ccc": 1}


def test_top_words():
    text = "b a c b a b d"
    assert top_words(text) == [("b", 3), ("a", 2), ("c", 1), ("d", 1)]
    assert top_words(text, n=2) == [("b", 3), ("a", 2)]
    assert top_words("f e d c b a") == [("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)]
    assert top_words(text, n=1, stopwords=("b",)) == [("a", 2)]


def test_lexical_diversity():
    assert lexical_diversity("a b c d") == 1.0
    assert lexical_diversity("a A b B") == 0.5
    assert lexical_diversity("x y x", ndigits=2) == 0.67
    assert lexical_diversity("") == 0.0


def test_summary():
    assert summary("The cat sat on the mat. It was happy.") == {
        "words": 9, "characters": 29, "sentences": 2, "reading_ease": 108.3, "level": "very easy"}
