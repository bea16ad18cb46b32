"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from a host these machines cannot reach, and only looks for it in
its cache. This does what get-pip does with the interpreter's own ensurepip: install a pip, then
let that pip install what ansible-test asked for (its pinned pip version, from PyPI).
"""
import runpy
import subprocess
import sys

# --no-setuptools / --no-wheel are get-pip's own options (ensurepip installs neither with pip).
requested = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], check=True,
               stdout=subprocess.DEVNULL)
sys.argv = ['pip', 'install'] + requested
runpy.run_module('pip', run_name='__main__', alter_sys=True)
