"""Tokenisation helpers: words, tokens with offsets, n-grams and case splitting."""

WORD_CHARS = "'-_"
PUNCTUATION = ".,;:!?\"()[]{}"


def is_word_char(ch):
    """True for letters, digits and the joiners in :data:`WORD_CHARS`."""
    return ch.isalnum() or ch in WORD_CHARS


def normalize_whitespace(text):
    """Collapse runs of whitespace into single spaces and strip the ends."""
    return " ".join(text.split())


def tokens(text, keep_punct=False):
    """Split ``text`` into ``(token, start, end)`` triples.

    Words are maximal runs of word characters; leading and trailing joiners
    (``'``, ``-``, ``_``) are trimmed off a word.  With ``keep_punct`` every
    other non-space character becomes a one-character token of its own.
    """
    result = []
    n = len(text)
    resume = 0
    for i, ch in enumerate(text):
        if i < resume:
            continue
        if is_word_char(ch):
            j = i
            while j < n and is_word_char(text[j]):
                j += 1
            resume = j
            start, end = i, j
            while start < end and text[start] in WORD_CHARS:
                start += 1
            while end > start and text[end - 1] in WORD_CHARS:
                end -= 1
            if start < end:
                result.append((text[start:end], start, end))
        elif keep_punct and not ch.isspace():
            result.append((ch, i, i + 1))
    return result


def words(text, lower=False, min_length=1):
    """The words of ``text`` (no offsets), optionally lower-cased and length-filtered."""
    found = [tok for tok, _, _ in tokens(text)]
    if lower:
        found = [w.lower() for w in found]
    return [w for w in found if len(w) >= min_length]


def ngrams(items, n=2):
    """Consecutive ``n``-tuples of ``items``; empty when there are fewer than ``n``."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return [tuple(items[i:i + n]) for i in range(len(items) - n + 1)]


def split_camel(name):
    """Split ``camelCase``/``PascalCase``/``HTTPServer`` identifiers into parts."""
    parts = []
    current = ""
    for i, ch in enumerate(name):
        if ch in "_- ":
            if current:
                parts.append(current)
            current = ""
            continue
        if current and ch.isupper():
            prev = name[i - 1]
            nxt = name[i + 1] if i + 1 < len(name) else ""
            if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                parts.append(current)
                current = ""
        current += ch
    if current:
        parts.append(current)
    return parts


def snake_case(name):
    """``HTTPServerError`` -> ``http_server_error``."""
    return "_".join(part.lower() for part in split_camel(name))


def camel_case(name, upper_first=False):
    """``http_server_error`` -> ``httpServerError`` (or ``HttpServerError``)."""
    parts = [p for p in split_camel(name) if p]
    if not parts:
        return ""
    head = parts[0].capitalize() if upper_first else parts[0].lower()
    return head + "".join(p.capitalize() for p in parts[1:])


def char_ngrams(word, n=3, pad="#"):
    """Character ``n``-grams of ``word`` padded with ``pad`` at both ends."""
    if pad:
        word = pad + word + pad
    return [word[i:i + n] for i in range(max(len(word) - n + 1, 0))]
