"""A page's language, and the stopwords of that language.

The language comes from py3langid (a maintained fork of langid.py, its model ships inside the
package) run on a sample of the page's longest lines, which are mostly article text. Stopwords
come from jusText's stoplists (100 languages, installed with trafilatura), with wordfreq's most
frequent words for a language jusText lacks. Both feed the line classifier (stopword density is
the best single sign of prose in any language) and gate language-specific steps such as the
repair of glued words.
"""

from __future__ import annotations

import functools
import gzip
import importlib.metadata
import threading
from collections.abc import Sequence
from typing import NamedTuple

import justext
import numpy as np
import pycountry

from ..cache import cached_arrays
from .fastlangid import ArrayLanguageIdentifier, read_model_arrays

SAMPLE_CHARS = 500  # ~80 words of prose tell the language; the detector's cost grows with it
MIN_SAMPLE_CHARS = 40  # below this a guess is noise: the language stays unknown
MIN_PROBABILITY = 0.5


class LanguageGuess(NamedTuple):
    """ISO 639-1 code (or None when unknown) and the detector's probability."""

    code: str | None
    probability: float


UNKNOWN = LanguageGuess(None, 0.0)


def _load_identifier():  # noqa: ANN202 - py3langid's own type
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.cache
def _identifier():  # noqa: ANN202 - py3langid's own type
    """py3langid's identifier: the plain definition the cleaner's detector is tested against."""
    return _load_identifier()


@functools.cache
def _load_array_identifier() -> ArrayLanguageIdentifier:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    model = MODEL_DIR / MODEL_FILE

    def build() -> dict[str, np.ndarray]:
        return ArrayLanguageIdentifier.from_model_arrays(read_model_arrays(model)).built_arrays()

    stat = model.stat()
    key = {
        "py3langid": importlib.metadata.version("py3langid"),
        "model": [str(model), stat.st_size, stat.st_mtime_ns],
        "numpy": np.__version__,
    }
    arrays = cached_arrays("langid", key, build, names=ArrayLanguageIdentifier.BUILT_ARRAYS)
    return ArrayLanguageIdentifier.from_built_arrays(arrays)


_LOADING = threading.Lock()  # one thread loads the model; the others wait for it


def _array_identifier() -> ArrayLanguageIdentifier:
    """py3langid's identifier run array-at-a-time (the same answers, tested), made from
    py3langid's model file (`read_model_arrays`; no py3langid identifier is kept beside
    it) and kept in the cache directory (corpus.cache: the next run maps it in
    milliseconds); loaded once, by whichever thread asks first."""
    with _LOADING:
        return _load_array_identifier()


def warm_up() -> None:
    """Load the language model now (before worker processes fork: they inherit it)."""
    _array_identifier()


def load_in_background() -> threading.Thread:
    """Start loading the language model in a daemon thread and return the thread.

    On a machine's first run most of the load (~0.3 s) is LZMA decompression, which runs
    outside the GIL: started before other work of this process (learning boilerplate,
    loading the glue tables), it costs next to no time; later runs map the cached tables.
    Call `warm_up` before using the model or forking workers: it waits for the thread, and
    raises the error if the load failed."""

    def load() -> None:
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - warm_up, called before the model is used, raises it
            return

    thread = threading.Thread(target=load, name="load-language-model", daemon=True)
    thread.start()
    return thread


