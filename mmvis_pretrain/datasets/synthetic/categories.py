"""The fixed category list shared by the synthetic image and video sets.

Category ids are 1-based and follow the order of :data:`SYNTHETIC_CLASSES`
(``person`` is id 1, ``horse`` is id 6), as in COCO / YouTube-VIS files.
"""

#: Class names, in category-id order (id = index + 1).
SYNTHETIC_CLASSES = ('person', 'car', 'dog', 'cat', 'bird', 'horse')

_SUPERCATEGORIES = {
    'person': 'person',
    'car': 'vehicle',
    'dog': 'animal',
    'cat': 'animal',
    'bird': 'animal',
    'horse': 'animal',
}

#: COCO-style ``categories`` entries: ``{'id', 'name', 'supercategory'}``.
SYNTHETIC_CATEGORIES = [
    dict(id=i + 1, name=name, supercategory=_SUPERCATEGORIES[name])
    for i, name in enumerate(SYNTHETIC_CLASSES)
]

#: Category ids, ``(1, ..., 6)``.
SYNTHETIC_CATEGORY_IDS = tuple(c['id'] for c in SYNTHETIC_CATEGORIES)


def categories_json() -> list[dict]:
    """A fresh copy of :data:`SYNTHETIC_CATEGORIES` to embed in a JSON file.

    Returns:
        list[dict]: ``[{'id': 1, 'name': 'person', 'supercategory':
        'person'}, ...]``.
    """
    return [dict(c) for c in SYNTHETIC_CATEGORIES]
