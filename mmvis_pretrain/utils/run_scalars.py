"""Read the scalars mmengine logs for a run (``vis_data/scalars.json``).

mmengine's ``LocalVisBackend`` writes one JSON object per line into
``<work_dir>/<timestamp>/vis_data/scalars.json``: training records carry
``iter`` (and ``step``), validation / test records carry the metrics and
``step``. :func:`find_scalars` resolves a run given as that file, as its
timestamp folder or as the work dir (latest run); :func:`read_scalars`
splits the records; :func:`scalar_curve` gives one key's curve. Used by
``tools/analysis_tools/analyze_logs.py`` and the demo report.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of a run.

    Args:
        path (str): the file itself, a run folder (``<timestamp>``, holding
            ``vis_data/scalars.json``) or a work dir (its latest run).

    Returns:
        str: the path of the file.

    Raises:
        FileNotFoundError: nothing of the three, naming ``path``.
    """
    if osp.isfile(path):
        return path
    direct = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(direct):
        return direct
    runs = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if runs:
        return runs[-1]
    raise FileNotFoundError(
        f'{path}: no scalars.json (give the file, a run folder '
        '<timestamp>/ or a work dir with <timestamp>/vis_data/scalars.json)')


def read_scalars(path: str) -> Dict[str, List[dict]]:
    """Training and evaluation records of a run.

    Args:
        path (str): see :func:`find_scalars`.

    Returns:
        dict: ``train`` (records with ``iter``) and ``val`` (the others),
        each in file order.

    Raises:
        ValueError: a line is not a JSON object (file and line named).
    """
    path = find_scalars(path)
    out = dict(train=[], val=[])
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}, line {number}: not JSON '
                                 f'({err.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}, line {number}: not a JSON object')
            out['train' if 'iter' in record else 'val'].append(record)
    return out


def scalar_curve(records: Dict[str, List[dict]],
                 key: str) -> Tuple[List[int], List[float]]:
    """``(x, y)`` of ``key``: training keys against ``iter``, evaluation
    keys against ``step`` (the iteration or epoch of the evaluation)."""
    for split, x_key in (('train', 'iter'), ('val', 'step')):
        rows = [r for r in records[split] if key in r]
        if rows:
            return ([int(r.get(x_key, i)) for i, r in enumerate(rows)],
                    [float(r[key]) for r in rows])
    return [], []


def scalar_keys(records: Dict[str, List[dict]]) -> List[str]:
    """Every numeric key of a run (sorted), without the x axes."""
    keys = set()
    for split in records.values():
        for record in split:
            keys.update(k for k, v in record.items()
                        if isinstance(v, (int, float)) and k not in (
                            'iter', 'step', 'epoch'))
    return sorted(keys)