def language_sample(lines: list[str], *, limit: int = SAMPLE_CHARS) -> str:
    """The page's longest lines, joined, cut to about `limit` characters."""
    picked: list[str] = []
    total = 0
    for line in sorted(lines, key=len, reverse=True):
        if total >= limit:
            break
        picked.append(line)
        total += len(line)
    sample = "\n".join(picked)
    if len(sample) > limit:  # the detector's cost grows with the text: cut at a word end
        cut = sample.rfind(" ", 0, limit)
        sample = sample[: cut if cut > limit // 2 else limit]
    return sample


def detect_language(lines: list[str]) -> LanguageGuess:
    """The language of a page given its lines (py3langid on the longest lines)."""
    sample = _sample(lines)
    if len(sample) < MIN_SAMPLE_CHARS:
        return UNKNOWN
    return _guess(*_array_identifier().classify(sample))


def detect_languages(pages_lines: Sequence[list[str]]) -> list[LanguageGuess]:
    """`detect_language` of each page's lines, the pages' samples classified together."""
    samples = [_sample(lines) for lines in pages_lines]
    known = [i for i, sample in enumerate(samples) if len(sample) >= MIN_SAMPLE_CHARS]
    out = [UNKNOWN] * len(samples)
    found = _array_identifier().classify_many([samples[i] for i in known]) if known else []
    for i, (code, probability) in zip(known, found, strict=True):
        out[i] = _guess(code, probability)
    return out


def _sample(lines: list[str]) -> str:
    stripped = [line.strip() for line in lines]
    return language_sample([line for line in stripped if line])


def _guess(code: str, probability: float) -> LanguageGuess:
    if probability < MIN_PROBABILITY:
        return LanguageGuess(None, float(probability))
    return LanguageGuess(str(code), float(probability))


def _justext_name(code: str) -> str | None:
    language = pycountry.languages.get(alpha_2=code)
    if language is None:
        return None
    available = {name.lower(): name for name in justext.get_stoplists()}
    for name in (language.name, getattr(language, "common_name", None)):
        if name and name.lower().replace(" ", "_") in available:
            return available[name.lower().replace(" ", "_")]
    # "Modern Greek (1453-)" -> "Greek", "Norwegian Bokmål" -> "Norwegian_Bokmal"
    first = language.name.split(" (")[0].split()[-1].lower()
    return available.get(first)


@functools.cache
def stopwords(code: str | None) -> frozenset[str]:
    """Lower-case stopwords of a language (empty when neither jusText nor wordfreq knows it)."""
    if not code:
        return frozenset()
    name = _justext_name(code)
    if name is not None:
        return frozenset(word.lower() for word in justext.get_stoplist(name))
    known = _wordfreq_code(code)
    if known is None:
        return frozenset()
    return frozenset(top_words(known, 200))


def top_words(code: str, n: int) -> list[str]:
    """`wordfreq.top_n_list(code, n)` for a language wordfreq has, read from the head of its
    word list file: wordfreq reads a whole list (24 MB or more in memory) and caches it for
    the life of the process, and a worker meets many languages. The file (wordfreq's
    "cBpack": gzipped msgpack, a header and then bands of words, most frequent first) is
    unpacked band by band until `n` words are found."""
    import msgpack
    from wordfreq import available_languages, has_digit_sequence

    path = available_languages("best")[code]
    words: list[str] = []
    with gzip.open(path, "rb") as packed:
        unpacker = msgpack.Unpacker(packed, raw=False)
        bands = unpacker.read_array_header() - 1
        header = unpacker.unpack()
        if not _is_word_list_header(header):
            raise ValueError(f"{path}: not a wordfreq word list (header {header!r})")
        for _ in range(bands):
            for word in unpacker.unpack():
                if not has_digit_sequence(word):
                    words.append(word)
                    if len(words) >= n:
                        return words
    return words


def _is_word_list_header(header: object) -> bool:
    """Whether `header` is the header wordfreq's `read_cBpack` accepts."""
    return isinstance(header, dict) and header.get("format") == "cB" and header.get("version") == 1


# langcodes' distance between two language tags: 0 the same language, up to 10 varieties of
# one language ("no" Norwegian -> "nb" Bokmal 1, "wuu" Wu -> "zh" Chinese 10), more another
# language ("pcm" Nigerian Pidgin -> "en" 24, "sn" Shona -> "en" 34)
SAME_LANGUAGE_DISTANCE = 10


def _wordfreq_code(code: str) -> str | None:
    """The wordfreq language that `code` names or is a variety of (see
    SAME_LANGUAGE_DISTANCE), else None. wordfreq itself would answer for its nearest
    language, however far ("sn" Shona -> English): the stopwords of another language would
    make the prose test count the wrong words."""
    import langcodes
    import wordfreq

    available = sorted(wordfreq.available_languages())
    if code in available:
        return code
    try:
        distance, nearest = min((langcodes.tag_distance(code, k), k) for k in available)
    except (LookupError, ValueError):  # not a language tag langcodes can read
        return None
    return nearest if distance <= SAME_LANGUAGE_DISTANCE else None
