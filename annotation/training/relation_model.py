"""A trainable relation-extraction component: a classifier over entity pairs near each other.

spaCy has no relation component of its own, so this one is small and self-contained:

- *Candidates*: every ordered pair of predicted spans (doc.spans["sc"] if set, else doc.ents:
  `annotation.preannotate.doc_spans`) whose labels the schema allows as a relation's head and
  tail, at most `max_distance` tokens apart (nested pairs included: "500 kg" inside
  "500 kg of ketamine").
- *Features*: the two labels, their order or nesting, the distance, whether they share a
  sentence, the words and span labels between them, the words around them, and whether the
  head is the nearest span of its label to the tail; hashed into 2**hash_bits rows.
- *Model*: one multinomial logistic regression over "no relation" and the relations the
  schema allows for the pair's labels (others are masked), fitted with AdaGrad from the
  relations of an export (`annotation.training.export`), with the settings of
  configs/spacy/relations.cfg.

Output, on every Doc the component processes:

- ``doc.user_data["relations"]``: a list of ``(head_start_char, head_end_char,
  tail_start_char, tail_end_char, label)`` tuples, the format the export writes (so gold and
  predicted Docs compare directly, and DocBins keep it); read it back as spaCy spans with
  `read_relations(doc)`;
- ``doc._.contraband_relations``: ``(head index, tail index, label)`` over `doc_spans(doc)`,
  what `annotation.preannotate.doc_to_annotation` turns into prediction relations.

The component is registered as the spaCy factory ``contraband_relation_model`` when this module
is imported (annotation.training.train and annotation.preannotate import it before loading a
pipeline; the package also declares it as a ``spacy_factories`` entry point).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan
from spacy.training import Example
from spacy.util import load_config

from annotation.preannotate import RELATIONS_ATTR, doc_spans
from annotation.schema import Schema
from corpus.errors import ConfigError

LOGGER = logging.getLogger(__name__)
MIN_SPANS_CHECKED = 20  # max_span_density applies to Docs with more spans than this
RELATION_MODEL = "contraband_relation_model"
NO_RELATION = "NONE"
WEIGHTS_FILE = "weights.npz"  # compressed: most hashed rows stay zero
MODEL_FILE = "model.json"
CONFIG_SECTION = "relations"
DISTANCE_BUCKETS = (0, 1, 2, 4, 8, 16, 32)
BETWEEN_WORDS = 8  # all words between the two spans up to this many, else the first and last 3

RelationTuple = tuple[int, int, int, int, str]


@dataclass(frozen=True)
class RelationSettings:
    """The relation model's settings (configs/spacy/relations.cfg, section [relations])."""

    max_distance: int = 40  # tokens between the two spans of a candidate pair
    # a Doc with more predicted spans than this many per token (and more than 20) gets no
    # relation, with a warning: annotated text has about 0.1 per token, an untrained spancat ~8
    max_span_density: float = 1.0
    hash_bits: int = 18  # feature rows: 2**hash_bits
    epochs: int = 30
    learn_rate: float = 0.3
    l2: float = 1e-5
    threshold: float = 0.5  # least probability of a relation to predict it
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str) -> RelationSettings:
        """Settings from a mapping; unknown keys and wrong types are reported together."""
        known = {f.name: f.type for f in fields(cls)}
        problems = [
            f"unknown setting {key!r} (known: {', '.join(known)})"
            for key in raw
            if key not in known
        ]
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                continue
            want = int if known[key] in ("int", int) else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{key} = {value!r} is not a number")
            elif want is int and not float(value).is_integer():
                problems.append(f"{key} = {value!r} must be a whole number")
            else:
                values[key] = want(value)
        settings = cls(**values) if not problems else cls()
        if not problems:
            problems += settings._range_problems()
        if problems:
            raise ConfigError(
                f"{source}: [{CONFIG_SECTION}] " + "; ".join(problems) + "; fix the config file"
            )
        return settings

    def _range_problems(self) -> list[str]:
        checks = [
            (self.max_distance >= 0, "max_distance must be >= 0"),
            (self.max_span_density > 0, "max_span_density must be > 0"),
            (8 <= self.hash_bits <= 24, "hash_bits must be between 8 and 24"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.learn_rate > 0, "learn_rate must be > 0"),
            (self.l2 >= 0, "l2 must be >= 0"),
            (0 < self.threshold < 1, "threshold must be between 0 and 1"),
        ]
        return [message for ok, message in checks if not ok]


