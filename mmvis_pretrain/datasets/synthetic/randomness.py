"""Seeding: one independent numpy Generator per (seed, split, item).

Every image / video draws from its own ``Generator`` keyed by the global
seed, the split and the item index, so items do not depend on each other
(asking for more images leaves the first ones unchanged) and no global RNG
state is touched.
"""
import numpy as np

#: Stream id of every split, part of each item's seed key.
STREAMS = {
    ('coco', 'train'): 1,
    ('coco', 'val'): 2,
    ('ytvis', 'train'): 3,
    ('ytvis', 'valid'): 4,
}


def item_rng(seed: int, dataset: str, split: str,
             index: int) -> np.random.Generator:
    """The Generator of one item.

    Args:
        seed (int): Global seed (>= 0).
        dataset (str): ``'coco'`` or ``'ytvis'``.
        split (str): ``'train'`` / ``'val'`` (coco), ``'train'`` / ``'valid'``
            (ytvis).
        index (int): 0-based item index within the split.

    Returns:
        np.random.Generator: PCG64 seeded with ``[seed, stream, index]``.
    """
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    return np.random.default_rng([seed, STREAMS[(dataset, split)], index])


def sample_size(rng: np.random.Generator, base_size: tuple[int, int],
                jitter: float) -> tuple[int, int]:
    """Image size around ``base_size``, width and height jittered apart.

    Args:
        rng (np.random.Generator): Source of randomness.
        base_size (tuple[int, int]): ``(W, H)``.
        jitter (float): Relative range, e.g. 0.2 gives W in [0.8W, 1.2W].

    Returns:
        tuple[int, int]: ``(width, height)``, each >= 16.
    """
    w, h = base_size
    width = int(round(w * rng.uniform(1 - jitter, 1 + jitter)))
    height = int(round(h * rng.uniform(1 - jitter, 1 + jitter)))
    return max(width, 16), max(height, 16)
