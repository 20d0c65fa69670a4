"""Slugs: transliteration of accented letters and URL-safe identifiers."""

#: Replacements for characters that have no plain ASCII form.
TRANSLIT = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
    "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "å": "a", "Å": "A", "œ": "oe",
    "é": "e", "è": "e", "ê": "e", "ë": "e", "É": "E", "á": "a", "à": "a", "â": "a",
    "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "õ": "o",
    "ú": "u", "ù": "u", "û": "u", "ñ": "n", "Ñ": "N", "ç": "c", "Ç": "C", "ł": "l",
    "Ł": "L", "ý": "y", "ÿ": "y", "&": " and ", "@": " at ", "%": " percent ",
}


def transliterate(text, table=None, unknown=""):
    """Replace non-ASCII characters using ``table`` (default :data:`TRANSLIT`).

    Characters found in the table are replaced even when they are ASCII
    (``&`` becomes `` and ``).  Other non-ASCII characters become ``unknown``.
    """
    table = TRANSLIT if table is None else table
    out = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(unknown)
    return "".join(out)


def slugify(text, sep="-", max_length=None, lowercase=True, stopwords=()):
    """Turn ``text`` into a slug such as ``hello-world``.

    The text is transliterated, every run of non-alphanumeric characters
    becomes one ``sep``, words listed in ``stopwords`` are dropped, and the
    result is cut at a separator so it is at most ``max_length`` long.
    """
    ascii_text = transliterate(text)
    if lowercase:
        ascii_text = ascii_text.lower()
    parts = []
    word = ""
    for ch in ascii_text:
        if ch.isalnum():
            word += ch
        elif word:
            parts.append(word)
            word = ""
    if word:
        parts.append(word)
    skip = {s.lower() for s in stopwords}
    parts = [p for p in parts if p.lower() not in skip]
    slug = sep.join(parts)
    if max_length is not None and len(slug) > max_length:
        full = slug
        slug = full[:max_length]
        if full[max_length] != sep and sep in slug:
            slug = slug[:slug.rindex(sep)]
        slug = slug.strip(sep)
    return slug


def unique_slug(base, existing, sep="-", start=2):
    """``base`` if unused, else ``base-2``, ``base-3``, ... avoiding ``existing``."""
    if base not in existing:
        return base
    number = start
    while f"{base}{sep}{number}" in existing:
        number += 1
    return f"{base}{sep}{number}"


def is_slug(text, sep="-"):
    """True for non-empty lower-case alphanumeric words joined by single ``sep``."""
    if not text or text.startswith(sep) or text.endswith(sep):
        return False
    if sep + sep in text:
        return False
    return all(ch.isascii() and (ch.isdigit() or ch.islower()) for ch in text.replace(sep, ""))
