#!/usr/bin/python3
"""What boots inside a lab node, as the child of tini (PID 1 of the node's namespaces).

Run with Debian's python3 and the standard library only. It makes the node look like a
server: its own /run, /tmp and /var/log, its own /etc/<service> and /var/lib/<service>,
its own package state (overlays of /usr, /etc, /var/lib/dpkg...),
its hostname; then starts sshd (and keeps it running) and, when the node is set to
autostart, its services in order (`service start-all`: one that fails or exits is started
again for up to 3 min, as Debian's units do with Restart=on-failure). SIGTERM is a soft
power-off: services stop in reverse order, then the node ends (and with PID 1 gone the
kernel ends whatever is left).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time


def run(*cmd):
    subprocess.run(list(cmd), check=True)


def mount_all(mounts):
    run("mount", "--make-rprivate", "/")
    for source, target, kind in mounts:
        if kind == "tmpfs":
            run("mount", "-t", "tmpfs", "-o", "mode=755,size=256m", "tmpfs", target)
        elif kind == "overlay":
            # The node's own package state: the runner's folder below, the node's changes
            # in its folder above (kept across power cycles).
            run("mount", "-t", "overlay", "overlay", "-o",
                f"lowerdir={target},upperdir={source}/upper,workdir={source}/work", target)
        else:
            run("mount", "--bind", source, target)


def netns_dir(path="/run/netns"):
    """The node's own /run/netns (on its own /run), made a shared mount as `ip netns add`
    would make it: namespaces the node's agents add or delete later (qrouter-, qdhcp-,
    guests) are seen by, and released from, the mount namespaces of processes started
    with `ip netns exec` meanwhile (slaves of this one), so none is kept alive by a
    stale copy. Peers exist only inside this node: its mount namespace was made private
    and /run is a tmpfs of its own, so the HA routers' same-named namespaces on ctl1
    and ctl2 never meet, and none reaches this machine's /run/netns."""
    os.makedirs(path, exist_ok=True)
    run("mount", "--bind", path, path)
    run("mount", "--make-shared", path)


def main(config_path):
    with open(config_path, encoding="utf-8") as handle:
        node = json.load(handle)
    mount_all(node["mounts"])
    netns_dir()
    run("hostname", node["hostname"])
    for directory in ("/run/sshd", "/run/lock", "/run/extreme-lab"):
        os.makedirs(directory, exist_ok=True)
    os.chmod("/tmp", 0o1777)

    stopping = threading.Event()
    sshd = {"proc": None}

    def shutdown(signum, frame):
        stopping.set()
        subprocess.run(["/usr/local/sbin/service", "stop-all"], check=False)
        if sshd["proc"]:
            sshd["proc"].terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    if node.get("autostart"):
        threading.Thread(target=subprocess.run, daemon=True,
                         args=(["/usr/local/sbin/service", "start-all"],)).start()
    while not stopping.is_set():
        # sshd is the node's door: if it dies, it is started again, as init would.
        sshd["proc"] = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", node["sshd_config"]])
        sshd["proc"].wait()
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