def read_relation_settings(path: Path) -> RelationSettings:
    """Read the [relations] section of a relation config (spaCy/thinc config syntax)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: relation config not found; use configs/spacy/relations.cfg")
    try:
        config = load_config(path, interpolate=True)
    except Exception as exc:  # thinc raises several error types for syntax problems
        raise ConfigError(f"{path}: not a valid config file: {exc}") from None
    section = config.get(CONFIG_SECTION)
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: needs a [{CONFIG_SECTION}] section (see relations.cfg)")
    return RelationSettings.from_mapping(dict(section), source=str(path))


def schema_relation_rules(schema: Schema) -> list[dict[str, Any]]:
    """The schema's relations as JSON-able {name, head, tail} (the component's config)."""
    return [{"name": r.name, "head": list(r.head), "tail": list(r.tail)} for r in schema.relations]


# -- reading and writing relations on a Doc ---------------------------------------------


def read_relations(doc: Doc) -> list[tuple[SpacySpan, SpacySpan, str]]:
    """doc.user_data["relations"] as (head span, tail span, label), each span labelled like the
    doc's span at the same characters (doc.spans["sc"], else doc.ents) when there is one.

    `annotation.training.export.doc_relations` reads the tuples (and refuses any that is not on
    token boundaries); this adds the span labels a relation's two ends carry.
    """
    from annotation.training.export import doc_relations  # local: export reads releases

    labels = {(s.start_char, s.end_char): s.label_ for s in doc_spans(doc)}
    out = []
    for relation in doc_relations(doc):
        head, tail = relation.head, relation.tail
        out.append(
            (
                SpacySpan(
                    doc,
                    head.start,
                    head.end,
                    label=labels.get((head.start_char, head.end_char), ""),
                ),
                SpacySpan(
                    doc,
                    tail.start,
                    tail.end,
                    label=labels.get((tail.start_char, tail.end_char), ""),
                ),
                relation.label,
            )
        )
    return out


def write_relations(
    doc: Doc, spans: Sequence[SpacySpan], found: Iterable[tuple[int, int, str]]
) -> None:
    """Store relations (by index into `spans`) in both places the module docstring names."""
    found = sorted(set(found))
    doc._.set(RELATIONS_ATTR, found)
    doc.user_data["relations"] = [
        (spans[h].start_char, spans[h].end_char, spans[t].start_char, spans[t].end_char, label)
        for h, t, label in found
    ]


# -- features -------------------------------------------------------------------------


def _bucket(n: int) -> str:
    return str(max(b for b in DISTANCE_BUCKETS if n >= b))


def _sentence_ids(doc: Doc) -> list[int]:
    if not doc.has_annotation("SENT_START"):
        return [0] * len(doc)
    ids, current = [], -1
    for token in doc:
        if token.is_sent_start or current < 0:
            current += 1
        ids.append(current)
    return ids


def _gap(a: SpacySpan, b: SpacySpan) -> int:
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _order(head: SpacySpan, tail: SpacySpan) -> str:
    if head.start <= tail.start and tail.end <= head.end:
        return "tail_inside"
    if tail.start <= head.start and head.end <= tail.end:
        return "head_inside"
    if head.end <= tail.start:
        return "head_first"
    if tail.end <= head.start:
        return "tail_first"
    return "overlap"


def pair_features(
    doc: Doc, spans: Sequence[SpacySpan], h: int, t: int, sentence_of: Sequence[int]
) -> list[str]:
    """The feature strings of the candidate pair (spans[h] -> spans[t])."""
    head, tail = spans[h], spans[t]
    pair = f"{head.label_}>{tail.label_}"
    order = _order(head, tail)
    gap = _gap(head, tail)
    first, second = (head, tail) if head.start <= tail.start else (tail, head)
    lo, hi = (first.end, second.start) if order in ("head_first", "tail_first") else (0, 0)
    between = [tok.norm_ for tok in doc[lo:hi] if not tok.is_space]
    if len(between) > BETWEEN_WORDS:
        between = between[:3] + ["..."] + between[-3:]
    others = [
        s.label_
        for k, s in enumerate(spans)
        if k not in (h, t) and lo <= s.start and s.end <= hi and hi > lo
    ]
    same_sentence = sentence_of[head.start] == sentence_of[min(tail.start, len(doc) - 1)]
    rivals = [
        s
        for k, s in enumerate(spans)
        if k != h and s.label_ == head.label_ and _order(s, tail) not in ("head_inside",)
    ]
    nearest = all(_gap(s, tail) >= gap or s.start <= tail.start <= s.end for s in rivals)
    before = doc[first.start - 1].norm_ if first.start > 0 else "<s>"
    after = doc[second.end].norm_ if second.end < len(doc) else "</s>"
    feats = [
        "bias",
        f"pair={pair}",
        f"order={order}",
        f"pair_order={pair}|{order}",
        f"dist={_bucket(gap)}",
        f"pair_dist={pair}|{_bucket(gap)}",
        f"same_sentence={same_sentence}",
        f"pair_same_sentence={pair}|{same_sentence}",
        f"others={min(len(others), 3)}",
        f"pair_nearest={pair}|{nearest}",
        f"pair_order_nearest={pair}|{order}|{nearest}",
        f"before={before}",
        f"after={after}",
        f"head_last={head[-1].norm_}",
        f"tail_last={tail[-1].norm_}",
    ]
    feats += [f"between={w}" for w in between]
    feats += [f"pair_between={pair}|{w}" for w in between]
    feats += [f"between_label={label}" for label in others]
    feats += [f"pair_between_label={pair}|{label}" for label in others]
    if order == "tail_inside":
        inner = [tok.norm_ for tok in head if not (tail.start <= tok.i < tail.end)]
        feats += [f"inside_rest={w}" for w in inner]
    return feats


def _hash(features: Iterable[str], bits: int) -> np.ndarray:
    mask = (1 << bits) - 1
    return np.unique(np.fromiter((zlib.crc32(f.encode()) & mask for f in features), dtype=np.int64))


# -- the component -----------------------------------------------------------------------


@Language.factory(
    RELATION_MODEL,
    default_config={"relations": [], "settings": {}},
)
def make_relation_model(
    nlp: Language, name: str, relations: list[dict[str, Any]], settings: dict[str, Any]
) -> RelationModel:
    """spaCy factory: `relations` are the schema's {name, head, tail}; `settings` as in
    RelationSettings (configs/spacy/relations.cfg)."""
    return RelationModel(
        relations=relations,
        settings=RelationSettings.from_mapping(settings, source=f"component {name}"),
        name=name,
    )


class RelationModel:
    """Predicts relations between a Doc's spans; see the module docstring."""

    def __init__(
        self,
        *,
        relations: Sequence[Mapping[str, Any]],
        settings: RelationSettings,
        name: str = RELATION_MODEL,
    ) -> None:
        self.name = name
        self.settings = settings
        self.classes = [NO_RELATION, *(str(r["name"]) for r in relations)]
        self.allowed: dict[tuple[str, str], list[int]] = {}
        for k, rule in enumerate(relations, start=1):
            for head in rule["head"]:
                for tail in rule["tail"]:
                    self.allowed.setdefault((str(head), str(tail)), [0]).append(k)
        self.weights = np.zeros((1 << settings.hash_bits, len(self.classes)), dtype=np.float32)
        self.trained_labels: dict[str, int] = {}  # relation -> training examples seen
        self.skipped_docs = 0  # Docs with implausibly many spans (see max_span_density)

    # candidates and probabilities
    def candidates(self, doc: Doc, spans: Sequence[SpacySpan]) -> list[tuple[int, int]]:
        """Ordered span pairs the schema allows, within max_distance tokens."""
        out = []
        for h, head in enumerate(spans):
            for t, tail in enumerate(spans):
                if h == t or (head.label_, tail.label_) not in self.allowed:
                    continue
                if (head.start, head.end) == (tail.start, tail.end):
                    continue
                if _gap(head, tail) <= self.settings.max_distance:
                    out.append((h, t))
        return out

    def _probabilities(self, rows: np.ndarray, allowed: list[int]) -> np.ndarray:
        logits = self.weights[rows][:, allowed].sum(axis=0).astype(np.float64)
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def predict(self, doc: Doc, spans: Sequence[SpacySpan]) -> list[tuple[int, int, str]]:
        """(head index, tail index, label) for every candidate pair classified as a relation."""
        sentence_of = _sentence_ids(doc)
        found = []
        for h, t in self.candidates(doc, spans):
            allowed = self.allowed[(spans[h].label_, spans[t].label_)]
            rows = _hash(pair_features(doc, spans, h, t, sentence_of), self.settings.hash_bits)
            probs = self._probabilities(rows, allowed)
            best = int(np.argmax(probs))
            if allowed[best] != 0 and probs[best] >= self.settings.threshold:
                found.append((h, t, self.classes[allowed[best]]))
        return found

    def __call__(self, doc: Doc) -> Doc:
        spans = doc_spans(doc)
        if len(spans) > max(MIN_SPANS_CHECKED, self.settings.max_span_density * len(doc)):
            # an undertrained spancat proposes several spans per token; pairing them all would
            # take minutes per Doc, and such spans are noise anyway
            self.skipped_docs += 1
            if self.skipped_docs == 1:
                LOGGER.warning(
                    "%s: Doc %r has %d predicted spans for %d tokens, more than "
                    "max_span_density=%s per token; no relation is predicted for it, nor for "
                    "any such Doc (logged once; counted in skipped_docs). Train the span model "
                    "longer, or raise max_span_density in configs/spacy/relations.cfg",
                    self.name,
                    doc.user_data.get("id", doc.text[:40]),
                    len(spans),
                    len(doc),
                    self.settings.max_span_density,
                )
            spans = []
        write_relations(doc, spans, self.predict(doc, spans) if spans else [])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    # training
    def fit(self, docs: Sequence[Doc]) -> dict[str, int]:
        """Fit on Docs carrying gold spans and doc.user_data["relations"]; returns the count of
        training pairs per class. Relations the schema does not allow between their spans'
        labels are not learnable and are counted under "not a candidate"."""
        examples: list[tuple[np.ndarray, list[int], int]] = []
        counts: Counter[str] = Counter()
        for doc in docs:
            spans = doc_spans(doc)
            by_chars = {(s.start_char, s.end_char): i for i, s in enumerate(spans)}
            gold: dict[tuple[int, int], str] = {}
            for hs, he, ts, te, label in doc.user_data.get("relations") or []:
                h, t = by_chars.get((hs, he)), by_chars.get((ts, te))
                if h is not None and t is not None:
                    gold[(h, t)] = str(label)
            sentence_of = _sentence_ids(doc)
            candidates = self.candidates(doc, spans)
            for h, t in candidates:
                allowed = self.allowed[(spans[h].label_, spans[t].label_)]
                label = gold.get((h, t), NO_RELATION)
                target = self.classes.index(label) if label in self.classes else 0
                if target not in allowed:
                    target = 0
                counts[self.classes[target]] += 1
                rows = _hash(pair_features(doc, spans, h, t, sentence_of), self.settings.hash_bits)
                examples.append((rows, allowed, allowed.index(target)))
            counts["not a candidate"] += len(set(gold) - set(candidates))
        self._adagrad(examples)
        self.trained_labels = {k: v for k, v in counts.items() if k != NO_RELATION}
        return dict(counts)

    def _adagrad(self, examples: list[tuple[np.ndarray, list[int], int]]) -> None:
        s = self.settings
        rng = np.random.default_rng(s.seed)
        squares = np.full(self.weights.shape, 1e-8, dtype=np.float32)
        order = np.arange(len(examples))
        for _ in range(s.epochs):
            rng.shuffle(order)
            for n in order:
                rows, allowed, target = examples[n]
                probs = self._probabilities(rows, allowed)
                grad = probs.astype(np.float32)
                grad[target] -= 1.0
                block = np.ix_(rows, np.asarray(allowed, dtype=np.int64))
                full = grad[None, :] + s.l2 * self.weights[block]
                squares[block] += full**2
                self.weights[block] -= s.learn_rate * full / np.sqrt(squares[block])

    # scoring (called by nlp.evaluate)
    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """rel_p / rel_r / rel_f and rel_per_type {label: {p, r, f, support}} (exact match on
        both spans' characters and the label)."""
        return score_relations(
            (
                e.predicted.user_data.get("relations") or [],
                e.reference.user_data.get("relations") or [],
            )
            for e in examples
        )

    # serialisation (nlp.to_disk / spacy.load)
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path / WEIGHTS_FILE, weights=self.weights)
        (path / MODEL_FILE).write_text(
            json.dumps(
                {
                    "classes": self.classes,
                    "settings": asdict(self.settings),
                    "trained_labels": self.trained_labels,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RelationModel:
        path = Path(path)
        meta = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
        if meta["classes"] != self.classes:
            raise ConfigError(
                f"{path}: the relation model was trained for relations {meta['classes'][1:]}, "
                f"but the pipeline's config names {self.classes[1:]}; retrain it"
            )
        with np.load(path / WEIGHTS_FILE) as stored:
            weights = stored["weights"]
        if weights.shape != self.weights.shape:
            raise ConfigError(
                f"{path}: weights of shape {weights.shape}, expected {self.weights.shape} "
                "(hash_bits and relations of the config); retrain the relation model"
            )
        self.weights = weights
        self.trained_labels = dict(meta.get("trained_labels") or {})
        return self


def score_relations(
    pairs: Iterable[tuple[Sequence[RelationTuple], Sequence[RelationTuple]]],
) -> dict[str, Any]:
    """Micro P/R/F and per-label {p, r, f, support, predicted} over (predicted, gold) relation
    tuple lists, one pair per document; support is the gold count."""
    counts: dict[str, Counter[str]] = {}
    for predicted, gold in pairs:
        pred_set = {tuple(r) for r in predicted}
        gold_set = {tuple(r) for r in gold}
        for key in pred_set | gold_set:
            c = counts.setdefault(str(key[4]), Counter())
            c[
                "tp" if key in pred_set and key in gold_set else "fp" if key in pred_set else "fn"
            ] += 1
    per_type = {label: prf(c["tp"], c["fp"], c["fn"]) for label, c in sorted(counts.items())}
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    overall = prf(total["tp"], total["fp"], total["fn"])
    return {
        "rel_p": overall["p"],
        "rel_r": overall["r"],
        "rel_f": overall["f"],
        "rel_support": overall["support"],
        "rel_per_type": per_type,
    }


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall, F1 (0.0 when undefined), support (tp + fn) and predicted (tp + fp)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f, "support": tp + fn, "predicted": tp + fp}


def add_sentences(docs: Iterable[Doc]) -> list[Doc]:
    """The Docs with sentence starts set by spaCy's rule sentencizer (for the same-sentence
    feature, as the trained pipeline's sentencizer sets them at prediction time)."""
    sentencizer = spacy.blank("en").add_pipe("sentencizer")
    return [sentencizer(doc) for doc in docs]


def train_relation_model(
    docs: Sequence[Doc], *, schema: Schema, settings: RelationSettings
) -> tuple[RelationModel, dict[str, int]]:
    """A RelationModel fitted on Docs with gold spans and relations; and its training counts."""
    model = RelationModel(relations=schema_relation_rules(schema), settings=settings)
    counts = model.fit(add_sentences(docs))
    return model, counts
