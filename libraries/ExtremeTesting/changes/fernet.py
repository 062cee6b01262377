"""Keystone's Fernet key rotation across nodes, as the operators' guide describes it.

Key ``0`` is the staged key, the highest number the primary (which signs new tokens),
the others secondary (still validate). Before rotating, every node gets the same
repository, so the staged key is known everywhere; rotating on one node promotes that
staged key to primary, which the other nodes can already validate; then the new
repository (with a fresh staged key) goes to every node. The old primary stays as a
secondary, so a token in use keeps validating.
"""

from __future__ import annotations

import base64
import shlex

from ..target import Target
from .errors import ChangeError
from .remote import Nodes

DEFAULT_REPOSITORY = "/etc/keystone/fernet-keys"


def keys_of(listing: str) -> dict[str, str]:
    """``name<TAB>sha256`` lines to ``{name: sha256}``."""
    found = {}
    for line in listing.splitlines():
        if "\t" in line:
            name, digest = line.split("\t", 1)
            found[name.strip()] = digest.strip()
    return found


def primary_of(keys: dict[str, str]) -> str:
    numbers = [int(k) for k in keys if k.isdigit()]
    if not numbers:
        raise ChangeError("The Fernet key repository holds no key.")
    return str(max(numbers))


class Rotation:
    def __init__(self, target: Target, nodes: Nodes, chosen: list[str]):
        section = target.section("changes")
        self.repo = str(section.get("fernet_keys", DEFAULT_REPOSITORY)).rstrip("/")
        self.user = str(section.get("keystone_user", "keystone"))
        self.nodes = nodes
        self.chosen = chosen

    def keys(self, node: str) -> dict[str, str]:
        repo = shlex.quote(self.repo)
        found = self.nodes.run(node, f"cd {repo} && for f in *; do printf '%s\\t' \"$f\"; "
                                     f"sha256sum < \"$f\" | cut -d' ' -f1; done")
        return keys_of(found.out)

    def _archive(self, node: str) -> bytes:
        found = self.nodes.run(node, f"tar -C {shlex.quote(self.repo)} -cf - . | base64 -w0")
        return base64.b64decode(found.out.strip())

    def _install(self, node: str, archive: bytes) -> None:
        """New keys are renamed into place first, stale ones removed last: Keystone never
        sees a half-written key nor misses one a token needs."""
        repo = shlex.quote(self.repo)
        new = shlex.quote(self.repo + ".extreme-new")
        user = shlex.quote(self.user)
        script = (f"set -e; rm -rf {new}; mkdir -m 700 {new}; tar -C {new} -xf -; "
                  f"chown -R {user}:{user} {new}; chmod 600 {new}/*; "
                  f"for f in {new}/*; do mv -f \"$f\" {repo}/; done; "
                  f"for f in {repo}/*; do b=$(basename \"$f\"); "
                  f"[ -n \"$(printf '%s\\n' $KEEP | grep -x \"$b\")\" ] || rm -f \"$f\"; done; "
                  f"rmdir {new}")
        keep = " ".join(sorted(self._names(archive)))
        self.nodes.run(node, f"KEEP={shlex.quote(keep)} sh -c {shlex.quote(script)}",
                       stdin=archive)

    @staticmethod
    def _names(archive: bytes) -> list[str]:
        import io
        import tarfile

        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            return [m.name.lstrip("./") for m in tar.getmembers() if m.isfile()]

    def distribute(self, source: str) -> None:
        archive = self._archive(source)
        for node in self.chosen:
            if node != source:
                self._install(node, archive)
        wanted = self.keys(source)
        for node in self.chosen:
            if node != source and self.keys(node) != wanted:
                raise ChangeError(f"The Fernet keys of {node} differ from {source}'s after "
                                  f"distribution.")

    def stage(self) -> None:
        self.distribute(self.chosen[0])

    def rotate(self) -> str:
        first = self.chosen[0]
        before = self.keys(first)
        old_primary = before[primary_of(before)]
        staged = before.get("0")
        self.nodes.run(first, f"keystone-manage fernet_rotate --keystone-user "
                              f"{shlex.quote(self.user)} --keystone-group {shlex.quote(self.user)}")
        after = self.keys(first)
        primary = primary_of(after)
        if old_primary not in after.values():
            raise ChangeError(f"Rotation on {first} dropped the key that signed the tokens "
                              f"in use (max_active_keys too low?): tokens in use will fail.")
        if staged is not None and after[primary] != staged:
            raise ChangeError(f"Rotation on {first} did not promote the staged key.")
        self.distribute(first)
        return primary
