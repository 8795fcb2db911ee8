"""Mix the sources of a ``ConcatDataset`` at a ratio, sample by sample.

Joint image + video training (CTVIS: COCO-pseudo : YTVIS19 = 1 : 1.5,
COCO-pseudo : OVIS = 1 : 0.75) draws every sample's source with probability
proportional to its ratio, independently of the source sizes (the reference
code does this with detectron2's combined loader, which draws the source of
each sample with ``random.choices(weights=ratios)``).

Why not mmdet's ``MultiSourceSampler``: it fixes the number of samples of
each source *per batch and rank* to ``int(batch_size * r / sum(r))`` (the
remainder to the first source). With the small per-GPU batches of VIS
training this distorts or removes a source: batch 2 with 1 : 1.5 gives
1 : 1, and with 1 : 0.75 gives 2 : 0 (OVIS is never sampled). It is also
always infinite (no ``EpochBasedTrainLoop``). :class:`RatioSampler` gives the
requested proportion in expectation for any batch size.
"""
import math
from typing import Iterator, List, Optional, Sequence, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ...registry import DATA_SAMPLERS


def source_sizes(dataset: Sized) -> List[int]:
    """Lengths of the sub-datasets of a ``ConcatDataset``.

    Raises:
        TypeError: if ``dataset`` has no ``datasets`` (not a concatenation).
    """
    if not hasattr(dataset, 'datasets'):
        raise TypeError('RatioSampler needs a ConcatDataset (with '
                        f'`datasets`), got {type(dataset).__name__}')
    return [len(d) for d in dataset.datasets]


def source_probabilities(source_ratio: Sequence[float],
                         sizes: Sequence[int]) -> torch.Tensor:
    """Normalise ``source_ratio`` to probabilities (float64 tensor).

    Raises:
        ValueError: on a length mismatch, a negative ratio, an all-zero
            ratio, or an empty source with a positive ratio.
    """
    if len(source_ratio) != len(sizes):
        raise ValueError(f'source_ratio {list(source_ratio)} needs one entry '
                         f'per dataset ({len(sizes)})')
    ratio = torch.tensor([float(r) for r in source_ratio],
                         dtype=torch.float64)
    if (ratio < 0).any() or ratio.sum() <= 0:
        raise ValueError('source_ratio must be >= 0 with a positive sum, '
                         f'got {list(source_ratio)}')
    empty = [i for i, (r, n) in enumerate(zip(ratio, sizes)) if r > 0 and
             n == 0]
    if empty:
        raise ValueError(f'datasets {empty} are empty but have a positive '
                         'source_ratio')
    return ratio / ratio.sum()


@DATA_SAMPLERS.register_module()
class RatioSampler(Sampler):
    """Draw each sample's source of a ``ConcatDataset`` with given odds.

    Per epoch, ``num_samples`` (rounded up to a multiple of ``world_size``)
    sources are drawn i.i.d. with probabilities ``source_ratio / sum``; the
    k-th draw of source ``s`` takes the k-th index of a stream of
    permutations of ``s`` (every sample of a source is used once before any
    repeats), offset into the concatenated dataset. All ranks generate the
    same global sequence from the same seed and rank ``r`` takes positions
    ``r, r + world_size, ...``, so ranks see disjoint samples of a source
    until its permutation wraps around, and each rank's source proportion
    has the same expectation.

    Works with ``EpochBasedTrainLoop`` (finite, ``set_epoch`` reseeds) and
    ``IterBasedTrainLoop`` (set ``infinite=True`` to avoid mmengine's pause
    at each epoch end). Use ``batch_sampler=None`` in the dataloader when the
    sources mix images and videos (mmdet's aspect-ratio batch samplers read
    either image or video infos, not both).

    Args:
        dataset (Sized): A ``ConcatDataset`` (anything with ``datasets``).
        source_ratio (Sequence[float]): One non-negative weight per dataset,
            e.g. ``[1, 1.5]`` for COCO-pseudo : YTVIS19.
        num_samples (int, optional): Samples per epoch over all ranks.
            Defaults to ``len(dataset)``.
        shuffle (bool): Shuffle within each source; otherwise each source is
            read in order (the source draw stays random). Defaults to True.
        seed (int, optional): Random seed, the same on all ranks. Defaults to
            a seed synchronised across ranks.
        infinite (bool): Yield epoch after epoch forever. Defaults to False.
        rank (int, optional): Defaults to mmengine's ``get_dist_info()``.
        world_size (int, optional): Defaults to ``get_dist_info()``.
    """

    def __init__(self,
                 dataset: Sized,
                 source_ratio: Sequence[float],
                 num_samples: Optional[int] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 infinite: bool = False,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        dist_rank, dist_world_size = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world_size if world_size is None \
            else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'rank {self.rank} is not in [0, '
                             f'{self.world_size})')
        self.dataset = dataset
        self.sizes = source_sizes(dataset)
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.source_ratio = list(source_ratio)
        self.probs = source_probabilities(self.source_ratio, self.sizes)
        num_samples = len(dataset) if num_samples is None else num_samples
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        self.num_samples = math.ceil(num_samples / self.world_size)
        self.total_size = self.num_samples * self.world_size
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.infinite = infinite
        self.epoch = 0

    def _source_stream(self, size: int, count: int,
                       generator: torch.Generator) -> torch.Tensor:
        """``count`` local indices of a source: permutations, concatenated."""
        rounds = math.ceil(count / size)
        if self.shuffle:
            parts = [torch.randperm(size, generator=generator)
                     for _ in range(rounds)]
        else:
            parts = [torch.arange(size)] * rounds
        return torch.cat(parts)[:count]

    def global_indices(self, epoch: int) -> torch.Tensor:
        """The epoch's sequence over all ranks (``total_size`` indices)."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        sources = torch.multinomial(
            self.probs, self.total_size, replacement=True,
            generator=generator)
        indices = torch.empty(self.total_size, dtype=torch.long)
        for source, size in enumerate(self.sizes):
            where = torch.nonzero(sources == source).flatten()
            if len(where):
                indices[where] = self.offsets[source] + self._source_stream(
                    size, len(where), generator)
        return indices

    def epoch_indices(self, epoch: int) -> List[int]:
        """This rank's indices of ``epoch``."""
        indices = self.global_indices(epoch)
        return indices[self.rank:self.total_size:self.world_size].tolist()

    def __iter__(self) -> Iterator[int]:
        if not self.infinite:
            yield from self.epoch_indices(self.epoch)
            return
        epoch = self.epoch
        while True:
            yield from self.epoch_indices(epoch)
            epoch += 1

    def __len__(self) -> int:
        """Samples of this rank per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reseed for ``epoch`` (called by mmengine's loops)."""
        self.epoch = epoch


__all__ = ['RatioSampler', 'source_sizes', 'source_probabilities']
