"""Instance-id PNGs: one frame of a video, pixel value = instance id,
``0`` background. Read as palette indices or grey values
(:func:`read_id_png`), written as VOC-palette or 16-bit grey PNGs
(:func:`write_id_png`). Shared by the PNG mask converters
(:mod:`.png_masks`, :mod:`.ytvis_to_png`)."""
import re
from typing import List

import numpy as np
from PIL import Image

from .raw_vis import ConversionError

#: DAVIS' void label (object borders, ignored regions).
DAVIS_VOID = 255
#: The largest instance index of an 8-bit (palette) PNG: 255 is DAVIS void,
#: so it is never used as an index.
MAX_PALETTE_INDEX = 254


class PngMaskError(ConversionError):
    """Bad PNG masks, frames, class map or JSON; the message starts with the
    file or folder at fault (the converters' :class:`ConversionError`)."""


def natural_key(name: str) -> tuple:
    """Sort key reading digit runs as numbers (``f2`` before ``f10``)."""
    return tuple((0, int(part), part) if part.isdigit() else (1, 0, part)
                 for part in re.split(r'(\d+)', name))


def read_id_png(path) -> np.ndarray:
    """The ``(H, W)`` pixel values of an instance-id PNG.

    Palette PNGs give their palette indices, grey PNGs (1, 8 or 16 bit)
    their values.

    Raises:
        PngMaskError: ``"<path>: ..."``: not a readable image, or a colour
        PNG (whose pixels are no ids).
    """
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ('P', 'L', '1') or mode.startswith('I'):
                array = np.array(img)
            else:
                array = None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise PngMaskError(f'{path}: cannot read the PNG ({err})') from err
    if array is None:
        raise PngMaskError(
            f'{path}: is a {mode} image; instance-id PNGs are palette, '
            '8-bit or 16-bit grey (pixel value = instance id)')
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    return array.astype(np.int64, copy=False)


def voc_palette() -> List[int]:
    """The 256-colour PASCAL VOC / DAVIS palette, flat ``[r, g, b, ...]``
    (index 0 black, 1 red, 2 green, ...)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return palette


def write_id_png(path, id_map: np.ndarray, sixteen_bit: bool = False) -> None:
    """Write an instance-id PNG: palette (VOC colours) or 16-bit grey.

    A palette PNG stores the ids as palette indices, so an image viewer
    shows each instance in its own colour (VOC / DAVIS colours; black
    background) while :func:`read_id_png` (or ``np.array(PIL.Image.open(
    path))``) gives the ids back. ``cv2.imread`` converts palette PNGs to
    colour: read them with PIL.

    Args:
        path (str | Path): Output file.
        id_map (np.ndarray): ``(H, W)`` ids, ``0`` background; at most 255
            unless ``sixteen_bit``, at most 65535.
        sixteen_bit (bool): Write a 16-bit grey PNG instead of a palette one.

    Raises:
        ValueError: ``"<path>: ids must be in [0, <limit>] ..."``.
        OSError: the file cannot be written.
    """
    id_map = np.asarray(id_map)
    limit = 65535 if sixteen_bit else 255
    if id_map.size and (id_map.min() < 0 or id_map.max() > limit):
        raise ValueError(f'{path}: ids must be in [0, {limit}], got '
                         f'[{id_map.min()}, {id_map.max()}]')
    if sixteen_bit:
        img = Image.fromarray(id_map.astype(np.uint16))
    else:
        img = Image.fromarray(id_map.astype(np.uint8))
        img.putpalette(voc_palette())
    # compress_level 1: 2.3-2.9x faster than PIL's default 6 on id maps of
    # 8 instances at 640x360 / 1280x800, files 1.6-1.9x larger (6 / 11 kB;
    # measured on the project machine, docs/benchmarks.md)
    img.save(str(path), format='PNG', compress_level=1)
