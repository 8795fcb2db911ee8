"""Plain-text tables for the command-line tools."""
from typing import Sequence


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Align ``rows`` (the first is the header) in columns: the first column
    left-aligned, the others right-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)
