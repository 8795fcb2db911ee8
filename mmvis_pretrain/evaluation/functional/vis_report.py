"""Text tables of :func:`~.vis_eval.evaluate_vis` statistics (shared by
``VISMetric``'s log and ``tools/analysis_tools/eval_vis.py``)."""
from typing import Dict

from terminaltables import AsciiTable

#: What each statistic means, for the table.
STAT_DESCRIPTIONS = {
    'AP': 'IoU .50:.95, all areas',
    'AP50': 'IoU .50',
    'AP75': 'IoU .75',
    'AP_s': 'small (mean area <= 128^2)',
    'AP_m': 'medium (128^2 .. 256^2)',
    'AP_l': 'large (> 256^2)',
    'AP_lo': 'light occlusion (score <= .25)',
    'AP_mo': 'medium occlusion (.25 .. .5)',
    'AP_ho': 'heavy occlusion (>= .5)',
    'AR_s': 'small',
    'AR_m': 'medium',
    'AR_l': 'large',
    'AR_lo': 'light occlusion',
    'AR_mo': 'medium occlusion',
    'AR_ho': 'heavy occlusion',
}


def format_value(value: float) -> str:
    """``0.41234`` -> ``'0.4123'``; -1 (no GT in range) -> ``'n/a (-1)'``."""
    return 'n/a (-1)' if value < 0 else f'{value:.4f}'


def stats_table(stats: Dict[str, float]) -> str:
    """The scalar statistics, one per row, with what they measure."""
    rows = [('metric', 'value')]
    for key, value in stats.items():
        if isinstance(value, dict):
            continue
        if key.startswith('AR') and key[2:].isdigit():
            meaning = f'max {key[2:]} results per video and category'
        else:
            meaning = STAT_DESCRIPTIONS.get(key, '')
        rows.append((f'{key:<6} {meaning}'.rstrip(), format_value(value)))
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


def per_category_table(per_category: Dict[str, float]) -> str:
    """Per-category AP (IoU .50:.95), one category per row."""
    rows = [('category', 'AP')]
    rows += [(name, format_value(ap)) for name, ap in per_category.items()]
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


#: What each identity metric measures (``identity_eval``).
IDENTITY_DESCRIPTIONS = {
    'HOTA': 'sqrt(DetA * AssA), mean over IoU .05:.95',
    'DetA': 'detection accuracy',
    'AssA': 'association accuracy',
    'LocA': 'localisation accuracy (IoU of matches)',
    'IDF1': 'F1 of the best one-to-one track match',
    'IDP': 'ID precision',
    'IDR': 'ID recall',
    'IDSW': 'ID switches (count)',
    'MOTA': '1 - (FN + FP + IDSW) / GT',
    'Frag': 'fragmentations (count)',
    'HOTA_cls': 'HOTA, mean over categories',
    'IDF1_cls': 'IDF1, mean over categories',
}


def identity_table(stats: Dict) -> str:
    """The identity metrics of :func:`~.identity_eval.evaluate_identity`,
    with the results they scored."""
    rows = [('identity metric', 'value')]
    for key, meaning in IDENTITY_DESCRIPTIONS.items():
        value = stats[key]
        rows.append((f'{key:<8} {meaning}',
                     str(value) if isinstance(value, int) else
                     f'{value:.4f}'))
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {1: 'right'}
    topk = stats.get('topk_per_video')
    return (f"{table.table}\n{stats['num_kept']} of {stats['num_results']} "
            f"results scored (score > {stats['score_thr']:g}"
            + (f', best {topk} per video' if topk else '') + ')')
