"""Write the fully resolved form of configs as canonical JSON, one file per
config, to compare a config tree before and after a refactoring:

    python tools/misc/resolve_configs.py /tmp/before
    # ... edit configs/ ...
    python tools/misc/resolve_configs.py /tmp/after
    python tools/misc/resolve_configs.py --compare /tmp/before /tmp/after

By default every config under ``configs/`` except ``_base_``; ``--bases``
adds the data set bases (complete data configs of their own). Keys are
sorted, so only values and the set of keys count, not their order.
``--ignore-scope`` drops the ``_scope_`` keys that mmengine adds to the
dicts of bases read from another package (``mmdet::``): they only name the
registry scope of a dict's ``type``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import sys


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def config_files(root: str, bases: bool = False):
    files = [
        p for p in glob.glob(
            osp.join(root, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    ]
    if bases:
        files += glob.glob(
            osp.join(root, 'configs', '_base_', 'datasets', '**', '*.py'),
            recursive=True)
    return sorted(files)


def _drop_scope(obj):
    if isinstance(obj, dict):
        return {k: _drop_scope(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [_drop_scope(v) for v in obj]
    return obj


def _flatten(obj, prefix=''):
    """``{'a': {'b': [1]}}`` -> ``{'a.b[0]': 1}`` (an empty dict or list is
    a leaf of its own)."""
    if isinstance(obj, dict) and obj:
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f'{prefix}.{k}' if prefix else str(k)))
        return out
    if isinstance(obj, list) and obj:
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f'{prefix}[{i}]'))
        return out
    return {prefix: obj}


def _runner_keys() -> frozenset:
    """Top-level keys that the runner, mmengine's Config and the tools
    read (the rest are variables of the config files)."""
    sys.path.insert(0, REPO)
    from mmvis_pretrain.utils.config_check import known_top_level_keys
    return known_top_level_keys() | {'model'}


def compare(before_dir: str, after_dir: str, out=sys.stdout) -> int:
    """Print, per config, the flattened keys whose values differ between
    two folders written by this script; returns the number of configs that
    differ (or exist on one side only)."""
    def files(root):
        return {
            osp.relpath(p, root)
            for p in glob.glob(osp.join(root, '**', '*.json'), recursive=True)
        }

    before, after = files(before_dir), files(after_dir)
    known = _runner_keys()
    differing = 0
    for rel in sorted(before | after):
        if rel not in after or rel not in before:
            differing += 1
            side = 'before' if rel in before else 'after'
            print(f'{rel[:-5]}: only {side}', file=out)
            continue
        with open(osp.join(before_dir, rel)) as f:
            old = _flatten(json.load(f))
        with open(osp.join(after_dir, rel)) as f:
            new = _flatten(json.load(f))
        keys = [k for k in sorted(old.keys() | new.keys())
                if old.get(k, '<absent>') != new.get(k, '<absent>')]
        if not keys:
            continue
        differing += 1
        print(f'{rel[:-5]}:', file=out)
        # top-level variables nothing reads (user variables of the config
        # files): their names only
        variables = {}
        for k in keys:
            top = re.split(r'[.\[]', k, 1)[0]
            if top in known:
                print(f'  {k}: {old.get(k, "<absent>")!r} -> '
                      f'{new.get(k, "<absent>")!r}', file=out)
            else:
                was = any(o == top or o.startswith((top + '.', top + '['))
                          for o in old)
                now = any(n == top or n.startswith((top + '.', top + '['))
                          for n in new)
                variables[top] = ('changed' if was and now else
                                  'removed' if was else 'added')
        for what in ('removed', 'added', 'changed'):
            names = sorted(k for k, v in variables.items() if v == what)
            if names:
                print(f'  variables {what} (not read by the runner): '
                      f'{", ".join(names)}', file=out)
    print(f'{differing} of {len(before | after)} configs differ', file=out)
    return differing


def resolved_json(path: str, ignore_scope: bool = False) -> str:
    """The resolved config at ``path`` as the tools run it (its class set
    applied: :func:`mmvis_pretrain.utils.runtime_cfg.load_config`) as
    sorted, indented JSON (tuples as lists; anything else JSON cannot hold
    as its ``str``)."""
    sys.path.insert(0, REPO)
    from mmvis_pretrain.utils.runtime_cfg import load_config
    cfg = load_config(path).to_dict()
    if ignore_scope:
        cfg = _drop_scope(cfg)
    return json.dumps(cfg, sort_keys=True, indent=1, default=str) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'out_dir', nargs='+',
        help='folder for <relative path>.json; with --compare: the two '
        'folders to compare')
    parser.add_argument(
        '--compare', action='store_true',
        help='compare two folders written before (key by key)')
    parser.add_argument('--root', default=REPO, help='repository root')
    parser.add_argument(
        '--bases', action='store_true',
        help='also the data set bases (configs/_base_/datasets)')
    parser.add_argument(
        '--ignore-scope', action='store_true',
        help="drop '_scope_' keys (added by mmengine to mmdet:: bases)")
    args = parser.parse_args(argv)
    if args.compare:
        if len(args.out_dir) != 2:
            parser.error('--compare takes two folders')
        compare(*args.out_dir)
        return 0
    if len(args.out_dir) != 1:
        parser.error('one output folder')
    out_dir = args.out_dir[0]
    failed = 0
    for path in config_files(args.root, args.bases):
        rel = osp.relpath(path, args.root)
        out = osp.join(out_dir, rel + '.json')
        os.makedirs(osp.dirname(out), exist_ok=True)
        try:
            text = resolved_json(path, args.ignore_scope)
        except Exception as e:  # report every config, then fail
            failed += 1
            text = f'ERROR {type(e).__name__}: {e}\n'
            print(f'{rel}: {text}', end='', file=sys.stderr)
        with open(out, 'w') as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
