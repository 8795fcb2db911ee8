"""The README's commands work as written in a fresh shell: no bare
``python`` / ``mim`` (which need an activated environment), and every
script they call runs (``--help``) through ``bash -lc`` with a minimal
environment, nothing activated."""
import json
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


# Runs each script's ``--help`` as ``__main__`` in a child forked from one
# interpreter that imported the package once: the 17 scripts cost one import
# of the stack (about 8 s) instead of 17, and each still runs isolated, with
# its own directory first on sys.path as ``python script.py`` would put it.
_HELP_DRIVER = r"""
import io, json, os, runpy, sys, traceback
import mmvis_pretrain  # noqa: F401  (the import every script does first)
failed = {}
for script in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        out = io.StringIO()
        sys.stdout = sys.stderr = out
        sys.argv = [script, '--help']
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        try:
            runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (
                0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        os.write(write, out.getvalue()[-800:].encode())
        os._exit(code)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        failed[script] = b''.join(chunks).decode(errors='replace')
print(json.dumps(failed))
"""


@pytest.mark.slow
def test_readme_scripts_run_in_a_fresh_shell(tmp_path):
    scripts = []
    for command in readme_commands():
        match = re.match(r'(\.venv/bin/python) (\S+\.py)', command)
        if match and match.group(2) not in scripts:
            scripts.append(match.group(2))
    assert 'tools/train.py' in scripts and 'demo/video_demo.py' in scripts
    driver = tmp_path / 'help_driver.py'
    driver.write_text(_HELP_DRIVER)
    proc = _fresh_shell(f'.venv/bin/python {driver} ' + ' '.join(scripts))
    assert proc.returncode == 0, proc.stderr[-2000:]
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
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
