"""Text statistics: counts, sentence splitting, syllables and readability."""

from .tokens import words

ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e")
VOWELS = "aeiouy"


def sentences(text):
    """Split ``text`` into sentences ending in ``.``, ``!`` or ``?``.

    A period after a known abbreviation (``Dr.``) or a single capital letter
    (``J.``) does not end a sentence; neither does one followed directly by a
    non-space character (``3.14``).  Trailing text without terminator counts
    as a sentence.
    """
    result = []
    start = 0
    resume = 0
    n = len(text)
    for i, ch in enumerate(text):
        if i < resume or ch not in ".!?":
            continue
        j = i
        while j + 1 < n and text[j + 1] in ".!?":
            j += 1
        resume = j + 1
        at_end = j + 1 >= n or text[j + 1].isspace()
        if at_end and not (ch == "." and _is_abbreviation(text, start, i)):
            piece = text[start:j + 1].strip()
            if piece:
                result.append(piece)
            start = j + 1
    tail = text[start:].strip()
    if tail:
        result.append(tail)
    return result


def _is_abbreviation(text, start, dot):
    """True when the word just before ``text[dot]`` is an abbreviation or initial."""
    k = dot
    while k > start and not text[k - 1].isspace():
        k -= 1
    word = text[k:dot]
    if len(word) == 1 and word.isupper():
        return True
    return word.lower() in ABBREVIATIONS


def syllables(word):
    """Estimate the syllables in ``word`` by counting vowel groups.

    A silent final ``e`` is not counted (but ``-le`` after a consonant is),
    and every word has at least one syllable.
    """
    w = word.lower().strip(".,;:!?'\"")
    if not w:
        return 0
    count = 0
    previous = False
    for ch in w:
        vowel = ch in VOWELS
        if vowel and not previous:
            count += 1
        previous = vowel
    if w.endswith("e") and not w.endswith("le"):
        count -= 1
    elif w.endswith("le") and len(w) > 2 and w[-3] in VOWELS:
        count -= 1
    return max(count, 1)


def word_count(text):
    """Number of words in ``text``."""
    return len(words(text))


def char_count(text, spaces=False):
    """Number of characters, excluding whitespace unless ``spaces`` is true."""
    if spaces:
        return len(text)
    return sum(1 for ch in text if not ch.isspace())


def average_word_length(text, ndigits=2):
    """Mean letters per word, rounded to ``ndigits``; 0.0 for no words."""
    found = words(text)
    if not found:
        return 0.0
    return round(sum(len(w) for w in found) / len(found), ndigits)


def flesch_reading_ease(text, ndigits=1):
    """Flesch reading-ease score: ``206.835 - 1.015*wps - 84.6*spw``.

    ``wps`` is words per sentence and ``spw`` syllables per word.  Returns
    0.0 for text with no words.
    """
    found = words(text)
    if not found:
        return 0.0
    sentence_count = max(len(sentences(text)), 1)
    syllable_count = sum(syllables(w) for w in found)
    wps = len(found) / sentence_count
    spw = syllable_count / len(found)
    return round(206.835 - 1.015 * wps - 84.6 * spw, ndigits)


def grade_level(score):
    """Map a reading-ease score to a coarse audience label."""
    if score >= 90:
        return "very easy"
    if score >= 70:
        return "easy"
    if score >= 50:
        return "standard"
    if score >= 30:
        return "difficult"
    return "very difficult"


def word_frequencies(text, stopwords=(), min_length=1):
    """Mapping of lower-cased word to count, without ``stopwords``."""
    skip = {s.lower() for s in stopwords}
    counts = {}
    for w in words(text, lower=True, min_length=min_length):
        if w in skip:
            continue
        counts[w] = counts.get(w, 0) + 1
    return counts


def top_words(text, n=5, stopwords=(), min_length=1):
    """The ``n`` most frequent words as ``(word, count)``; ties sort alphabetically."""
    counts = word_frequencies(text, stopwords, min_length)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]


def lexical_diversity(text, ndigits=3):
    """Distinct words divided by total words (case-insensitive); 0.0 for no words."""
    found = words(text, lower=True)
    if not found:
        return 0.0
    return round(len(set(found)) / len(found), ndigits)


def summary(text):
    """A dict of the main statistics for ``text``."""
    score = flesch_reading_ease(text)
    return {
        "words": word_count(text),
        "characters": char_count(text),
        "sentences": len(sentences(text)),
        "reading_ease": score,
        "level": grade_level(score),
    }
