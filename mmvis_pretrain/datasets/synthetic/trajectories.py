"""Smooth object motion for the video set.

A :class:`Trajectory` passes through an *anchor* position at an anchor time
and moves with a constant velocity plus a sinusoidal wobble that vanishes at
the anchor time; scale changes geometrically and the angle linearly. Time
``t`` runs from 0 (first frame) to 1 (last frame).
"""
from dataclasses import dataclass

import numpy as np

from .objects import Pose


@dataclass(frozen=True)
class Trajectory:
    """Pose as a smooth function of normalised time.

    Attributes:
        anchor (tuple[float, float]): Centre ``(x, y)`` at ``t_anchor``.
        t_anchor (float): Anchor time in [0, 1].
        velocity (tuple[float, float]): Displacement per unit time (pixels).
        wobble (tuple[float, float]): Wobble amplitude (pixels) in x and y.
        wobble_freq (float): Wobble cycles per unit time.
        scale (float): Pixels per local unit at ``t_anchor``.
        scale_rate (float): Scale factor per unit time (``<1`` shrinks).
        angle (float): Rotation (radians) at ``t_anchor``.
        angle_rate (float): Rotation change per unit time.
    """

    anchor: tuple[float, float]
    t_anchor: float
    velocity: tuple[float, float]
    wobble: tuple[float, float]
    wobble_freq: float
    scale: float
    scale_rate: float
    angle: float
    angle_rate: float

    def pose(self, t: float) -> Pose:
        """Placement at normalised time ``t``."""
        dt = t - self.t_anchor
        swing = np.sin(2.0 * np.pi * self.wobble_freq * dt)
        return Pose(
            cx=float(self.anchor[0] + self.velocity[0] * dt +
                     self.wobble[0] * swing),
            cy=float(self.anchor[1] + self.velocity[1] * dt +
                     self.wobble[1] * swing),
            scale=float(self.scale * self.scale_rate**dt),
            angle=float(self.angle + self.angle_rate * dt))

    def scale_at(self, t: float) -> float:
        """Pixels per local unit at time ``t``."""
        return float(self.scale * self.scale_rate**(t - self.t_anchor))


def _dynamics(rng: np.random.Generator, size: float) -> dict:
    """Random wobble, scale change and spin shared by all builders."""
    amp = rng.uniform(0.0, 0.04, 2) * size
    return dict(wobble=(float(amp[0]), float(amp[1])),
                wobble_freq=float(rng.uniform(0.5, 1.5)),
                scale_rate=float(np.exp(rng.uniform(-0.6, 0.6))),
                angle=float(rng.uniform(-0.3, 0.3)),
                angle_rate=float(rng.uniform(-0.4, 0.4)))


def free_trajectory(rng: np.random.Generator, width: int, height: int,
                    scale: float) -> Trajectory:
    """Wanders through the frame (may brush or cross its border).

    Args:
        rng (np.random.Generator): Source of randomness.
        width (int): Frame width.
        height (int): Frame height.
        scale (float): Pixels per local unit at mid-clip.

    Returns:
        Trajectory: Anchored mid-clip at a random point inside the frame.
    """
    size = min(width, height)
    direction = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0.15, 0.6) * size
    return Trajectory(
        anchor=(float(rng.uniform(0.15, 0.85) * width),
                float(rng.uniform(0.15, 0.85) * height)),
        t_anchor=0.5,
        velocity=(float(speed * np.cos(direction)),
                  float(speed * np.sin(direction))),
        scale=scale, **_dynamics(rng, size))


def _outside_point(rng: np.random.Generator, width: int, height: int,
                   margin: float) -> tuple[float, float]:
    """A point ``margin`` pixels beyond a random side of the frame."""
    side = int(rng.integers(4))
    along = rng.uniform(0.2, 0.8)
    if side == 0:
        return -margin, along * height
    if side == 1:
        return width + margin, along * height
    if side == 2:
        return along * width, -margin
    return along * width, height + margin


