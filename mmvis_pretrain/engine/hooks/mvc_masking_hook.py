"""Masked Video Consistency (MVC) input masking for training.

Patch masking of the training input as in "Masked Video Consistency"
(eq. 1-5): MVC-1 masks every image / frame independently, MVC-2 applies one
tube mask to all frames of a clip. The supervision is unchanged: the model
must predict the full ground truth, masked regions included. See
``docs/mvc.md``.
"""
import math
import os
import os.path as osp
from typing import Any, List, Optional

import torch
from mmengine.dist import all_gather_object, get_dist_info, get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...registry import HOOKS
from .random_state_hook import FORMAT_VERSION as RNG_FORMAT_VERSION
from .random_state_hook import (RandomStateHook, get_rng_state,
                                select_rank_state, set_rng_state)

#: Key of the hook's entry in the checkpoint dict.
MVC_STATE_KEY = 'mvc_masking'
MODES = ('frame', 'tube')
DRAWS = ('sample', 'batch')


def patch_keep_mask(grid_shape, height: int, width: int, patch_size: int,
                    mask_ratio: float,
                    generator: torch.Generator) -> torch.Tensor:
    """Random patch keep-mask (eq. 1): ``M = [v > r]``, ``v ~ U(0, 1)``.

    The grid has ``ceil(H / b) x ceil(W / b)`` patches anchored at the top
    left pixel; the patches of the last row / column are cropped at the
    border (partial patches). Every patch is dropped with probability
    ``mask_ratio``.

    Args:
        grid_shape (tuple): Leading dimensions, one independent grid each.
        height, width (int): Pixel size of the tensor to mask.
        patch_size (int): ``b``, patch side in pixels.
        mask_ratio (float): ``r``, probability of dropping a patch.
        generator (torch.Generator): CPU generator to draw from.

    Returns:
        Tensor: bool, ``(*grid_shape, height, width)``, True = kept.
    """
    rows = math.ceil(height / patch_size)
    cols = math.ceil(width / patch_size)
    v = torch.rand((*grid_shape, rows, cols), generator=generator)
    keep = v > mask_ratio
    keep = keep.repeat_interleave(patch_size, dim=-2)
    keep = keep.repeat_interleave(patch_size, dim=-1)
    return keep[..., :height, :width]


