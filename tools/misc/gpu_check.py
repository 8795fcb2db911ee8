"""GPU verification in one prepared command (issue 17, docs/gpu_check.md).

On a bare CUDA machine with the carried wheels (``../shared/device-wheels``:
Python 3.12, CUDA torch, nvcc, no OpenMMLab packages, no package index)::

    python3 tools/misc/gpu_check.py --out gpu_results --wheels .whl
    # if it stops with "mmcv build still running": call it again

prepared on the CPU machine (the device wheels and pytest's, into an
ignored ``.whl`` to carry)::

    .venv/bin/python tools/misc/gpu_check.py --prepare-wheels \
        ../shared/device-wheels --wheels .whl

and, as a rehearsal on a CPU machine with ``make install`` done::

    .venv/bin/python tools/misc/gpu_check.py --out gpu_rehearsal --device cpu --quick

Steps (``--steps``, default all, in this order):

1. ``install``: the wheels of ``--wheels`` into ``--site`` (``pip install
   --no-index --no-deps --target``); skipped when the packages import
   already. On ``--device cpu`` (the rehearsal) the pure-Python wheels go
   into ``OUT/site_rehearsal`` and mmengine / mmdet must import from there;
2. ``build``: mmcv 2.1.0 from the source archive in ``--wheels`` with its
   CUDA ops for this GPU (``TORCH_CUDA_ARCH_LIST`` from the device's compute
   capability, ``MAX_JOBS`` = the CPU count), in the background with its log
   in ``OUT/mmcv_build.log``; the command waits up to ``--build-wait``
   seconds, else exits 3 ("still running"), and a later call finds it
   running or built. Skipped when mmcv's ops are there with CUDA (or on
   ``--device cpu``, where ``make install`` built them);
3. ``tests``: the test files that have CUDA-only tests (those testing
   ``torch.cuda.is_available()``), every test in them (``--tests-k``
   narrows them);
4. ``amp``: a few training iterations (``--amp-iters``) of every model family
   (``--families``: video pre-training, online VIS, MVC, STMask, STC, the
   three decoupled stages chained) on the synthetic data, with
   ``tools/train.py --amp`` in fp16 and in bf16 (``--dtypes``); each must
   end with finite losses (read from its ``scalars.json``). On ``--device
   cpu`` mmengine's AMP is unavailable: the runs train in fp32 and are
   recorded as such;
5. ``bench``: the benchmarks of issue 17 (``--benchmarks``): MSTM training
   overhead (Mask2Former R50 with / without MSTM, T = 3, 640 px, AMP),
   online VIS R50 frames/s model-only and end to end with the 100- vs
   1000-frame peak memory, STMask R50-DCN vs YOLACT R50 frames/s at
   360 x 640, decoupled online / offline frames/s and memory; ``--quick``
   runs them on the tiny configs at small sizes (the rehearsal).

Everything goes to ``--out``: ``summary.json`` (every step and item: command,
exit status, seconds, log file, figures), updated after each item, so that
calls add to it; one log per item. Exit status 0 when every item passed, 1
otherwise, 3 while the mmcv build is still running.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STEPS = ('install', 'build', 'tests', 'amp', 'bench')
#: family -> tiny config; dvis_tracker / dvis_refiner start from the
#: previous decoupled stage's checkpoint
FAMILIES = {
    'video_pretrain': 'configs/video_pretrain/'
    'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py',
    'online_vis': 'configs/online_vis/'
    'online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py',
    'mvc': 'configs/mvc/online-mask2former-mvc1_tiny_1xb2-300it_synthetic-vis.py',
    'stmask': 'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
    'stc': 'configs/stc/stc_tiny_1xb2-300it_synthetic-vis.py',
    'dvis_segmenter': 'configs/dvis/dvis-segmenter_tiny_1xb2-300it_synthetic-vis.py',
    'dvis_tracker': 'configs/dvis/dvis-tracker_tiny_1xb2-300it_synthetic-vis.py',
    'dvis_refiner': 'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py',
}
CHAIN = {'dvis_tracker': 'dvis_segmenter', 'dvis_refiner': 'dvis_tracker'}
DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}
BENCHMARKS = ('mstm', 'online_fps', 'online_memory', 'stmask_fps',
              'decoupled')
R50 = dict(
    mstm='configs/video_pretrain/mask2former-mstm_r50_8xb2-50e_coco-pseudo-'
    'video.py',
    online='configs/online_vis/online-mask2former-mstm_r50_8xb2-16k_'
    'youtubevis2019_video-pretrain.py',
    stmask='configs/stmask/stmask_r50-dcn_4xb2-12e_youtubevis2019.py')
SYNTHETIC = 'data/synthetic/'


#: what the tests step needs beyond the device wheels (pure Python)
TEST_WHEELS = ('pytest', 'pluggy', 'iniconfig')


def prepare_wheels(src: str, dest: str) -> int:
    """On the CPU machine, before carrying: copy the device wheels of
    ``src`` into ``dest`` and download the test runner's pure-Python
    wheels (:data:`TEST_WHEELS`, for CPython 3.12) next to them."""
    import shutil
    os.makedirs(dest, exist_ok=True)
    for path in glob.glob(osp.join(src, '*')):
        if path.endswith(('.whl', '.tar.gz')):
            shutil.copy(path, dest)
    rc = subprocess.run(
        [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
         '--only-binary', ':all:', '--python-version', '3.12', '-d', dest,
         *TEST_WHEELS]).returncode
    print(f'{dest}: {len(os.listdir(dest))} files' + (
        '' if rc == 0 else f'; pip download of {TEST_WHEELS} failed ({rc})'))
    return rc


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='results folder (required unless '
                        '--prepare-wheels)')
    parser.add_argument('--prepare-wheels', metavar='SRC',
                        help='CPU machine: copy the device wheels of SRC '
                        'into --wheels and add the pytest wheels, then exit')
    parser.add_argument('--steps', nargs='+', choices=STEPS,
                        default=list(STEPS))
    parser.add_argument('--device', choices=('cuda', 'cpu'), default='cuda')
    parser.add_argument('--quick', action='store_true',
                        help='benchmarks on the tiny configs at small sizes '
                        '(the CPU rehearsal)')
    parser.add_argument('--wheels', default='.whl',
                        help='wheels + mmcv-2.1.0.tar.gz (default .whl)')
    parser.add_argument('--site', default='.site',
                        help='install target (default .site)')
    parser.add_argument('--build-wait', type=int, default=420,
                        help='seconds to wait for the mmcv build (default '
                        '420)')
    parser.add_argument('--families', nargs='+', choices=list(FAMILIES),
                        default=list(FAMILIES))
    parser.add_argument('--dtypes', nargs='+', choices=list(DTYPES),
                        default=list(DTYPES))
    parser.add_argument('--amp-iters', type=int, default=3)
    parser.add_argument('--benchmarks', nargs='+', choices=BENCHMARKS,
                        default=list(BENCHMARKS))
    parser.add_argument('--tests-k', help='pytest -k expression for the '
                        'tests step')
    parser.add_argument('--data-root', default=None, help='synthetic data '
                        '(default OUT/data, written if missing)')
    parser.add_argument('--timeout', type=int, default=600,
                        help='seconds per item (default 600)')
    args = parser.parse_args(argv)
    if args.out is None and args.prepare_wheels is None:
        parser.error('--out is required')
    if args.amp_iters < 1 or args.build_wait < 0:
        parser.error('--amp-iters must be >= 1 and --build-wait >= 0')
    return args


class Summary:
    """``OUT/summary.json``: items by step, kept across calls."""

    def __init__(self, out: str) -> None:
        self.path = osp.join(out, 'summary.json')
        self.data = {}
        if osp.isfile(self.path):
            with open(self.path) as f:
                self.data = json.load(f)

    def record(self, step: str, item: str, **fields) -> dict:
        entry = dict(fields, time=time.strftime('%Y-%m-%d %H:%M:%S'))
        self.data.setdefault(step, {})[item] = entry
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)
        state = 'ok' if entry.get('ok') else 'FAILED'
        note = f" ({entry['note']})" if entry.get('note') else ''
        print(f'[{step}] {item}: {state}{note}', flush=True)
        return entry


def tool_env(args) -> Dict[str, str]:
    env = dict(os.environ)
    paths = [REPO]
    site = osp.abspath(args.site)
    if osp.isdir(site):
        paths.insert(0, site)
    env['PYTHONPATH'] = os.pathsep.join(
        paths + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
        env.setdefault('OMP_NUM_THREADS', '1')
    return env


def run_item(args, cmd: List[str], log: str, timeout: Optional[int] = None
             ) -> dict:
    """Run ``cmd`` (a python tool: the interpreter is prepended) with its
    output in ``log``; exit status, seconds, timed out."""
    os.makedirs(osp.dirname(log), exist_ok=True)
    start = time.time()
    with open(log, 'w') as f:
        f.write('$ ' + ' '.join(shlex.quote(c) for c in cmd) + '\n')
        f.flush()
        try:
            rc = subprocess.run([sys.executable, *cmd], cwd=REPO,
                                env=tool_env(args), stdout=f,
                                stderr=subprocess.STDOUT,
                                timeout=timeout or args.timeout).returncode
            timed_out = False
        except subprocess.TimeoutExpired:
            rc, timed_out = 124, True
    return dict(cmd=' '.join(cmd), rc=rc, timed_out=timed_out,
                seconds=round(time.time() - start, 1),
                log=osp.relpath(log, args.out))


def _imports(args, code: str) -> bool:
    return subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          env=tool_env(args), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


# ------------------------------------------------------------ 1. install
def rehearse_install(args, summary: Summary) -> bool:
    """CPU rehearsal of the install: the pure-Python wheels of
    ``--wheels`` (those of another CPython, e.g. the device's cp312
    pycocotools, cannot install here) into ``OUT/site_rehearsal``, then
    mmengine and mmdet must import from there."""
    wheels = sorted(glob.glob(osp.join(args.wheels, '*-none-any.whl')))
    if not wheels:
        summary.record('install', 'wheels', ok=True, note='CPU rehearsal: '
                       f'no wheels in {args.wheels}; the environment has '
                       'the packages')
        return True
    target = osp.join(args.out, 'site_rehearsal')
    res = run_item(args, ['-m', 'pip', 'install', '-q', '--no-index',
                          '--no-deps', '--no-compile', '--target', target,
                          *wheels], osp.join(args.out, 'logs',
                                             'install.log'))
    check = subprocess.run(
        [sys.executable, '-c', 'import mmengine, mmdet; print(mmengine.'
         '__file__); print(mmdet.__file__)'], cwd=REPO, capture_output=True,
        text=True, env=dict(tool_env(args), PYTHONPATH=os.pathsep.join(
            [target, REPO])))
    ok = res['rc'] == 0 and check.returncode == 0 and all(
        line.startswith(target) for line in check.stdout.split())
    summary.record('install', 'wheels', ok=ok, note=f'CPU rehearsal: '
                   f'{len(wheels)} pure-Python wheels into site_rehearsal, '
                   'mmengine and mmdet import from there', **res)
    return ok


def step_install(args, summary: Summary) -> bool:
    if args.device == 'cpu':
        return rehearse_install(args, summary)
    if _imports(args, 'import mmengine, mmdet, pycocotools'):
        summary.record('install', 'wheels', ok=True,
                       note='mmengine, mmdet, pycocotools import already')
        return True
    wheels = sorted(glob.glob(osp.join(args.wheels, '*.whl')))
    if not wheels:
        summary.record('install', 'wheels', ok=False,
                       note=f'no wheels in {args.wheels}')
        return False
    log = osp.join(args.out, 'logs', 'install.log')
    res = run_item(args, ['-m', 'pip', 'install', '-q', '--no-index',
                          '--no-deps', '--no-compile', '--target',
                          osp.abspath(args.site), *wheels], log)
    ok = res['rc'] == 0 and _imports(args, 'import mmengine, mmdet')
    summary.record('install', 'wheels', ok=ok, **res)
    return ok


# ------------------------------------------------------------ 2. build
MMCV_CUDA = ('import mmcv.ops, sys; v = mmcv.ops.get_compiling_cuda_version();'
             ' sys.exit(0 if v and v != "not available" else 1)')


def cuda_arch(args) -> str:
    out = subprocess.run(
        [sys.executable, '-c', 'import torch; c = torch.cuda.'
         'get_device_capability(); print(f"{c[0]}.{c[1]}")'],
        env=tool_env(args), capture_output=True, text=True)
    return out.stdout.strip() or '9.0'


def step_build(args, summary: Summary) -> Optional[bool]:
    """True: built; False: failed; None: still running (exit 3)."""
    if args.device == 'cpu':
        ok = _imports(args, 'import mmcv.ops')
        summary.record('build', 'mmcv', ok=ok, note='CPU rehearsal: the '
                       "environment's mmcv (make install built it)")
        return ok
    if _imports(args, MMCV_CUDA):
        summary.record('build', 'mmcv', ok=True,
                       note='mmcv ops with CUDA import')
        return True
    log = osp.join(osp.abspath(args.out), 'mmcv_build.log')
    pid_file = osp.join(osp.abspath(args.out), 'mmcv_build.pid')
    running = False
    if osp.isfile(pid_file):
        try:
            os.kill(int(open(pid_file).read()), 0)
            running = True
        except (OSError, ValueError):
            running = False
    if not running:
        if osp.isfile(pid_file):  # it ended, but mmcv does not import
            summary.record('build', 'mmcv', ok=False, log='mmcv_build.log',
                           note='the build ended without CUDA ops; see the '
                           'end of mmcv_build.log')
            return False
        archive = osp.join(args.wheels, 'mmcv-2.1.0.tar.gz')
        if not osp.isfile(archive):
            summary.record('build', 'mmcv', ok=False,
                           note=f'no {archive}')
            return False
        build_dir = osp.abspath('.build')
        os.makedirs(build_dir, exist_ok=True)
        subprocess.run(['tar', 'xzf', archive, '-C', build_dir], check=True)
        arch = cuda_arch(args)
        env = dict(tool_env(args), MMCV_WITH_OPS='1', FORCE_CUDA='1',
                   TORCH_CUDA_ARCH_LIST=arch,
                   MAX_JOBS=str(os.cpu_count() or 4))
        with open(log, 'w') as f:
            f.write(f'TORCH_CUDA_ARCH_LIST={arch} MAX_JOBS={env["MAX_JOBS"]}'
                    '\n')
            f.flush()
            proc = subprocess.Popen(
                [sys.executable, '-m', 'pip', 'install', '-q', '--no-index',
                 '--no-deps', '--no-build-isolation', '--target',
                 osp.abspath(args.site), '.'],
                cwd=osp.join(build_dir, 'mmcv-2.1.0'), env=env, stdout=f,
                stderr=subprocess.STDOUT, start_new_session=True)
        with open(pid_file, 'w') as f:
            f.write(str(proc.pid))
        print(f'[build] mmcv: started (arch {arch}), log {log}', flush=True)
    deadline = time.time() + args.build_wait
    while time.time() < deadline:
        try:
            os.kill(int(open(pid_file).read()), 0)
        except OSError:
            break
        time.sleep(10)
        size = osp.getsize(log) if osp.isfile(log) else 0
        print(f'[build] mmcv: running, log {size} bytes', flush=True)
    else:
        summary.record('build', 'mmcv', ok=False, note='still running: '
                       'call gpu_check.py again')
        return None
    ok = _imports(args, MMCV_CUDA)
    summary.record('build', 'mmcv', ok=ok, log='mmcv_build.log',
                   note='' if ok else 'built without CUDA ops: see the log')
    return ok


# ------------------------------------------------------------ 3. tests
def cuda_test_files() -> List[str]:
    files = []
    for path in sorted(glob.glob(osp.join(REPO, 'tests', '**', 'test_*.py'),
                                 recursive=True)):
        with open(path) as f:
            if 'cuda.is_available()' in f.read():
                files.append(osp.relpath(path, REPO))
    return files


def step_tests(args, summary: Summary) -> bool:
    if not _imports(args, 'import pytest'):
        summary.record('tests', 'cuda_tests', ok=False, note='pytest is not '
                       'installed: put its wheels into --wheels (gpu_check.py '
                       '--prepare-wheels on the CPU machine) and run the '
                       'install step')
        return False
    files = cuda_test_files()
    cmd = ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rs', *files]
    if args.tests_k:
        cmd += ['-k', args.tests_k]
    res = run_item(args, cmd, osp.join(args.out, 'logs', 'tests.log'),
                   timeout=max(args.timeout, 600))
    tail = open(osp.join(args.out, res['log'])).read().strip().splitlines()
    res['result'] = tail[-1] if tail else ''
    res['files'] = files
    return summary.record('tests', 'cuda_tests', ok=res['rc'] == 0,
                          note=res['result'], **res)['ok']


# ------------------------------------------------------------ 4. amp
def data_root(args) -> str:
    root = osp.abspath(args.data_root or osp.join(args.out, 'data'))
    if not osp.isfile(osp.join(root, 'ytvis', 'valid.json')):
        subprocess.run([sys.executable, 'tools/misc/make_synthetic_data.py',
                        '--out', root, '--num-images', '8',
                        '--num-val-images', '4', '--num-videos', '4',
                        '--num-val-videos', '2'], cwd=REPO,
                       env=tool_env(args), check=True,
                       stdout=subprocess.DEVNULL)
    return root + '/'


def _retarget(value, root: str):
    """Every string of a config starting with the bundled data root now
    starts with ``root``."""
    if isinstance(value, str):
        return root + value[len(SYNTHETIC):] if value.startswith(
            SYNTHETIC) else value
    if isinstance(value, dict):
        return {k: _retarget(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_retarget(v, root) for v in value)
    return value


def family_config(args, family: str, root: str, dtype: Optional[str],
                  load_from: Optional[str]) -> str:
    """A self-contained config of ``family``: data under ``root``, a few
    iterations, no validation, AMP ``dtype`` (None: as configured)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, FAMILIES[family]))
    data = _retarget(cfg.to_dict(), root)
    iters = args.amp_iters
    data['train_cfg'].update(max_iters=iters, val_interval=iters + 1,
                             val_begin=iters + 1)
    data['default_hooks']['checkpoint'].update(interval=iters)
    data['default_hooks']['logger'].update(interval=1)
    schedulers = data.get('param_scheduler')
    for sched in schedulers if isinstance(schedulers, list) else [
            schedulers]:
        if isinstance(sched, dict):
            sched.update(end=iters)
            if 'milestones' in sched:
                sched['milestones'] = [iters]
    data['randomness'] = dict(seed=0)
    if load_from:
        data['load_from'] = load_from
    if dtype is not None:
        data['optim_wrapper'].update(type='AmpOptimWrapper', dtype=dtype,
                                     loss_scale='dynamic')
    path = osp.join(osp.abspath(args.out), 'configs',
                    f'{family}_{dtype or "fp32"}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    Config(data).dump(path)
    return path


def finite_losses(work_dir: str) -> Optional[List[float]]:
    """The ``loss`` of every logged iteration (None: no log found)."""
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if not files:
        return None
    losses = []
    with open(sorted(files)[-1]) as f:
        for line in f:
            entry = json.loads(line)
            if 'loss' in entry:
                losses.append(float(entry['loss']))
    return losses


def step_amp(args, summary: Summary) -> bool:
    root = data_root(args)
    ok_all = True
    dtypes = args.dtypes if args.device == 'cuda' else ['fp32']
    for dtype in dtypes:
        ckpts = {}
        for family in FAMILIES:
            if family not in args.families:
                continue
            item = f'{family}_{dtype}'
            parent = CHAIN.get(family)
            load_from = ckpts.get(parent) if parent else None
            if parent and load_from is None:
                summary.record('amp', item, ok=False, note=f'needs {parent} '
                               '(in --families, trained first)')
                ok_all = False
                continue
            config = family_config(args, family, root, DTYPES.get(dtype),
                                   load_from)
            work = osp.join(osp.abspath(args.out), 'amp', item)
            res = run_item(args, ['tools/train.py', config, '--work-dir',
                                  work], osp.join(args.out, 'logs',
                                                  f'amp_{item}.log'))
            losses = finite_losses(work)
            finite = bool(losses) and all(math.isfinite(v) for v in losses)
            ok = res['rc'] == 0 and finite
            ckpt = osp.join(work, f'iter_{args.amp_iters}.pth')
            if ok and osp.isfile(ckpt):
                ckpts[family] = ckpt
            note = f'losses {["%.3g" % v for v in losses or []]}'
            if args.device == 'cpu':
                note += ' (CPU: fp32, AMP needs CUDA)'
            summary.record('amp', item, ok=ok, losses=losses, note=note,
                           **res)
            ok_all &= ok
    return ok_all


# ------------------------------------------------------------ 5. bench
def yolact_config() -> str:
    import mmdet
    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'yolact',
                    'yolact_r50_1xb8-55e_coco.py')