def crossing_border_trajectory(rng: np.random.Generator, width: int,
                               height: int, scale: float, radius: float,
                               entering: bool) -> Trajectory:
    """Enters the frame from outside (or leaves it) during the clip.

    The object is completely outside the frame at ``t = 0`` when
    ``entering`` (at ``t = 1`` otherwise) and inside at the other end.

    Args:
        rng (np.random.Generator): Source of randomness.
        width (int): Frame width.
        height (int): Frame height.
        scale (float): Pixels per local unit at the inside end.
        radius (float): Object radius per unit scale (silhouette extent).
        entering (bool): Enter (True) or leave (False).

    Returns:
        Trajectory: Anchored at the inside end.
    """
    size = min(width, height)
    dyn = _dynamics(rng, size)
    t_anchor, t_out = (1.0, 0.0) if entering else (0.0, 1.0)
    scale_out = scale * dyn['scale_rate']**(t_out - t_anchor)
    margin = radius * scale_out + max(dyn['wobble']) + 1.0
    margin += rng.uniform(0.0, 0.3) * size  # stay out for a few frames
    inside = (float(rng.uniform(0.3, 0.7) * width),
              float(rng.uniform(0.3, 0.7) * height))
    outside = _outside_point(rng, width, height, margin)
    velocity = ((inside[0] - outside[0]) / (t_anchor - t_out),
                (inside[1] - outside[1]) / (t_anchor - t_out))
    # The wobble term is not zero at t_out; it is covered by the margin.
    return Trajectory(anchor=inside, t_anchor=t_anchor,
                      velocity=(float(velocity[0]), float(velocity[1])),
                      scale=scale, **dyn)


def meeting_trajectory(rng: np.random.Generator, other: Trajectory,
                       width: int, height: int, scale: float) -> Trajectory:
    """Passes close to ``other`` mid-clip, so the two overlap / occlude.

    Args:
        rng (np.random.Generator): Source of randomness.
        other (Trajectory): The trajectory to meet.
        width (int): Frame width.
        height (int): Frame height.
        scale (float): Pixels per local unit at the meeting time.

    Returns:
        Trajectory: Anchored at the meeting time within half an object size
        of ``other``'s centre.
    """
    size = min(width, height)
    t_meet = float(rng.uniform(0.3, 0.7))
    there = other.pose(t_meet)
    offset = rng.uniform(-0.5, 0.5, 2) * there.scale
    direction = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0.3, 0.8) * size
    return Trajectory(
        anchor=(float(there.cx + offset[0]), float(there.cy + offset[1])),
        t_anchor=t_meet,
        velocity=(float(speed * np.cos(direction)),
                  float(speed * np.sin(direction))),
        scale=scale, **_dynamics(rng, size))


def hiding_trajectory(rng: np.random.Generator, other: Trajectory,
                      width: int, height: int) -> Trajectory:
    """Travels with ``other`` for a while at a smaller scale.

    Rendered *behind* ``other``, the object is (nearly) fully occluded
    around the meeting time and drifts out of its cover before and after.

    Args:
        rng (np.random.Generator): Source of randomness.
        other (Trajectory): The occluder's trajectory.
        width (int): Frame width.
        height (int): Frame height.

    Returns:
        Trajectory: Anchored at ``other``'s centre at the meeting time.
    """
    size = min(width, height)
    t_meet = float(rng.uniform(0.3, 0.7))
    there = other.pose(t_meet)
    drift = rng.uniform(0.3, 0.6) * size
    direction = rng.uniform(0, 2 * np.pi)
    return Trajectory(
        anchor=(there.cx, there.cy), t_anchor=t_meet,
        velocity=(float(other.velocity[0] + drift * np.cos(direction)),
                  float(other.velocity[1] + drift * np.sin(direction))),
        wobble=(0.0, 0.0), wobble_freq=1.0,
        scale=float(there.scale * rng.uniform(0.35, 0.5)),
        scale_rate=other.scale_rate, angle=there.angle,
        angle_rate=other.angle_rate)
