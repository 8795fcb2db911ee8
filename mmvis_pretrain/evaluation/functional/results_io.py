"""Reading VIS results and annotation files (shared by the evaluation,
error-analysis, submission-check and pseudo-label tools).

``load_results`` reads the official ``results.json`` (a list of
``{video_id, category_id, score, segmentations}``), a submission archive
holding it (``results.json`` at the root, or the archive's only ``.json``),
or the ``--json`` of ``demo/video_demo.py`` (a header and ``results``; its
``category_id`` s are mapped to the ground truth's by the class names of
its ``categories``).
"""
import json
import zipfile
from typing import Optional

from mmengine.fileio import get_text

__all__ = ['load_json', 'load_results', 'demo_results']


def load_json(path: str, what: str):
    """Parse the JSON file ``path`` (any mmengine file backend); a
    ``ValueError`` naming ``what`` and the path when it is not JSON."""
    try:
        return json.loads(get_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path} is not valid JSON ({err})') from err


def demo_results(data: dict, path: str, gt: Optional[dict]) -> list:
    """The results of a ``video_demo.py --json`` file, their category ids
    mapped to the ground truth's through the class names."""
    results = data['results']
    categories = data.get('categories')
    if not isinstance(results, list):
        raise ValueError(f"{path}: 'results' must be a list")
    if gt is None or not categories:
        return results
    names = {c['id']: c['name'] for c in categories}
    gt_ids = {c.get('name'): c.get('id') for c in gt.get('categories', [])
              if isinstance(c, dict)}
    mapped = []
    for i, res in enumerate(results):
        name = names.get(res.get('category_id')) if isinstance(res, dict) \
            else None
        if name is None:
            raise ValueError(f"{path}: result #{i} has category_id="
                             f"{res.get('category_id')!r}, not in its "
                             "'categories'")
        if name not in gt_ids:
            raise ValueError(
                f"{path}: result #{i} is of class '{name}', which the "
                f'ground truth has no category of (its categories: '
                f'{sorted(str(n) for n in gt_ids)})')
        mapped.append(dict(res, category_id=gt_ids[name]))
    return mapped


def load_results(path: str, gt: Optional[dict] = None) -> list:
    """The result list of a ``results.json``, of a submission zip or of a
    ``video_demo.py --json`` file (categories mapped to ``gt``'s)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith('.json')]
            name = 'results.json' if 'results.json' in names else (
                names[0] if len(names) == 1 else None)
            if name is None:
                raise ValueError(
                    f'{path}: a submission zip needs results.json at its '
                    f'root, found {zf.namelist()}')
            try:
                results = json.loads(zf.read(name))
            except json.JSONDecodeError as err:
                raise ValueError(
                    f'{path}:{name} is not valid JSON ({err})') from err
    else:
        results = load_json(path, 'results file')
    if isinstance(results, dict) and 'results' in results:
        results = demo_results(results, path, gt)
    if not isinstance(results, list):
        raise ValueError(f'{path}: the results must be a JSON list of '
                         f'{{video_id, category_id, score, segmentations}}, '
                         f'got a {type(results).__name__}')
    return results
