"""py3langid's `classify`, with its byte automaton run array-at-a-time: same answers, ~10x faster.

py3langid counts the byte n-grams of a text by walking an Aho-Corasick automaton one byte at
a time in Python (about 0.6 us a byte; 0.3 ms for the cleaner's 500-character sample). In
such an automaton the state after a byte is the longest suffix of the text read so far that
is a prefix of some n-gram; that suffix is at most `depth` bytes long (the deepest state), so
the state after byte i is the state reached from the start state by reading bytes
i - depth + 1 .. i alone. `ArrayLanguageIdentifier` computes that for every position at once
(`depth` vectorised steps), counts the features in the order the walk meets them, and then
scores exactly as py3langid does (same arrays, same operations, in the same order), so the
language and the probability are bit-for-bit py3langid's: tests/corpus/test_clean_fast_paths.py
compares them on real and random texts.
"""

from __future__ import annotations

import lzma
import math
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class ArrayLanguageIdentifier:
    """`classify(text) -> (code, probability)` of a py3langid identifier made with
    `norm_probs=True`, computed array-at-a-time. Reads only the identifier's public model
    arrays (`tk_nextmove`, `tk_row`, `tk_output`, `nb_ptc`, `nb_pc`, `nb_classes`)."""

    def __init__(self, identifier: Any):
        if getattr(identifier, "min_confidence", None) is not None:
            raise ValueError("ArrayLanguageIdentifier: an identifier without min_confidence")
        self._set_model(
            # the automaton's rows are shared between states: state -> row -> 256 next states
            next_state=np.frombuffer(identifier.tk_nextmove, dtype=np.uint32),
            state_row=np.frombuffer(identifier.tk_row, dtype=np.uint16),
            output=np.asarray(identifier.tk_output, dtype=np.int64),
            nb_ptc=identifier.nb_ptc,
            nb_pc=identifier.nb_pc,
            classes=list(identifier.nb_classes),
        )

    @classmethod
    def from_model_arrays(cls, arrays: dict[str, np.ndarray]) -> ArrayLanguageIdentifier:
        """The identifier of a py3langid model file's arrays (`read_model_arrays`): the
        same model as py3langid's `LanguageIdentifier.from_model_file(..., norm_probs=True)`
        makes of them, without its copies."""
        identifier = cls.__new__(cls)
        identifier._set_model(
            next_state=arrays["nextmove"].astype(np.uint32, copy=False),
            state_row=arrays["nextmove_row"],
            output=arrays["out_feat"].astype(np.int64),
            nb_ptc=arrays["ptc"],
            nb_pc=arrays["pc"],
            classes=arrays["classes"].tolist(),
        )
        return identifier

    BUILT_ARRAYS = ("next_state", "row_base", "output", "nb_ptc", "nb_pc", "classes", "depth")

    def built_arrays(self) -> dict[str, np.ndarray]:
        """The identifier's tables as arrays: `from_built_arrays` makes the same identifier
        of them (as `.npy` files they load in milliseconds; see corpus.cache)."""
        return {
            "next_state": self.next_state,
            "row_base": self.row_base,
            "output": self.output,
            "nb_ptc": self.nb_ptc,
            "nb_pc": self.nb_pc,
            "classes": np.array(self.classes, dtype=str),
            "depth": np.array([self.depth], dtype=np.int64),
        }

    @classmethod
    def from_built_arrays(cls, arrays: dict[str, np.ndarray]) -> ArrayLanguageIdentifier:
        """The identifier whose `built_arrays` these are (read-only arrays, memory-mapped
        ones included, are used as they are)."""
        identifier = cls.__new__(cls)
        identifier.next_state = np.asarray(arrays["next_state"])
        identifier.row_base = np.asarray(arrays["row_base"])
        identifier.output = np.asarray(arrays["output"])
        identifier.nb_ptc = np.asarray(arrays["nb_ptc"])
        identifier.nb_pc = np.asarray(arrays["nb_pc"])
        identifier.classes = arrays["classes"].tolist()
        identifier.alias_pairs = _alias_pairs(identifier.classes)
        identifier.depth = int(arrays["depth"][0])
        return identifier

    def _set_model(
        self,
        *,
        next_state: np.ndarray,
        state_row: np.ndarray,
        output: np.ndarray,
        nb_ptc: np.ndarray,
        nb_pc: np.ndarray,
        classes: list[str],
    ) -> None:
        self.next_state = next_state
        self.row_base = state_row.astype(np.int32) << 8
        self.output = output
        # float16 in the model; numpy's matmul casts it to float32 and then multiplies: cast
        # once here (57 MB), as the cast of the gathered rows costs 4x the product itself
        self.nb_ptc = np.asarray(nb_ptc, dtype=np.float32)
        self.nb_pc = np.asarray(nb_pc)
        self.classes = classes
        self.alias_pairs = _alias_pairs(self.classes)
        self.depth = _automaton_depth(self.next_state, self.row_base)

    def states(self, data: bytes) -> np.ndarray:
        """The automaton's state after each byte of `data` (a window of `depth` bytes each)."""
        text = np.frombuffer(data, dtype=np.uint8).astype(np.int32)
        n = len(text)
        state = np.zeros(n, dtype=np.int32)
        for back in range(self.depth - 1, -1, -1):
            # positions whose window starts before the text start from the start state there
            if back >= n:
                continue
            moved = self.next_state[self.row_base[state[back:]] + text[: n - back]]
            state[back:] = moved
        return state

    def feature_counts(self, data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(feature ids, counts) in the order py3langid's walk first meets each feature."""
        found = self.output[self.states(data)]
        found = found[found >= 0]
        if not len(found):
            return None
        ids, first, counts = np.unique(found, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        return ids[order].astype(np.intp), counts[order].astype(np.float32)

    def classify(self, text: str) -> tuple[str, float]:
        """py3langid's `LanguageIdentifier.classify(text)` (norm_probs=True)."""
        data = _model_bytes(text)
        return self._best(data, self.feature_counts(data))

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """`classify` of each text; the automaton runs over all of them at once and their
        features are counted together (`feature_counts_many`): the same answers."""
        datas = [_model_bytes(text) for text in texts]
        return [
            self._best(data, found)
            for data, found in zip(datas, self.feature_counts_many(datas), strict=True)
        ]

    def states_many(self, datas: Sequence[bytes]) -> np.ndarray:
        """`states` of each of `datas`, concatenated: the texts side by side, each byte's
        window cut at its own text's start."""
        lengths = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
        text = np.frombuffer(b"".join(datas), dtype=np.uint8).astype(np.int32)
        n = len(text)
        place = np.arange(n) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        state = np.zeros(n, dtype=np.int32)
        for back in range(self.depth - 1, -1, -1):
            if back >= n:
                continue
            moved = self.next_state[self.row_base[state[back:]] + text[: n - back]]
            # a byte whose window starts before its text starts there from the start state
            inside = place[back:] >= back
            state[back:][inside] = moved[inside]
        return state

    def feature_counts_many(
        self, datas: Sequence[bytes]
    ) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """`feature_counts` of each of `datas`: each text's features numbered by (text,
        feature), counted and put in the order its walk first meets them, at once."""
        if not datas:
            return []
        lengths = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
        found = self.output[self.states_many(datas)]
        text_of = np.repeat(np.arange(len(datas), dtype=np.int64), lengths)
        valid = found >= 0
        n_features = np.int64(len(self.nb_ptc))
        keys, first, counts = np.unique(
            text_of[valid] * n_features + found[valid], return_index=True, return_counts=True
        )
        owner = keys // n_features
        order = np.lexsort((first, owner))  # by text, then where its walk first met each
        owner, ids, counts = owner[order], (keys % n_features)[order], counts[order]
        bounds = np.searchsorted(owner, np.arange(len(datas) + 1)).tolist()
        return [
            (ids[a:b].astype(np.intp), counts[a:b].astype(np.float32)) if b > a else None
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    def _best(self, data: bytes, found: tuple[np.ndarray, np.ndarray] | None) -> tuple[str, float]:
        """The most probable language and its probability, from the features of `data`."""
        if found is None:
            scores = np.full(len(self.classes), 0.0, dtype=np.float32)
        else:
            ids, counts = found
            scores = np.log1p(counts) @ self.nb_ptc[ids] + self.nb_pc
        scores *= 1.0 / math.sqrt(len(data) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        for i, j in self.alias_pairs:
            scores[i] += scores[j]
            scores[j] = 0.0
        best = int(scores.argmax())
        return self.classes[best], float(scores[best])


def _model_bytes(text: str) -> bytes:
    """What py3langid's classify feeds its automaton: the text (lower-cased when all upper
    case), NFC-normalised, as UTF-8."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


_PIECE_BYTES = 16 << 20  # decompressed at a time: four to five pieces for the shipped model


def read_model_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a py3langid model file (an .npz inside LZMA; see py3langid.modelio),
    decompressed through a temporary file as py3langid does, 16 MB at a time.

    Decompression runs outside the GIL, so a thread can load the model beside other Python
    work; but each piece must take the GIL back, and a busy thread holds it up to 5 ms
    each time: py3langid's reader (a piece per 8 KB of input, ~560 pieces) then waits
    seconds, these pieces a few milliseconds."""
    decompressor = lzma.LZMADecompressor()
    data = path.read_bytes()
    with tempfile.TemporaryFile(suffix=".npz") as npz:
        while True:
            npz.write(decompressor.decompress(data, max_length=_PIECE_BYTES))
            data = b""
            if decompressor.eof:
                break
            if decompressor.needs_input:
                raise EOFError(f"{path}: the model file ends inside its LZMA stream")
        npz.seek(0)
        with np.load(npz, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}


def _alias_pairs(classes: list[str]) -> list[tuple[int, int]]:
    """(first, duplicate) columns of labels listed twice (py3langid folds the second in)."""
    first: dict[str, int] = {}
    pairs = []
    for i, label in enumerate(classes):
        if label in first:
            pairs.append((first[label], i))
        else:
            first[label] = i
    return pairs


def _automaton_depth(next_state: np.ndarray, row_base: np.ndarray) -> int:
    """The largest number of bytes from the start state to any state (breadth first; states
    share transition rows, so each row's 256 moves are looked at once, as one block of the
    table seen as rows x 256)."""
    table = next_state.reshape(-1, 256)
    row_of = row_base >> 8
    seen = np.zeros(len(row_base), dtype=bool)
    seen[0] = True
    expanded = np.zeros(len(table), dtype=bool)
    frontier: np.ndarray = np.zeros(1, dtype=np.int64)
    depth = 0
    while True:
        rows = np.zeros(len(table), dtype=bool)
        rows[row_of[frontier]] = True
        rows &= ~expanded
        expanded |= rows
        reached = np.zeros(len(row_base), dtype=bool)
        reached[table[np.flatnonzero(rows)]] = True
        reached &= ~seen
        frontier = np.flatnonzero(reached)
        if not len(frontier):
            return depth
        seen |= reached
        depth += 1
