"""Text helpers of the search family: Search-R1's answer normalisation, EM and F1, query cleaning, tokenising.

``normalize_answer`` is the SQuAD / Search-R1 normalisation: lower case, punctuation removed, the articles
``a``, ``an`` and ``the`` removed, whitespace collapsed. ``exact_match`` and ``f1`` compare a prediction with
every gold alias and keep the best. ``tokenize`` is the one tokeniser behind every lexical index of the family
(bm25s here, rank_bm25 in the benchmark), so that two lexical indexes of one corpus see the same terms.

Standard library only.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_WS = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Lower case, no ASCII punctuation, no articles, single spaces (Search-R1's ``normalize_answer``)."""
    text = text.lower().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _as_aliases(gold: str | Sequence[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else [str(g) for g in gold]


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold alias, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _as_aliases(gold)))


def f1_pair(prediction: str, gold: str) -> float:
    """Token F1 of two strings after normalisation (bag of tokens, as in SQuAD and Search-R1)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, gold: str | Sequence[str]) -> float:
    """The best token F1 of ``prediction`` against any gold alias."""
    return max((f1_pair(prediction, g) for g in _as_aliases(gold)), default=0.0)


# ---- queries ----------------------------------------------------------------------------------------------

def clean_query(text: str) -> str:
    """The query as a retriever should see it: control and format characters become spaces, Unicode is
    NFKC-normalised (full-width letters become ASCII ones), whitespace is collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(text.split())


def has_searchable_word(text: str) -> bool:
    """Whether ``text`` has a letter or a digit in any script."""
    return any(ch.isalnum() for ch in text)


# ---- the lexical tokeniser -------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")

# Common English function words (a short list: fictional names and numbers must never be dropped).
STOPWORDS = frozenset(
    """a an and are as at be been but by did do does for from had has have he her his how i in into is it its
    of on or she so than that the their them then there these they this to was were what when where which who
    whom whose why will with you your""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (Unicode ``\\w+``) without stopwords: what the lexical indexes store."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def tokenize_many(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


def query_terms(text: str) -> frozenset[str]:
    """The set of a query's searchable terms (for near-duplicate detection)."""
    return frozenset(tokenize(clean_query(text)))
