"""Shape families: one silhouette per category, in object-local units.

Each category is the union of a few filled polygons given in a local frame
where ``+x`` points right, ``+y`` points down and the silhouette fits in about
``[-1, 1] x [-1, 1]``. :mod:`.objects` scales, stretches, rotates and moves
these polygons into the image.
"""
import numpy as np


def _ellipse(cx: float, cy: float, rx: float, ry: float,
             n: int = 28) -> np.ndarray:
    """Polygon (n, 2) approximating an axis-aligned ellipse."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Polygon (4, 2) of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def _poly(*points: tuple[float, float]) -> np.ndarray:
    """Polygon (k, 2) from explicit vertices."""
    return np.array(points, dtype=float)


def _person() -> list[np.ndarray]:
    """Tall: round head over an oval torso and two legs."""
    return [
        _ellipse(0.0, -0.72, 0.26, 0.26),
        _ellipse(0.0, 0.0, 0.36, 0.5),
        _rect(-0.3, 0.3, -0.06, 1.0),
        _rect(0.06, 0.3, 0.3, 1.0),
    ]


def _car() -> list[np.ndarray]:
    """Wide: a box body, a trapezoid cabin and two round wheels."""
    return [
        _rect(-1.0, -0.12, 1.0, 0.38),
        _poly((-0.55, -0.1), (-0.32, -0.55), (0.38, -0.55), (0.62, -0.1)),
        _ellipse(-0.58, 0.42, 0.24, 0.24),
        _ellipse(0.58, 0.42, 0.24, 0.24),
    ]


def _dog() -> list[np.ndarray]:
    """Oval body, round head with a pointed ear, two legs and a tail."""
    return [
        _ellipse(-0.1, 0.1, 0.62, 0.32),
        _ellipse(0.62, -0.25, 0.27, 0.25),
        _poly((0.48, -0.38), (0.58, -0.78), (0.74, -0.42)),
        _rect(-0.58, 0.2, -0.4, 0.78),
        _rect(0.12, 0.2, 0.3, 0.78),
        _poly((-0.62, -0.02), (-1.0, -0.42), (-0.6, 0.16)),
    ]


def _cat() -> list[np.ndarray]:
    """A round face with two large triangular ears."""
    return [
        _ellipse(0.0, 0.18, 0.68, 0.62),
        _poly((-0.66, -0.05), (-0.58, -0.95), (-0.12, -0.4)),
        _poly((0.66, -0.05), (0.58, -0.95), (0.12, -0.4)),
    ]


def _bird() -> list[np.ndarray]:
    """Small body with two swept wings (a flying 'V')."""
    return [
        _ellipse(0.0, 0.12, 0.3, 0.22),
        _poly((-0.12, 0.02), (-1.0, -0.62), (-0.52, 0.2)),
        _poly((0.12, 0.02), (1.0, -0.62), (0.52, 0.2)),
        _poly((-0.1, 0.25), (0.0, 0.62), (0.1, 0.25)),
    ]


def _horse() -> list[np.ndarray]:
    """Box body on four thin legs with a slanted neck and head."""
    return [
        _rect(-0.75, -0.2, 0.45, 0.3),
        _poly((0.25, -0.18), (0.58, -0.82), (0.82, -0.7), (0.5, -0.02)),
        _ellipse(0.8, -0.7, 0.22, 0.13),
        _rect(-0.72, 0.25, -0.6, 1.0),
        _rect(-0.5, 0.25, -0.38, 1.0),
        _rect(0.18, 0.25, 0.3, 1.0),
        _rect(0.36, 0.25, 0.45, 1.0),
    ]


_BUILDERS = (_person, _car, _dog, _cat, _bird, _horse)

#: ``category_id -> tuple of (k, 2) local polygons`` (read-only arrays).
SHAPES: dict[int, tuple[np.ndarray, ...]] = {}
for _cat_id, _build in enumerate(_BUILDERS, start=1):
    _parts = tuple(_build())
    for _part in _parts:
        _part.setflags(write=False)
    SHAPES[_cat_id] = _parts


def shape_radius(category_id: int) -> float:
    """Largest distance of a silhouette vertex from the local origin.

    Args:
        category_id (int): 1..6.

    Returns:
        float: Radius (local units) of a circle containing the silhouette.
    """
    return max(float(np.hypot(p[:, 0], p[:, 1]).max())
               for p in SHAPES[category_id])
