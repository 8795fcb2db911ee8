"""Statistics of a study's results: per-arm mean and spread, and paired
bootstrap confidence intervals of the differences between arms.

The runs of two arms that share a seed share the data, the initial weights
of the parts they have in common and the sampling order, so their
difference is paired: the bootstrap resamples the seeds (pairs), not the
two arms independently.

Small samples: a study has a handful of seeds, and the plain percentile
bootstrap interval is too narrow for small ``n`` (it uses the spread of the
sample with divisor ``n`` and normal-like quantiles). The default is
Hesterberg's *expanded percentile* interval (Hesterberg, "What teachers
should know about the bootstrap", The American Statistician 69(4), 2015):
the percentiles are taken at ``Phi(+-sqrt(n / (n - 1)) * t_{n-1,
1 - alpha/2})`` instead of ``alpha/2`` and ``1 - alpha/2``, which widens the
interval to the coverage of Student's t interval for small ``n`` while
keeping the bootstrap's shape. ``expanded=False`` gives the plain
percentile interval. scipy (a dependency of mmdet) provides ``t`` and
``Phi``.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import stats

__all__ = ['mean_std', 'paired_bootstrap_ci']


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """``n``, ``mean`` and the sample standard deviation ``std`` (divisor
    ``n - 1``; 0 for a single value)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not len(values):
        raise ValueError('mean_std of no values')
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return dict(n=int(len(values)), mean=float(values.mean()), std=std)


def paired_bootstrap_ci(a: Sequence[float],
                        b: Sequence[float],
                        num_samples: int = 10000,
                        level: float = 0.95,
                        seed: Optional[int] = 0,
                        expanded: bool = True) -> Dict[str, float]:
    """Bootstrap confidence interval of ``mean(a - b)`` for paired values.

    Args:
        a, b (Sequence[float]): Paired results (``a[i]`` and ``b[i]`` of
            the same seed), at least 2 pairs.
        num_samples (int): Bootstrap resamples of the pairs.
        level (float): Confidence level in (0, 1).
        seed (int, optional): Seed of the resampling (reproducible
            reports); None draws a fresh one.
        expanded (bool): Hesterberg's expanded percentile interval
            (default) instead of the plain percentile interval.

    Returns:
        dict: ``n``, ``mean`` (of the differences), ``low``, ``high``,
        ``level``, ``wins`` (pairs with ``a > b``), ``ties`` and
        ``method``.

    Raises:
        ValueError: unequal lengths, fewer than 2 pairs, a bad level or
            sample count.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f'paired values need equal lengths, got {len(a)} '
                         f'and {len(b)}')
    n = len(a)
    if n < 2:
        raise ValueError(f'a bootstrap interval needs at least 2 pairs, got '
                         f'{n}')
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    if num_samples < 100:
        raise ValueError(f'num_samples must be >= 100, got {num_samples}')
    diff = a - b
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(num_samples, n))].mean(axis=1)
    alpha = 1.0 - level
    if expanded:
        z = np.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha / 2, n - 1)
        lo_q, hi_q = stats.norm.cdf(-z), stats.norm.cdf(z)
        method = 'paired bootstrap, expanded percentile'
    else:
        lo_q, hi_q = alpha / 2, 1 - alpha / 2
        method = 'paired bootstrap, percentile'
    low, high = np.quantile(means, [lo_q, hi_q])
    return dict(
        n=int(n),
        mean=float(diff.mean()),
        low=float(low),
        high=float(high),
        level=float(level),
        wins=int((diff > 0).sum()),
        ties=int((diff == 0).sum()),
        method=method)
