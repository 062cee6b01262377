"""Ansible plugins of our own (a plugin folder: Ansible loads the files, not this package).

``extreme_json`` is the stdout callback the Faults library's runner reads (see
:mod:`ExtremeTesting.faults.runner`): ansible-core alone has no JSON stdout callback (the
``json`` one is ansible.posix's, a collection only the full ``ansible`` distribution ships),
so the package needs ansible-core only.
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
STDOUT_CALLBACK = "extreme_json"
