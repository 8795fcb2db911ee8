"""Print the requirements of a requirements file that are not satisfied.

Used by ``tools/misc/install_env.sh`` to skip what is already installed.
Exit status 0 always; prints one unmet requirement per line.

Usage: python tools/misc/check_requirements.py requirements/runtime.txt
"""
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:  # a bare venv: pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement


def unmet(path: str):
    for line in open(path, encoding='utf-8'):
        line = line.split('#', 1)[0].strip()
        if not line or line.startswith('-'):
            continue
        req = Requirement(line)
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            yield line
            continue
        if req.specifier and not req.specifier.contains(have,
                                                        prereleases=True):
            yield line


if __name__ == '__main__':
    for path in sys.argv[1:]:
        for req in unmet(path):
            print(req)
