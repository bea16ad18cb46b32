"""ansible-test sanity for the JetStream modules, their module_utils, doc fragment and tests.

ansible-test needs the collection at a path ending in ansible_collections/cim/nats, so the files
git knows are copied into such a tree in a temporary directory (a git repository there too, so
ansible-test lists exactly those files) and ``ansible-test sanity --python 3.11`` runs on the
paths below with the empty ignore file tests/sanity/ignore-2.19.txt.  All tests ansible-test has
for these paths run (compile, import, pep8, pylint, validate-modules, ansible-doc, yamllint,
runtime-metadata, ...); they are offline once ansible-test has installed its pinned requirements
from PyPI into its own cached virtual environments (the first run on a fresh machine).
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Everything Python in the collection, and its metadata (roles and playbooks: ansible-lint).
TARGETS = [
    'plugins/',
    'meta/runtime.yml',
    'tests/',
    'changelogs/',
]


def _git(*args, cwd):
    return subprocess.run(['git'] + list(args), cwd=cwd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).stdout


def _seed_pip_bootstrap():
    """Put the offline get-pip stand-in where ansible-test looks before it tries to download."""
    import ansible_test._internal.python_requirements as requirements  # the pip versions it pins
    with open(requirements.__file__) as handle:
        versions = set(re.findall(r"pip='([0-9.]+)'", handle.read()))
    assert versions, 'no pinned pip version found in ansible-test'
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    for version in versions:
        target = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
        if not os.path.exists(target):
            shutil.copy(os.path.join(ROOT, 'tests', 'sanity', 'get_pip_offline.py'), target)


def test_ansible_test_sanity(tmp_path):
    _seed_pip_bootstrap()
    with open(os.path.join(ROOT, 'tests', 'sanity', 'ignore-2.19.txt')) as handle:
        assert handle.read().strip() == '', 'the sanity ignore file must stay empty'
    collection = tmp_path / 'ansible_collections' / 'cim' / 'nats'
    collection.mkdir(parents=True)
    files = _git('ls-files', '-z', cwd=ROOT).decode().split('\0')
    # the working copies of the tracked files: what is about to be committed is what gets checked
    for name in filter(None, files):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source) and not os.path.islink(source):
            os.makedirs(os.path.dirname(str(collection / name)), exist_ok=True)
            shutil.copy2(source, str(collection / name))
    _git('init', '-q', '.', cwd=str(collection))
    _git('add', '-A', cwd=str(collection))
    targets = [t for t in TARGETS if os.path.exists(str(collection / t))]
    ansible_test = os.path.join(os.path.dirname(sys.executable), 'ansible-test')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    env.pop('ANSIBLE_CONFIG', None)
    proc = subprocess.run([ansible_test, 'sanity', '--python', '3.11', '--color', 'no'] + targets,
                          cwd=str(collection), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=1200, check=False)
    output = proc.stdout.decode(errors='replace')
    lines = [line for line in output.splitlines() if line.startswith(('ERROR', 'FATAL', 'Running sanity'))]
    assert proc.returncode == 0, '\n'.join(lines) or output[-5000:]
    assert 'Running sanity test "validate-modules"' in output and 'Running sanity test "pylint"' in output
