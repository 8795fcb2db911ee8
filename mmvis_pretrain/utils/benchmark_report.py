"""The printed table and the JSON report of the benchmark tools."""
import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import torch
from terminaltables import AsciiTable


def ascii_table(rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table of ``rows`` (the first the header), every column
    but the first right-aligned."""
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


def write_report(out: str, argv: Sequence[str], mode: str, device: str,
                 results: List[Dict[str, Any]],
                 cv2_threads: Optional[int] = None) -> Path:
    """Write the results with the run's settings and environment as JSON.

    Args:
        out (str): The file (its folder is created).
        argv (Sequence[str]): The tool's command line.
        mode (str): ``'train'`` or ``'fps'``.
        device (str): ``'cpu'`` or ``'cuda'`` (``cuda_device`` names the
            GPU).
        results (list[dict]): One entry per config.
        cv2_threads (int, optional): OpenCV's thread count, where it
            matters.

    Returns:
        Path: ``out``. The keys: ``argv``, ``torch``, ``mode``, ``threads``
        (torch's), ``cv2_threads``, ``cpu_count``, ``machine``,
        ``cuda_device`` and ``results``.
    """
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = dict(
        argv=list(argv),
        torch=torch.__version__,
        mode=mode,
        threads=torch.get_num_threads(),
        cv2_threads=cv2_threads,
        cpu_count=os.cpu_count(),
        machine=platform.machine(),
        cuda_device=torch.cuda.get_device_name()
        if device == 'cuda' else None,
        results=results)
    path.write_text(json.dumps(report, indent=2))
    return path


__all__ = ['ascii_table', 'write_report']
