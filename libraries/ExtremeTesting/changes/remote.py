"""Commands and files on a node over SSH, with the target's key (paramiko).

One connection per node, opened when first needed and opened again when it died (a node
that rebooted or whose sshd restarted): a dead connection is never reused. Every call has
a timeout. Nothing here logs a command's output; callers decide what to show.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass

import paramiko

from ..errors import TargetError
from ..target import Target
from .errors import ChangeError


@dataclass
class Result:
    rc: int
    out: str
    err: str


class Nodes:
    """Runs commands on the target's nodes as the ``ssh`` section says (key login only)."""

    def __init__(self, target: Target, timeout: float = 60.0):
        self.target = target
        self.timeout = timeout
        self._clients: dict[str, paramiko.SSHClient] = {}

    def _client(self, node: str) -> paramiko.SSHClient:
        client = self._clients.get(node)
        transport = client.get_transport() if client else None
        if client is not None and transport is not None and transport.is_active():
            return client
        ssh = self.target.section("ssh")
        address = self.target.node(node).get("address")
        if not address:
            raise TargetError(f"Node '{node}' has no address in {self.target.path}.")
        key = ssh.get("private_key_file")
        if not key:
            raise TargetError(f"Target file {self.target.path}: the 'ssh' section needs "
                              f"'private_key_file' (key login only).")
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - lab/test nodes
        try:
            client.connect(address, port=int(ssh.get("port", 22)),
                           username=ssh.get("username", "root"),
                           key_filename=str(self.target.resolve(key)), timeout=self.timeout,
                           banner_timeout=self.timeout, auth_timeout=self.timeout,
                           allow_agent=False, look_for_keys=False)
        except (OSError, paramiko.SSHException) as error:
            raise ChangeError(f"Cannot reach {node} ({address}) over SSH: {error}. Check "
                              f"that it is up and that the target's ssh key logs in.") from None
        self._clients[node] = client
        return client

    def run(self, node: str, command: str, check: bool = True, stdin: bytes = b"",
            timeout: float | None = None) -> Result:
        """Run ``command`` (a shell line) on ``node``; with ``check``, fail on a non-zero
        status with the command's error output."""
        try:
            channel_in, channel_out, channel_err = self._client(node).exec_command(
                command, timeout=timeout or self.timeout)
            if stdin:
                channel_in.write(stdin)
            channel_in.channel.shutdown_write()
            out = channel_out.read().decode(errors="replace")
            err = channel_err.read().decode(errors="replace")
            rc = channel_out.channel.recv_exit_status()
        except (OSError, paramiko.SSHException) as error:
            self.close(node)
            raise ChangeError(f"'{command}' on {node} failed: {error}.") from None
        if check and rc != 0:
            raise ChangeError(f"'{command}' failed on {node} (status {rc}): "
                              f"{(err or out).strip()[-600:]}")
        return Result(rc, out, err)

    def read_file(self, node: str, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        quoted = shlex.quote(path)
        found = self.run(node, f"test -e {quoted} && base64 -w0 {quoted} || echo ABSENT")
        text = found.out.strip()
        if text == "ABSENT":
            return None
        return base64.b64decode(text)

    def write_file(self, node: str, path: str, data: bytes) -> None:
        """Replace ``path`` atomically (a temporary file renamed over it), keeping the
        old file's owner and mode when there was one."""
        quoted = shlex.quote(path)
        temporary = shlex.quote(f"{path}.extreme-new")
        self.run(node, f"umask 077; cat > {temporary} && "
                       f"{{ test ! -e {quoted} || chown --reference={quoted} {temporary}; }} && "
                       f"{{ test ! -e {quoted} || chmod --reference={quoted} {temporary}; }} && "
                       f"mv -f {temporary} {quoted}", stdin=data)

    def stat(self, node: str, path: str) -> str | None:
        """``mode:user:group`` of ``path``, None when it does not exist."""
        found = self.run(node, f"stat -c %a:%U:%G {shlex.quote(path)}", check=False)
        return found.out.strip() if found.rc == 0 else None

    def close(self, node: str | None = None) -> None:
        for name in [node] if node else list(self._clients):
            client = self._clients.pop(name, None)
            if client is not None:
                client.close()
