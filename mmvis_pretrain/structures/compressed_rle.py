"""Pixel totals of COCO compressed RLE strings, without pycocotools.

pycocotools trusts a compressed RLE: it never checks that the run lengths
of ``counts`` add up to ``H * W`` of its ``size``. Counts that cover more
pixels make ``mask.iou`` loop for ever (and ``decode`` write past its
buffer); counts that cover fewer are scored silently. Its string parser
(``rleFrString`` in ``maskApi.c``) is not reachable from Python (``_frString``
returns an opaque object), so the run lengths are decoded here, vectorised
over many strings at once with numpy, only to validate them.

The format (``rleToString``): each run length is written as groups of 5 bits,
least significant first, one character per group (``chr(48 + bits)``, bit
``0x20`` = more groups follow, bit ``0x10`` of the last group = negative);
from the fourth run on (index ``m > 2``) the stored value is the difference
to run ``m - 2``.
"""
from typing import Sequence, Tuple, Union

import numpy as np

#: A run stored in more than this many 5-bit groups is malformed: a run
#: length (or the difference of two) in ``(-2**32, 2**32)`` needs at most 7.
MAX_GROUPS = 7


#: Characters decoded per numpy pass: small enough for the temporaries to
#: stay in the CPU cache (one pass over all of a large file's masks spent
#: most of its time on page faults of fresh arrays), large enough that the
#: per-pass overhead does not matter.
CHUNK_CHARS = 1 << 18


def compressed_rle_totals(
        counts: Sequence[Union[str, bytes]]) -> Tuple[np.ndarray, np.ndarray]:
    """Decode compressed RLE ``counts`` strings to their pixel totals.

    Args:
        counts (Sequence[str | bytes]): N compressed ``counts`` strings.

    Returns:
        tuple(np.ndarray, np.ndarray): ``totals`` (N,) int64, the number of
        pixels the runs cover (meaningless where not valid), and ``valid``
        (N,) bool: the string is well formed (characters ``'0'``..``'o'``,
        no truncated group, no run longer than :data:`MAX_GROUPS` groups)
        and every run length is in ``[0, 2**32)``.
    """
    num = len(counts)
    totals = np.zeros(num, dtype=np.int64)
    valid = np.ones(num, dtype=bool)
    start = chars = 0
    for i, c in enumerate(counts):
        chars += len(c)
        if chars >= CHUNK_CHARS or i == num - 1:
            totals[start:i + 1], valid[start:i + 1] = _decode_chunk(
                counts[start:i + 1])
            start, chars = i + 1, 0
    return totals, valid