def bench_commands(args) -> Dict[str, List[List[str]]]:
    """benchmark -> tool command lines (each with ``--out``)."""
    dev = args.device
    cuda_dev = 'cuda:0' if dev == 'cuda' else 'cpu'
    b = osp.join(osp.abspath(args.out), 'bench')
    if args.quick:
        mstm, online = FAMILIES['video_pretrain'], FAMILIES['online_vis']
        stmask = FAMILIES['stmask']
        size, small, iters = ['64', '96'], ['64', '96'], ['--iters', '2',
                                                          '--warmup', '1']
        lengths, vlen = ['4', '8'], '4'
    else:
        mstm, online, stmask = R50['mstm'], R50['online'], R50['stmask']
        size, small, iters = ['640', '640'], ['360', '640'], [
            '--iters', '20', '--warmup', '5']
        lengths, vlen = ['100', '1000'], '50'
    amp = ['--amp'] if dev == 'cuda' else []
    cmds = {
        'mstm': [
            ['tools/analysis_tools/benchmark_model.py', mstm, '--device', dev,
             *amp, '--size', *size, '--batch', '2', '--num-frames', '3',
             *iters, '--skip-inference', '--out', f'{b}/mstm_with.json'],
            ['tools/analysis_tools/benchmark_model.py', mstm, '--device', dev,
             *amp, '--size', *size, '--batch', '2', '--num-frames', '3',
             *iters, '--skip-inference', '--cfg-options', 'model.neck=None',
             '--out', f'{b}/mstm_without.json']],
        'online_fps': [
            ['tools/analysis_tools/benchmark_fps.py', online, '--device', dev,
             '--size', *small, '--video-length', vlen, *iters,
             '--out', f'{b}/online_fps.json']],
        'online_memory': [
            ['tools/analysis_tools/benchmark_vis_inference.py', online,
             '--lengths', *lengths, '--size', *small, '--device', cuda_dev,
             '--out', f'{b}/online_memory.json']],
        'stmask_fps': [
            ['tools/analysis_tools/benchmark_fps.py', stmask, yolact_config(),
             '--device', dev, '--size', *small, '--video-length', vlen,
             *iters, '--score-thr', '0', '--max-per-img', '10',
             '--out', f'{b}/stmask_fps.json']],
        'decoupled': [
            ['tools/analysis_tools/benchmark_decoupled.py', '--device', dev,
             '--size', *small, '--video-length', vlen, '--iters',
             iters[1], '--out', f'{b}/decoupled.json'] +
            (['--memory-size', *small, '--memory-lengths', *lengths]
             if args.quick else [])],
    }
    return cmds