@HOOKS.register_module()
class MVCMaskingHook(Hook):
    """Mask random patches of the training input (MVC-1 / MVC-2).

    **Where**: at ``before_train`` the hook wraps the ``forward`` of the
    model's data preprocessor; when it is called with ``training=True`` (in
    ``train_step`` only) the returned ``inputs`` are masked. Validation,
    test and predict call the preprocessor with ``training=False`` and never
    see a mask. The mask is applied to the normalised, padded tensor; masked
    pixels are set to exactly 0 (= the dataset mean after normalisation, as
    MIC does). ``after_train`` restores the preprocessor.

    **Grid**: ``ceil(H / b) x ceil(W / b)`` patches of ``b = patch_size``
    pixels over the *padded* batch tensor, anchored at pixel (0, 0);
    partial patches at the bottom / right border are cropped. Each patch is
    dropped with probability ``mask_ratio`` (eq. 1, ``M = [v > r]``).

    **Modes**: ``'frame'`` (MVC-1): an independent mask (and an independent
    masking decision) per image of ``(N, C, H, W)`` or per frame of
    ``(N, T, C, H, W)``; ``'tube'`` (MVC-2, eq. 5): one mask and one
    decision per clip, shared by its ``T`` frames (for image batches the two
    modes coincide).

    **Mixing (eq. 4)**: each sample (frame or clip, by mode) is masked with
    probability ``p_mask``; otherwise it is left clean. The paper writes this
    as ``I ~ Bernoulli(tau)`` where ``I = 1`` selects the *clean* loss, so
    its ``tau = 1 - p_mask`` (its text calls tau the probability of
    masking, contradicting eq. 4; it gives no value). The masked samples'
    loss is weighted by ``loss_weight`` (lambda, also not given). mmdet
    heads compute one loss for the batch (e.g. Mask2Former normalises by
    the number of masks of the whole batch), so a per-sample lambda cannot
    be applied exactly. Hence:

    * ``draw='sample'`` (default): a Bernoulli per sample; the loss is the
      model's plain batch loss, which is eq. 4 with ``lambda = 1``.
      ``loss_weight`` must be 1 (a ``ValueError`` otherwise).
    * ``draw='batch'``: one Bernoulli per iteration for the whole batch;
      when it masks, the whole loss (every loss term) is multiplied by
      ``loss_weight`` -- exactly ``lambda * L^M``; otherwise ``L``.
    * ``dual=True`` (MIC style): two forwards of the same preprocessed
      batch, clean and fully masked (every sample masked, ``p_mask`` is not
      used); loss = clean + ``loss_weight`` * masked, the masked terms
      logged with a ``masked_`` prefix. Not for model wrappers (DDP): two
      forwards before one backward break DDP's reducer.

    **Randomness**: a CPU ``torch.Generator`` owned by the hook, seeded from
    the run's seed and the rank. Its state goes into the checkpoint
    (``checkpoint['mvc_masking']``, ``weights_only``-safe) and is restored
    on resume, so the resumed run draws the masks the uninterrupted run
    would have drawn. The hook has ``state_dict`` / ``load_state_dict``, so
    :class:`RandomStateHook` leaves its generator alone.

    Config::

        custom_hooks = [dict(type='MVCMaskingHook', patch_size=32,
                             mask_ratio=0.7, mode='tube', p_mask=0.5,
                             loss_weight=1.0)]

    Args:
        patch_size (int): ``b``. Defaults to 32 (paper, Tab. 5).
        mask_ratio (float): ``r``, probability to drop a patch, in [0, 1).
            Defaults to 0.7 (paper, Tab. 5).
        mode (str): ``'frame'`` (MVC-1) or ``'tube'`` (MVC-2). Defaults to
            ``'frame'``.
        p_mask (float): Probability that a sample is masked (the paper's
            ``1 - tau``). Defaults to 0.5.
        loss_weight (float): lambda, weight of the masked loss. Defaults
            to 1.0 (MIC's weight).
        draw (str): ``'sample'`` or ``'batch'``, see above. Defaults to
            ``'sample'``.
        dual (bool): Clean + masked forward per iteration. Defaults to
            False.
        dump_dir (str, optional): Write the masked inputs of the first
            ``dump_iters`` iterations there as PNG (de-normalised), one
            file per image / frame. Relative paths are under the work dir.
        dump_iters (int): See ``dump_dir``. Defaults to 1.
        seed_offset (int): Added to the run's seed for the generator.
            Defaults to 0.
    """

    priority = 'NORMAL'

    def __init__(self,
                 patch_size: int = 32,
                 mask_ratio: float = 0.7,
                 mode: str = 'frame',
                 p_mask: float = 0.5,
                 loss_weight: float = 1.0,
                 draw: str = 'sample',
                 dual: bool = False,
                 dump_dir: Optional[str] = None,
                 dump_iters: int = 1,
                 seed_offset: int = 0) -> None:
        if int(patch_size) != patch_size or patch_size < 1:
            raise ValueError('MVCMaskingHook: patch_size must be a positive '
                             f'integer, got {patch_size!r}')
        if not 0 <= mask_ratio < 1:
            raise ValueError('MVCMaskingHook: mask_ratio must be in [0, 1), '
                             f'got {mask_ratio!r}')
        if not 0 <= p_mask <= 1:
            raise ValueError('MVCMaskingHook: p_mask must be in [0, 1], got '
                             f'{p_mask!r}')
        if mode not in MODES:
            raise ValueError(f'MVCMaskingHook: mode must be one of {MODES}, '
                             f'got {mode!r}')
        if draw not in DRAWS:
            raise ValueError(f'MVCMaskingHook: draw must be one of {DRAWS}, '
                             f'got {draw!r}')
        if loss_weight < 0:
            raise ValueError('MVCMaskingHook: loss_weight must be >= 0, got '
                             f'{loss_weight!r}')
        if not dual and draw == 'sample' and loss_weight != 1:
            raise ValueError(
                'MVCMaskingHook: loss_weight != 1 needs draw=\'batch\' or '
                'dual=True: with a per-sample draw the masked and clean '
                'samples share one batch loss, which cannot be weighted per '
                'sample (see docs/mvc.md)')
        self.patch_size = int(patch_size)
        self.mask_ratio = float(mask_ratio)
        self.mode = mode
        self.p_mask = float(p_mask)
        self.loss_weight = float(loss_weight)
        self.draw = draw
        self.dual = dual
        self.dump_dir = dump_dir
        self.dump_iters = int(dump_iters)
        self.seed_offset = int(seed_offset)
        self.generator = torch.Generator()
        self.generator.manual_seed(self.seed_offset)
        self._loaded_state: Optional[dict] = None
        self._gathered = None
        self._runner = None
        self._restore: List = []
        self._factor = 1.0
        self._dumped = set()
        #: The last training draw: ``masked`` (bool, ``(N,)`` or ``(N, T)``,
        #: which samples were masked) and ``keep`` (bool pixel mask of the
        #: input's shape without the channel dim, True = kept).
        self.last_masked: Optional[torch.Tensor] = None
        self.last_keep: Optional[torch.Tensor] = None

    # ------------------------------------------------------------- masking
    def _check_inputs(self, inputs: Any) -> None:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (4, 5):
            shape = (tuple(inputs.shape) if isinstance(inputs, torch.Tensor)
                     else type(inputs).__name__)
            raise TypeError(
                'MVCMaskingHook: the data preprocessor must return `inputs` '
                'as one tensor (N, C, H, W) (images) or (N, T, C, H, W) '
                f'(clips); got {shape}. The hook cannot mask this model\'s '
                'input: remove it from custom_hooks or use a preprocessor '
                'that stacks and pads the batch.')

    def draw_masks(self, shape, mask_all: bool = False):
        """Draw the per-sample decisions and pixel keep-masks for an input
        of ``shape`` (``(N, C, H, W)`` or ``(N, T, C, H, W)``).

        Returns:
            tuple: ``masked`` (bool, ``(N,)`` for images or tube mode, else
            ``(N, T)``) and ``keep`` (bool, ``shape`` without ``C``,
            True = pixel kept; all True for samples not masked).
        """
        height, width = shape[-2:]
        video = len(shape) == 5
        if video and self.mode == 'frame':
            units = (shape[0], shape[1])
        else:
            units = (shape[0], )
        if mask_all:
            masked = torch.ones(units, dtype=torch.bool)
        elif self.draw == 'batch':
            flag = bool(torch.rand((), generator=self.generator) < self.p_mask)
            masked = torch.full(units, flag, dtype=torch.bool)
        else:
            masked = torch.rand(units, generator=self.generator) < self.p_mask
        keep = patch_keep_mask(units, height, width, self.patch_size,
                               self.mask_ratio, self.generator)
        keep = keep | ~masked[..., None, None]
        if video and self.mode == 'tube':  # one mask for all T frames
            keep = keep[:, None].expand(shape[0], shape[1], height, width)
        return masked, keep

    def mask_inputs(self, inputs: torch.Tensor, mask_all: bool = False):
        """Masked copy of ``inputs``; records ``last_masked`` /
        ``last_keep``."""
        self._check_inputs(inputs)
        masked, keep = self.draw_masks(tuple(inputs.shape), mask_all)
        self.last_masked, self.last_keep = masked, keep
        keep = keep.to(inputs.device).unsqueeze(-3)  # channel dim
        out = torch.where(
            keep, inputs,
            torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        return out, masked

    # ------------------------------------------------------------ wrapping
    @staticmethod
    def _unwrap(model):
        return model.module if is_model_wrapper(model) else model

    def _wrap(self, obj, name: str, replacement) -> None:
        had_own = name in vars(obj)
        original = getattr(obj, name)
        wrapped = replacement(original)
        self._restore.append(
            (obj, name, had_own, vars(obj).get(name), wrapped))
        setattr(obj, name, wrapped)

    def before_train(self, runner) -> None:
        self._runner = runner
        seed = getattr(runner, 'seed', None) or 0
        rank = get_rank()
        self.generator.manual_seed(
            (int(seed) + self.seed_offset + 1_000_003 * rank) % (2**63))
        state, self._loaded_state = self._loaded_state, None
        start = int(getattr(runner, 'iter', 0))
        if state is not None and start > 0:  # resume, not load_from
            own = self._rank_state(state, rank, runner)
            if own is not None:
                set_rng_state(own, self.generator)
            else:
                # the checkpoint holds no state of this rank: a fresh,
                # rank-specific stream (not the uninterrupted run's)
                self.generator.manual_seed(
                    (int(seed) + self.seed_offset + 1_000_003 * rank +
                     7_919 * start) % (2**63))
        model = self._unwrap(runner.model)
        pre = getattr(model, 'data_preprocessor', None)
        if pre is None or not callable(getattr(pre, 'forward', None)):
            raise TypeError(
                f'MVCMaskingHook: {type(model).__name__} has no data '
                'preprocessor whose output could be masked')
        if self.dual:
            if is_model_wrapper(runner.model):
                raise TypeError(
                    'MVCMaskingHook: dual=True runs two forwards before one '
                    'backward and does not support model wrappers '
                    f'({type(runner.model).__name__}); use dual=False')
            if not hasattr(model, '_run_forward'):
                raise TypeError('MVCMaskingHook: dual=True needs an mmengine '
                                f'BaseModel, got {type(model).__name__}')
            self._wrap(model, 'train_step', self._dual_train_step(model))
        else:
            self._wrap(pre, 'forward', self._masked_forward)
            if self.loss_weight != 1:
                self._wrap(model, 'parse_losses', self._weighted_parse_losses)

    def after_train(self, runner) -> None:
        for obj, name, had_own, original, wrapped in reversed(self._restore):
            if vars(obj).get(name) is not wrapped:
                continue  # already restored (or replaced) by someone else
            if had_own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)
        self._restore = []

    def _masked_forward(self, original):

        def forward(data, training=False, *args, **kwargs):
            out = original(data, training, *args, **kwargs)
            if not training:
                return out
            inputs, masked = self.mask_inputs(out['inputs'])
            out['inputs'] = inputs
            # exact for draw='batch' (all or none masked); with
            # draw='sample' loss_weight is 1
            self._factor = self.loss_weight if bool(masked.any()) else 1.0
            self._dump(out['inputs'], masked)
            return out

        return forward

    @staticmethod
    def _scale(losses: dict, factor: float) -> dict:
        scaled = {}
        for name, value in losses.items():
            if 'loss' in name:
                if isinstance(value, torch.Tensor):
                    value = value * factor
                elif isinstance(value, (list, tuple)):
                    value = [v * factor for v in value]
            scaled[name] = value
        return scaled

    def _weighted_parse_losses(self, original):

        def parse_losses(losses):
            factor, self._factor = self._factor, 1.0
            if factor != 1:
                losses = self._scale(losses, factor)
            return original(losses)

        return parse_losses

    def _dual_train_step(self, model):

        def make(original):

            def train_step(data, optim_wrapper):
                with optim_wrapper.optim_context(model):
                    data = model.data_preprocessor(data, True)
                    clean = model._run_forward(data, mode='loss')
                    masked_data = dict(data)
                    masked_data['inputs'], masked = self.mask_inputs(
                        data['inputs'], mask_all=True)
                    self._dump(masked_data['inputs'], masked)
                    masked_losses = model._run_forward(masked_data,
                                                       mode='loss')
                losses = dict(clean)
                for name, value in self._scale(masked_losses,
                                               self.loss_weight).items():
                    losses[f'masked_{name}'] = value
                parsed, log_vars = model.parse_losses(losses)
                optim_wrapper.update_params(parsed)
                return log_vars

            return train_step

        return make

    # ---------------------------------------------------------------- dump
    def _dump(self, inputs: torch.Tensor, masked: torch.Tensor) -> None:
        runner = self._runner
        if not self.dump_dir or runner is None:
            return
        it = int(getattr(runner, 'iter', 0))
        if it >= self.dump_iters or it in self._dumped:
            return
        self._dumped.add(it)
        import mmcv
        directory = self.dump_dir
        if not osp.isabs(directory):
            directory = osp.join(getattr(runner, 'work_dir', '.'), directory)
        os.makedirs(directory, exist_ok=True)
        pre = self._unwrap(runner.model).data_preprocessor
        mean = getattr(pre, 'mean', None)
        std = getattr(pre, 'std', None)
        frames = inputs.detach().cpu().float()
        if frames.dim() == 4:
            frames = frames[:, None]
        for n in range(frames.shape[0]):
            for t in range(frames.shape[1]):
                img = frames[n, t]
                if std is not None and getattr(pre, '_enable_normalize', True):
                    # (C, 1, 1) in mmengine, (1, C, 1, 1) in mmdet's
                    # TrackDataPreprocessor
                    img = img * std.cpu().reshape(-1, 1, 1) + \
                        mean.cpu().reshape(-1, 1, 1)
                img = img.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()
                if img.shape[-1] == 3 and getattr(pre, '_channel_conversion',
                                                  False):
                    img = img[..., ::-1]  # RGB -> BGR for cv2
                mmcv.imwrite(
                    img.copy(),
                    osp.join(directory,
                             f'iter{it + 1:06d}_sample{n}_frame{t}.png'))
        print_log(
            f'MVCMaskingHook: masked inputs of iteration {it + 1} '
            f'written to {directory}', 'current')

    # ---------------------------------------------------------- checkpoint
    def state_dict(self) -> dict:
        return dict(generator=get_rng_state(self.generator))

    @staticmethod
    def _rank_state(state: dict, rank: int, runner) -> Optional[dict]:
        """This rank's generator state in a checkpoint's entry (None: not
        there). ``ranks`` (every rank's, as gathered before the save) when
        present, else ``generator`` (rank 0's; older checkpoints)."""
        if 'ranks' not in state:
            return state['generator'] if rank == 0 else None
        world_size = get_dist_info()[1]
        saved = dict(version=state.get('version'),
                     world_size=state.get('world_size'),
                     ranks=state['ranks'])
        own, messages = select_rank_state(saved, rank, world_size)
        logger = getattr(runner, 'logger', None)
        for message in messages:
            print_log(f'MVCMaskingHook: {message}', logger or 'current',
                      level=30)
        return own

    def _gather_if_due(self, runner, by_epoch: bool) -> None:
        """Under DDP, gather every rank's generator state (a collective:
        all ranks call it) when a checkpoint is saved in this
        ``after_train_*``; ``before_save_checkpoint`` runs on rank 0 only.
        Same rule as :class:`RandomStateHook`."""
        if get_dist_info()[1] < 2:
            return
        # RandomStateHook._checkpoint_due reads only runner.hooks
        if RandomStateHook._checkpoint_due(self, runner, by_epoch):
            self._gathered = ((runner.epoch, runner.iter),
                              all_gather_object(self.state_dict()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._gather_if_due(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, by_epoch=True)

    def load_state_dict(self, state: dict) -> None:
        set_rng_state(state['generator'], self.generator)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """``generator``: this rank's (rank 0) state; under DDP also
        ``ranks`` (every rank's ``state_dict()``), ``world_size`` and
        ``version``, so each rank restores its own on resume."""
        state = self.state_dict()
        gathered, self._gathered = self._gathered, None
        if gathered is not None and gathered[0] == (runner.epoch,
                                                    runner.iter):
            state.update(version=RNG_FORMAT_VERSION,
                         world_size=len(gathered[1]),
                         ranks=[r['generator'] for r in gathered[1]])
        checkpoint[MVC_STATE_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the state; ``before_train`` restores it on resume (it seeds
        the generator first, and ``load_from`` leaves ``runner.iter`` 0)."""
        self._loaded_state = checkpoint.get(MVC_STATE_KEY)
