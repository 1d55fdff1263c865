"""Stable 64-bit hashes of many slices of an integer array at once (numpy, no Python
loop): the token, shingle and band hashes of dedup and the token keys of glue repair.

A polynomial hash modulo 2^64 from prefix sums, mixed with the slice length and
finalised by splitmix64. No Python `hash()`: identical in every process and on every
machine, so hashes computed in worker processes can be compared.
"""

from __future__ import annotations

import numpy as np

_POLY = np.uint64(0x100000001B3)  # odd, hence invertible modulo 2^64
_POLY_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_LEN_MIX = np.uint64(0x9E3779B97F4A7C15)

_POWER_TABLES: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """POLY^i and POLY^-i modulo 2^64 for i < n (numpy uint64 arithmetic wraps), and the
    prefix sums of POLY^i (n + 1 of them: the sum of POLY^j for j < i).

    Only the largest tables built so far are kept; smaller requests use a prefix of them.
    """
    tables = _POWER_TABLES[0] if _POWER_TABLES else None
    if tables is None or len(tables[0]) < n:
        factors = np.full(n, _POLY, dtype=np.uint64)
        factors[0] = 1
        inv = np.full(n, _POLY_INV, dtype=np.uint64)
        inv[0] = 1
        fwd = np.cumprod(factors, dtype=np.uint64)
        fwd_sums = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(fwd, dtype=np.uint64, out=fwd_sums[1:])
        tables = (fwd, np.cumprod(inv, dtype=np.uint64), fwd_sums)
        if not _POWER_TABLES or len(_POWER_TABLES[0][0]) < n:  # threads may race: keep the larger
            _POWER_TABLES[:] = [tables]
    return tables


def mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads a polynomial hash over all 64 bits."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def segment_hashes(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Stable 64-bit hash of every slice values[start:end], all slices at once.

    A polynomial hash modulo 2^64 from prefix sums (so each slice costs O(1)), mixed
    with the slice length and finalised by splitmix64. No Python `hash()`: identical in
    every process and on every machine.
    """
    n = len(values)
    if len(starts) == 0:
        return np.zeros(0, dtype=np.uint64)
    fwd, inv, fwd_sums = _powers(_round_up(n))
    # sum of (v + 1) * POLY^i over a slice = sum of v * POLY^i + sum of POLY^i: the second
    # sum comes from a table, which spares one pass over the values
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(np.multiply(values, fwd[:n], dtype=np.uint64), dtype=np.uint64, out=prefix[1:])
    raw = (prefix[ends] - prefix[starts] + fwd_sums[ends] - fwd_sums[starts]) * inv[starts]
    return mix64(raw + (ends - starts).astype(np.uint64) * _LEN_MIX)


def _round_up(n: int) -> int:
    """Next power of two, so the power tables are built only a few times."""
    return 1 << max(10, int(n - 1).bit_length())