def _decode_chunk(
        counts: Sequence[Union[str, bytes]]) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`compressed_rle_totals` of strings decoded in one pass."""
    num = len(counts)
    totals = np.zeros(num, dtype=np.int64)
    valid = np.ones(num, dtype=bool)
    raw = []
    for i, c in enumerate(counts):
        if isinstance(c, str):
            try:
                c = c.encode('ascii')
            except UnicodeEncodeError:
                valid[i] = False
                c = b''
        raw.append(c)
    lengths = np.fromiter(map(len, raw), dtype=np.int64, count=num)
    buf = np.frombuffer(b''.join(raw), dtype=np.uint8).astype(np.int32) - 48
    if buf.size == 0:
        return totals, valid
    starts = np.cumsum(lengths) - lengths  # first char of every string
    has_chars = lengths > 0

    def string_of(pos: np.ndarray) -> np.ndarray:
        return np.searchsorted(starts, pos, side='right') - 1

    bad_char = (buf < 0) | (buf > 63)
    if bad_char.any():
        valid[string_of(np.flatnonzero(bad_char))] = False
        buf[bad_char] = 0
    last = (buf & 0x20) == 0  # the char ends a run length
    # a string must end with a finished group
    valid[has_chars] &= last[(starts + lengths - 1)[has_chars]]
    # a group starts after a finishing char or at the start of a string (so
    # a truncated string's group never runs into the next string)
    first_char = np.empty_like(last)
    first_char[0] = True
    first_char[1:] = last[:-1]
    first_char[starts[has_chars]] = True
    group = np.cumsum(first_char, dtype=np.int32) - 1  # run, over all strings
    group_start = np.flatnonzero(first_char)
    k = np.arange(buf.size, dtype=np.int32) - group_start[group]
    too_long = k >= MAX_GROUPS
    if too_long.any():
        valid[string_of(np.flatnonzero(too_long))] = False
        np.minimum(k, MAX_GROUPS - 1, out=k)
    # exact in float64: at most 5 * MAX_GROUPS = 35 bits
    value = np.bincount(
        group, weights=(buf & 0x1f).astype(np.int64) << (5 * k),
        minlength=group_start.size).astype(np.int64)
    # sign: the group's last char with bit 0x10 -> two's complement
    group_end = np.append(group_start[1:], buf.size) - 1
    negative = (buf[group_end] & 0x10) != 0
    if negative.any():
        nbits = 5 * (k[group_end[negative]].astype(np.int64) + 1)
        value[negative] -= np.int64(1) << nbits
    # run index m within its string; runs m > 2 are deltas to run m - 2, so
    # a run is the cumulative sum of its chain: odd runs (1, 3, 5, ...) and
    # even runs from 2 on; run 0 stands alone
    g_string = string_of(group_start)
    g_first = np.empty(group_start.size, dtype=bool)
    g_first[0] = True
    g_first[1:] = g_string[1:] != g_string[:-1]
    g_first_idx = np.flatnonzero(g_first)
    g_count = np.diff(np.append(g_first_idx, group_start.size))
    m = np.arange(group_start.size) - np.repeat(g_first_idx, g_count)
    runs = value.copy()
    for chain in ((m & 1) == 1, ((m & 1) == 0) & (m >= 2)):
        in_chain = np.where(chain, value, 0)
        csum = np.cumsum(in_chain)
        # restart at each string: subtract the chain's sum before it
        before = (csum - in_chain)[g_first_idx]
        runs[chain] = (csum - np.repeat(before, g_count))[chain]
    bad_run = (runs < 0) | (runs >= (np.int64(1) << 32))
    if bad_run.any():
        valid[g_string[bad_run]] = False
    totals += np.bincount(
        g_string, weights=runs, minlength=num).astype(np.int64)
    return totals, valid


def compressed_rle_problems(counts: Sequence[Union[str, bytes]],
                            num_pixels: Sequence[int]) -> np.ndarray:
    """Indices of compressed RLEs that do not cover exactly their frame.

    Args:
        counts (Sequence[str | bytes]): N compressed ``counts`` strings.
        num_pixels (Sequence[int]): (N,) ``H * W`` of each one's frame.

    Returns:
        np.ndarray: Indices (ascending) of the malformed strings or those
        whose runs do not add up to ``num_pixels``.
    """
    totals, valid = compressed_rle_totals(counts)
    return np.flatnonzero(~valid | (totals != np.asarray(
        num_pixels, dtype=np.int64)))


def describe_compressed_rle(counts: Union[str, bytes], height: int,
                            width: int) -> str:
    """Why one compressed RLE is not a mask of ``height x width`` pixels.

    Args:
        counts (str | bytes): The ``counts`` string.
        height (int): Frame height.
        width (int): Frame width.

    Returns:
        str: A sentence for an error message, ``''`` if it is valid.
    """
    totals, valid = compressed_rle_totals([counts])
    if not valid[0]:
        return ("compressed RLE 'counts' is malformed (characters outside "
                "'0'..'o', a truncated or over-long run, or a negative run)")
    if totals[0] != height * width:
        return (f"compressed RLE 'counts' cover {int(totals[0])} pixels, the "
                f'frame has {height} x {width} = {height * width}')
    return ''
