"""MVCMaskingHook: patch masking of the training input (MVC-1 / MVC-2)."""
import glob
import os.path as osp
from types import SimpleNamespace

import mmcv
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseDataPreprocessor, BaseModel, ImgDataPreprocessor
from mmengine.optim import OptimWrapper

from conftest import REPO, TINY_VIS_CONFIG, tiny_vis_options
from mmvis_pretrain.engine.hooks import MVCMaskingHook
from mmvis_pretrain.engine.hooks.mvc_masking_hook import (MVC_STATE_KEY,
                                                          patch_keep_mask)

ONLINE_TINY_CONFIG = osp.join(
    REPO, 'configs/online_vis/'
    'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------
# a spy model
# --------------------------------------------------------------------------
class _ListPreprocessor(BaseDataPreprocessor):
    """Returns the inputs as a list: nothing the hook can mask."""

    def forward(self, data, training=False):
        data = super().forward(data, training)
        data['inputs'] = list(data['inputs'])
        return data


class _Spy(BaseModel):
    """Records the inputs of every forward; the loss is
    ``w * mean(|inputs|) + w * const`` (a clean and a masked batch give
    different losses)."""

    def __init__(self, data_preprocessor=None, const=0.0):
        super().__init__(
            data_preprocessor=data_preprocessor or BaseDataPreprocessor())
        self.w = torch.nn.Parameter(torch.ones(()))
        self.const = const
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.seen.append((mode, inputs.detach().clone() if isinstance(
            inputs, torch.Tensor) else inputs))
        if mode == 'loss':
            x = inputs if isinstance(inputs,
                                     torch.Tensor) else torch.stack(inputs)
            return dict(loss_spy=self.w * (x.abs().mean() + self.const))
        return [inputs]


def _setup(hook, model=None, seed=0, work_dir='.'):
    model = model or _Spy()
    runner = SimpleNamespace(model=model, seed=seed, iter=0, work_dir=work_dir)
    hook.before_train(runner)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    return model, runner, optim


def _batch(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=torch.randn(shape, generator=g) + 3.0,
                data_samples=None)


# --------------------------------------------------------------------------
# the mask itself
# --------------------------------------------------------------------------
def test_dropped_fraction_is_mask_ratio():
    g = torch.Generator().manual_seed(0)
    b, r = 4, 0.7
    keep = patch_keep_mask((40, ), 200, 200, b, r, g)
    patches = keep[:, ::b, ::b]  # one pixel per patch: 40 x 50 x 50
    dropped = 1 - patches.float().mean().item()
    sigma = (r * (1 - r) / patches.numel())**0.5
    assert abs(dropped - r) < 5 * sigma
    # r = 0 keeps everything
    assert patch_keep_mask((3, ), 10, 10, 4, 0.0, g).all()


@pytest.mark.parametrize('size', [(45, 70), (32, 64), (1, 1), (33, 31)])
def test_grid_aligned_ceil_and_crop(size):
    h, w = size
    b = 16
    g = torch.Generator().manual_seed(1)
    keep = patch_keep_mask((8, ), h, w, b, 0.5, g)
    assert keep.shape == (8, h, w)
    rows, cols = -(-h // b), -(-w // b)
    for i in range(rows):
        for j in range(cols):
            block = keep[:, i * b:(i + 1) * b, j * b:(j + 1) * b]
            # constant inside every patch, partial patches cropped
            assert (block == block[:, :1, :1]).all()


def test_masked_pixels_zero_unmasked_untouched_on_padded_input():
    """Images of odd size, normalised and padded to 32 by mmengine's
    preprocessor: the grid lies on the padded tensor from pixel (0, 0)."""
    pre = ImgDataPreprocessor(mean=[100.0] * 3,
                              std=[50.0] * 3,
                              pad_size_divisor=32)
    hook = MVCMaskingHook(patch_size=16, mask_ratio=0.5, p_mask=1.0)
    model, runner, optim = _setup(hook, _Spy(pre))
    g = torch.Generator().manual_seed(3)
    imgs = [torch.rand((3, 45, 70), generator=g) * 255 for _ in range(2)]
    clean = pre(dict(inputs=imgs), False)['inputs']
    assert clean.shape == (2, 3, 64, 96)
    out = pre(dict(inputs=imgs), True)['inputs']
    keep = hook.last_keep
    assert keep.shape == (2, 64, 96)
    assert hook.last_masked.all()
    k = keep[:, None].expand_as(out)
    assert (out[~k] == 0).all()
    assert torch.equal(out[k], clean[k])
    assert 0 < keep.float().mean() < 1
    for i in range(0, 64, 16):  # aligned on the padded tensor
        for j in range(0, 96, 16):
            block = keep[:, i:i + 16, j:j + 16]
            assert (block == block[:, :1, :1]).all()
    hook.after_train(runner)
    assert 'forward' not in vars(pre)


def test_tube_mask_shared_by_frames_and_differs_across_clips():
    hook = MVCMaskingHook(patch_size=4,
                          mask_ratio=0.7,
                          mode='tube',
                          p_mask=1.0)
    masked, keep = hook.draw_masks((3, 4, 3, 32, 32))
    assert masked.shape == (3, )
    assert keep.shape == (3, 4, 32, 32)
    for n in range(3):
        for t in range(1, 4):
            assert torch.equal(keep[n, t], keep[n, 0])
    assert not torch.equal(keep[0, 0], keep[1, 0])
    assert not torch.equal(keep[1, 0], keep[2, 0])


def test_frame_masks_differ_across_frames():
    hook = MVCMaskingHook(patch_size=4,
                          mask_ratio=0.7,
                          mode='frame',
                          p_mask=1.0)
    masked, keep = hook.draw_masks((2, 4, 3, 32, 32))
    assert masked.shape == (2, 4)
    for n in range(2):
        for t in range(1, 4):
            assert not torch.equal(keep[n, t], keep[n, 0])


@pytest.mark.parametrize('mode,shape', [('frame', (4, 5, 3, 8, 8)),
                                        ('tube', (4, 5, 3, 8, 8)),
                                        ('frame', (8, 3, 8, 8))])
def test_fraction_of_masked_samples_is_p_mask(mode, shape):
    p = 0.3
    hook = MVCMaskingHook(patch_size=4, mask_ratio=0.7, mode=mode, p_mask=p)
    flags = torch.cat(
        [hook.draw_masks(shape)[0].reshape(-1) for _ in range(500)]).float()
    sigma = (p * (1 - p) / flags.numel())**0.5
    assert abs(flags.mean().item() - p) < 5 * sigma
    # an unmasked sample is entirely kept
    masked, keep = hook.draw_masks(shape)
    if len(shape) == 5 and mode == 'tube':
        masked = masked[:, None].expand(shape[:2])
    assert keep[~masked].all()


def test_masking_in_train_step_only_and_off_in_val_test_predict():
    hook = MVCMaskingHook(patch_size=4, mask_ratio=0.7, p_mask=1.0)
    model, runner, optim = _setup(hook)
    data = _batch((2, 3, 16, 16))
    model.train_step(dict(data), optim)
    assert model.seen[-1][0] == 'loss'
    assert (model.seen[-1][1] == 0).any()  # masked
    model.eval()
    model.val_step(dict(data))
    model.test_step(dict(data))
    model(**model.data_preprocessor(dict(data), False), mode='predict')
    for mode, inputs in model.seen[1:]:
        assert mode == 'predict'
        assert torch.equal(inputs, data['inputs'])
    hook.after_train(runner)
    model.train()
    model.train_step(dict(data), optim)  # restored: no mask after training
    assert torch.equal(model.seen[-1][1], data['inputs'])


def test_lambda_scales_the_loss_of_masked_batches_exactly():
    """draw='batch': a masked batch's loss is exactly lambda x the loss of
    the same forward, a clean one is unscaled."""
    lam = 0.25
    hook = MVCMaskingHook(patch_size=4,
                          mask_ratio=0.7,
                          p_mask=0.5,
                          loss_weight=lam,
                          draw='batch')
    model, runner, optim = _setup(hook, _Spy(const=2.0))
    outcomes = set()
    for i in range(20):
        log_vars = model.train_step(_batch((2, 4, 3, 8, 8), seed=i), optim)
        masked = bool(hook.last_masked.any())
        assert bool(hook.last_masked.all()) == masked  # one draw per batch
        inputs = model.seen[-1][1]
        raw = inputs.abs().mean().item() + 2.0
        expected = lam * raw if masked else raw
        assert log_vars['loss'].item() == pytest.approx(expected, rel=1e-6)
        assert log_vars['loss_spy'].item() == pytest.approx(expected, rel=1e-6)
        outcomes.add(masked)
    assert outcomes == {True, False}
    hook.after_train(runner)
    assert 'parse_losses' not in vars(model)


def test_lambda_needs_batch_draw_or_dual():
    with pytest.raises(ValueError, match='loss_weight'):
        MVCMaskingHook(loss_weight=0.5)
    MVCMaskingHook(loss_weight=0.5, draw='batch')
    MVCMaskingHook(loss_weight=0.5, dual=True)
    with pytest.raises(ValueError, match='mode'):
        MVCMaskingHook(mode='clip')


def test_dual_two_forwards_clean_plus_lambda_masked():
    lam = 0.5
    hook = MVCMaskingHook(patch_size=4,
                          mask_ratio=0.7,
                          mode='tube',
                          loss_weight=lam,
                          dual=True)
    model, runner, optim = _setup(hook)
    data = _batch((2, 3, 3, 16, 16))
    log_vars = model.train_step(dict(data), optim)
    assert [m for m, _ in model.seen] == ['loss', 'loss']
    clean, masked = model.seen[0][1], model.seen[1][1]
    assert torch.equal(clean, data['inputs'])
    assert hook.last_masked.all()  # the masked forward masks every sample
    assert (masked == 0).any() and not torch.equal(masked, clean)
    expected = clean.abs().mean().item() + lam * masked.abs().mean().item()
    assert log_vars['loss'].item() == pytest.approx(expected, rel=1e-6)
    assert log_vars['masked_loss_spy'].item() == pytest.approx(
        lam * masked.abs().mean().item(), rel=1e-6)
    hook.after_train(runner)
    assert 'train_step' not in vars(model)


def test_clear_error_for_a_model_that_cannot_take_it():
    hook = MVCMaskingHook()
    model, runner, optim = _setup(hook, _Spy(_ListPreprocessor()))
    with pytest.raises(TypeError, match=r'MVCMaskingHook.*got list'):
        model.train_step(_batch((2, 3, 8, 8)), optim)
    hook.after_train(runner)
    hook = MVCMaskingHook()
    model, runner, optim = _setup(hook)
    with pytest.raises(TypeError, match=r'MVCMaskingHook.*\(2, 8, 8\)'):
        model.train_step(_batch((2, 8, 8)), optim)
    hook.after_train(runner)

    class _NoPre(torch.nn.Module):
        pass

    with pytest.raises(TypeError, match='MVCMaskingHook.*_NoPre'):
        MVCMaskingHook().before_train(
            SimpleNamespace(model=_NoPre(), seed=0, iter=0))


def test_generator_seeded_from_run_seed():
    a, b, c = MVCMaskingHook(), MVCMaskingHook(), MVCMaskingHook()
    for hook, seed in ((a, 1), (b, 1), (c, 2)):
        _setup(hook, seed=seed)
    shape = (2, 3, 64, 64)
    ka, kb, kc = (h.draw_masks(shape)[1] for h in (a, b, c))
    assert torch.equal(ka, kb)
    assert not torch.equal(ka, kc)


# --------------------------------------------------------------------------
# training runs
# --------------------------------------------------------------------------
class _MaskRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.keeps = {}

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        hook = next(h for h in runner.hooks if isinstance(h, MVCMaskingHook))
        self.keeps[runner.iter + 1] = (hook.last_masked.clone(),
                                       hook.last_keep.clone())


def _vis_runner(root, work_dir, max_iters, resume_from=None):
    from mmengine.runner import Runner
    cfg = Config.fromfile(TINY_VIS_CONFIG)
    cfg.merge_from_dict(tiny_vis_options(root, max_iters))
    cfg.merge_from_dict({
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 100,
        'randomness': dict(seed=0, deterministic=True),
    })
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks = [
        dict(type='MVCMaskingHook',
             patch_size=16,
             mask_ratio=0.7,
             mode='frame',
             p_mask=0.5)
    ]
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    recorder = _MaskRecorder()
    runner.register_hook(recorder)
    return runner, recorder


def test_resume_draws_the_masks_of_the_uninterrupted_run(
        synthetic_root, tmp_path):
    full_dir = tmp_path / 'full'
    runner, full = _vis_runner(synthetic_root, full_dir, 4)
    runner.train()
    ckpt = str(full_dir / 'iter_2.pth')
    state = torch.load(ckpt, weights_only=True)
    assert MVC_STATE_KEY in state
    runner, resumed = _vis_runner(synthetic_root,
                                  tmp_path / 'res',
                                  4,
                                  resume_from=ckpt)
    runner.train()
    assert set(resumed.keeps) == {3, 4}
    for it in (3, 4):
        assert torch.equal(resumed.keeps[it][0], full.keeps[it][0])
        assert torch.equal(resumed.keeps[it][1], full.keeps[it][1])
    # the compared iterations masked some frames and left others clean
    flags = torch.cat([full.keeps[it][0].reshape(-1) for it in (3, 4)])
    assert flags.any() and not flags.all()
    assert any(not bool(full.keeps[it][1].all()) for it in (3, 4))


def test_online_vis_trains_with_tube_masks_and_dumps(synthetic_root, tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(ONLINE_TINY_CONFIG)
    cfg.train_dataloader.dataset.datasets[0].data_root = osp.join(
        synthetic_root, 'coco') + '/'
    cfg.train_dataloader.dataset.datasets[1].data_root = osp.join(
        synthetic_root, 'ytvis') + '/'
    cfg.merge_from_dict({
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 100,
        'default_hooks.logger.interval': 1,
        'param_scheduler.milestones': [2],
        'param_scheduler.end': 2,
        'randomness.seed': 0,
    })
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks = [
        dict(type='MVCMaskingHook',
             patch_size=16,
             mask_ratio=0.7,
             mode='tube',
             p_mask=1.0,
             dump_dir='mvc_dump',
             dump_iters=1)
    ]
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    recorder = _MaskRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert set(recorder.keeps) == {1, 2}
    masked, keep = recorder.keeps[2]
    n, t = keep.shape[:2]
    assert masked.shape == (n, ) and masked.all()
    assert t == 5
    assert (keep == keep[:, :1]).all()  # tube
    assert not keep.all()
    pngs = glob.glob(str(tmp_path / 'mvc_dump' / '*.png'))
    assert len(pngs) == n * t  # one per frame, first iteration only
    assert all('iter000001' in p for p in pngs)
    # the preprocessor is restored after training
    assert 'forward' not in vars(runner.model.data_preprocessor)
    img = mmcv.imread(pngs[0])
    assert img.shape[:2] == keep.shape[-2:]