def step_bench(args, summary: Summary) -> bool:
    ok_all = True
    for name, cmds in bench_commands(args).items():
        if name not in args.benchmarks:
            continue
        results = [run_item(args, cmd, osp.join(args.out, 'logs',
                                                f'bench_{name}_{i}.log'))
                   for i, cmd in enumerate(cmds)]
        ok = all(r['rc'] == 0 for r in results)
        outputs = {}
        for cmd in cmds:
            path = cmd[cmd.index('--out') + 1]
            if osp.isfile(path):
                outputs[osp.basename(path)] = osp.relpath(path, args.out)
        summary.record('bench', name, ok=ok, runs=results, outputs=outputs,
                       seconds=round(sum(r['seconds'] for r in results), 1))
        ok_all &= ok
    return ok_all


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.prepare_wheels:
        return prepare_wheels(args.prepare_wheels, args.wheels)
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    summary = Summary(args.out)
    summary.data['machine'] = dict(
        device=args.device, python=sys.version.split()[0],
        cpus=os.cpu_count(), quick=args.quick)
    ok = True
    for step in STEPS:
        if step not in args.steps:
            continue
        if step == 'install':
            ok &= step_install(args, summary)
        elif step == 'build':
            built = step_build(args, summary)
            if built is None:
                print('mmcv build still running: call gpu_check.py again',
                      flush=True)
                return 3
            ok &= built
        elif step == 'tests':
            ok &= step_tests(args, summary)
        elif step == 'amp':
            ok &= step_amp(args, summary)
        else:
            ok &= step_bench(args, summary)
    print(f"{'all passed' if ok else 'FAILURES'}: {summary.path}")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
