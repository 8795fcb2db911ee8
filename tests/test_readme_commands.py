"""The README's commands work as written in a fresh shell: no bare
``python`` / ``mim`` (which need an activated environment), and every
script they call runs (``--help``) through ``bash -lc`` with a minimal
environment, nothing activated."""
import os
import os.path as osp
import re
import subprocess

import pytest

from conftest import REPO

README = osp.join(REPO, 'README.md')


def readme_commands():
    """Command lines of the README's bash / shell blocks."""
    commands, inside = [], False
    for line in open(README).read().splitlines():
        if line.startswith('```'):
            inside = (not inside) and line.strip() in ('```bash', '```shell')
            continue
        line = line.strip()
        if inside and line and not line.startswith('#'):
            commands.append(line)
    return commands


def test_no_bare_interpreters():
    bare = [c for c in readme_commands()
            if re.match(r'(python3?|mim|pip|pytest)\s', c)]
    assert not bare, bare


def _fresh_shell(command):
    env = {'PATH': '/usr/local/bin:/usr/bin:/bin',
           'HOME': os.environ.get('HOME', '/tmp'),
           'OMP_NUM_THREADS': '1'}
    return subprocess.run(['bash', '-lc', f'cd {REPO} && {command}'],
                          env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_readme_scripts_run_in_a_fresh_shell():
    scripts = []
    for command in readme_commands():
        match = re.match(r'(\.venv/bin/python) (\S+\.py)', command)
        if match and match.group(2) not in scripts:
            scripts.append(match.group(2))
    assert 'tools/train.py' in scripts and 'demo/video_demo.py' in scripts
    failed = {}
    for script in scripts:
        proc = _fresh_shell(f'.venv/bin/python {script} --help')
        if proc.returncode != 0:
            failed[script] = (proc.stdout + proc.stderr)[-800:]
    assert not failed, failed
    if any(c.startswith('.venv/bin/mim ') for c in readme_commands()):
        if not osp.exists(osp.join(REPO, '.venv', 'bin', 'mim')):
            pytest.skip('openmim is not installed in .venv')
        proc = _fresh_shell('.venv/bin/mim --help')
        assert proc.returncode == 0, proc.stderr[-800:]


def test_dist_scripts_default_to_the_checkout_venv():
    for script in ('tools/dist_train.sh', 'tools/dist_test.sh'):
        text = open(osp.join(REPO, script)).read()
        assert '.venv/bin/python' in text, script
        proc = subprocess.run(
            ['bash', '-c', text.split('PYTHONPATH=')[0] + 'echo "$PYTHON"',
             osp.join(REPO, script)],
            env={'PATH': '/usr/bin:/bin'}, capture_output=True, text=True)
        expected = osp.join(REPO, '.venv', 'bin', 'python')
        if osp.exists(expected):
            assert proc.stdout.strip() == expected, (script, proc.stdout,
                                                     proc.stderr)
