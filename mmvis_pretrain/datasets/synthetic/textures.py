"""Per-category textures: a two-colour pattern family and its palette.

Every category has its own pattern (stripes, checks, dots, diagonal stripes,
rings, wavy stripes) and colour pair, so a tiny network can tell the classes
apart from appearance as well as from shape. Instances jitter colours and
pattern frequency; *look-alikes* (the OVIS difficulty) jitter almost nothing.
"""
from dataclasses import dataclass, replace

import numpy as np

#: ``category_id -> (colour_a, colour_b)`` in RGB 0..255.
_PALETTE = {
    1: ((205, 55, 50), (245, 205, 170)),  # person: red / skin
    2: ((35, 75, 200), (205, 210, 225)),  # car: blue / silver
    3: ((130, 85, 40), (240, 220, 150)),  # dog: brown / cream
    4: ((90, 90, 95), (245, 150, 35)),  # cat: grey / orange
    5: ((245, 220, 30), (30, 150, 60)),  # bird: yellow / green
    6: ((95, 35, 125), (235, 235, 235)),  # horse: purple / white
}
#: Pattern cycles per local unit (the silhouette spans about 2 units).
_FREQUENCY = {1: 2.2, 2: 1.6, 3: 1.8, 4: 2.0, 5: 2.4, 6: 1.7}


@dataclass(frozen=True)
class Appearance:
    """What one object instance looks like.

    Attributes:
        category_id (int): 1..6, selects shape family and pattern.
        color_a (tuple[float, float, float]): RGB of pattern value 0.
        color_b (tuple[float, float, float]): RGB of pattern value 1.
        frequency (float): Pattern cycles per local unit.
        phase (float): Pattern phase in radians.
        aspect (float): Horizontal stretch of the silhouette (1 = none).
    """

    category_id: int
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    frequency: float
    phase: float
    aspect: float


def _jitter_color(rng: np.random.Generator, color, sigma: float):
    """``color`` plus Gaussian noise, clipped to 0..255, as a float tuple."""
    noisy = np.clip(np.asarray(color, float) + rng.normal(0, sigma, 3), 0, 255)
    return tuple(float(round(c, 2)) for c in noisy)


def sample_appearance(rng: np.random.Generator,
                      category_id: int) -> Appearance:
    """Draw an instance of ``category_id`` with moderate variation.

    Args:
        rng (np.random.Generator): Source of randomness.
        category_id (int): 1..6.

    Returns:
        Appearance: The instance's look.
    """
    color_a, color_b = _PALETTE[category_id]
    return Appearance(
        category_id=category_id,
        color_a=_jitter_color(rng, color_a, 14.0),
        color_b=_jitter_color(rng, color_b, 14.0),
        frequency=float(_FREQUENCY[category_id] * rng.uniform(0.85, 1.15)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        aspect=float(rng.uniform(0.85, 1.15)))


def lookalike_appearance(rng: np.random.Generator,
                         base: Appearance) -> Appearance:
    """A near-copy of ``base``: same class, almost the same texture.

    Args:
        rng (np.random.Generator): Source of randomness.
        base (Appearance): The instance to imitate.

    Returns:
        Appearance: Colours within a few levels, frequency within 3 %.
    """
    return replace(
        base,
        color_a=_jitter_color(rng, base.color_a, 3.0),
        color_b=_jitter_color(rng, base.color_b, 3.0),
        frequency=float(base.frequency * rng.uniform(0.97, 1.03)),
        phase=float(base.phase + rng.uniform(-0.3, 0.3)),
        aspect=float(base.aspect * rng.uniform(0.97, 1.03)))


def _sharpen(wave: np.ndarray, gain: float = 3.0) -> np.ndarray:
    """Map a wave in [-1, 1] to a crisp pattern value in [0, 1]."""
    return 0.5 + 0.5 * np.tanh(gain * wave)


def pattern(category_id: int, u: np.ndarray, v: np.ndarray, frequency: float,
            phase: float) -> np.ndarray:
    """Pattern value of a category at local coordinates.

    Args:
        category_id (int): 1..6.
        u (np.ndarray): Local x coordinates, any shape.
        v (np.ndarray): Local y coordinates, same shape as ``u``.
        frequency (float): Cycles per local unit.
        phase (float): Phase in radians.

    Returns:
        np.ndarray: Values in [0, 1], same shape as ``u``.
    """
    w = 2.0 * np.pi * frequency
    if category_id == 1:  # horizontal stripes
        wave = np.sin(w * v + phase)
    elif category_id == 2:  # checkerboard
        wave = np.sin(w * u + phase) * np.sin(w * v)
    elif category_id == 3:  # polka dots
        wave = np.cos(w * u + phase) * np.cos(w * v) - 0.45
    elif category_id == 4:  # diagonal stripes
        wave = np.sin(w * (u + v) * 0.7071 + phase)
    elif category_id == 5:  # concentric rings
        wave = np.sin(w * np.hypot(u, v) + phase)
    elif category_id == 6:  # wavy vertical stripes
        wave = np.sin(w * u + 1.5 * np.sin(np.pi * v) + phase)
    else:
        raise ValueError(f'unknown category_id {category_id}')
    return _sharpen(wave)
