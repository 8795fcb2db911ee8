"""tools/misc/install_env.sh (``make install``): idempotent, loud failures."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPT = osp.join(REPO, 'tools/misc/install_env.sh')


def test_failure_names_the_step(tmp_path):
    env = dict(os.environ, VENV=str(tmp_path / 'venv'),
               PYTHON=str(tmp_path / 'no-such-python'))
    proc = subprocess.run(['bash', SCRIPT], env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert 'FAILED at step "virtual environment' in proc.stderr
    assert 'no-such-python' in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    osp.realpath(sys.prefix) != osp.realpath(osp.join(REPO, '.venv')),
    reason='checks the .venv that `make install` made')
def test_second_install_skips_every_step():
    env = dict(os.environ, VENV='.venv')
    proc = subprocess.run(['bash', SCRIPT], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert 'exists:' in out  # venv
    assert 'kept: torch' in out
    assert 'present, ops import' in out  # mmcv is not rebuilt
    assert out.count('] present') >= 3  # build tools, runtime, tests
    assert 'installing' not in out
    assert 'done: torch' in out


def test_requirement_checker(tmp_path):
    req = tmp_path / 'r.txt'
    req.write_text('# comment\npytest>=1\nnot-a-real-package-xyz==1.0\n'
                   'pytest<1  # unmet version\n-r other.txt\n')
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/misc/check_requirements.py'),
         str(req)], capture_output=True, text=True, check=True).stdout
    assert out.split('\n')[:2] == ['not-a-real-package-xyz==1.0', 'pytest<1']
