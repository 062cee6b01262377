#!/usr/bin/python3
"""A Galera member's health for the load balancer, as Kolla's clustercheck answers it.

Runs inside a lab node that holds a MariaDB/Galera member (Debian's python3, standard
library only), installed as /usr/local/sbin/clustercheck and run by the node's service
manager. HAProxy checks it over HTTP: ``GET /`` answers 200 only when the member's
``wsrep_local_state_comment`` is Synced, ``wsrep_cluster_status`` is Primary and
``wsrep_ready`` is ON; otherwise 503 with what the member reports (a Donor, a joiner, a
member cut off from the primary component, a stopped server), so the balancer never
sends a client to a member that cannot commit.

    clustercheck --address 198.18.0.11 --port 9200

It reads the status through the MariaDB client as root over the unix socket (no
password anywhere).
"""

import argparse
import http.server
import subprocess
import sys

QUERY = ("SHOW GLOBAL STATUS WHERE Variable_name IN "
         "('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_ready')")
HEALTHY = {"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary",
           "wsrep_ready": "ON"}
TIMEOUT = 2.0


def read_status(timeout=TIMEOUT):
    """{variable: value} of the member, or raises RuntimeError saying why not."""
    try:
        result = subprocess.run(["mysql", "-N", "-B", "-e", QUERY], capture_output=True,
                                text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"MariaDB did not answer within {timeout:.0f} s") from None
    except FileNotFoundError:
        raise RuntimeError("the mysql client is not installed") from None
    if result.returncode != 0:
        raise RuntimeError(f"MariaDB refused: {result.stderr.strip()[-200:]}")
    status = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("\t")
        status[name.strip()] = value.strip()
    return status


def verdict(status):
    """(healthy, one line): healthy only when every variable holds its healthy value."""
    wrong = [f"{name}={status.get(name, 'missing')}" for name, value in HEALTHY.items()
             if status.get(name) != value]
    if wrong:
        return False, "Galera member not ready: " + ", ".join(wrong)
    return True, "Galera member is Synced in the Primary component"


def check():
    try:
        return verdict(read_status())
    except RuntimeError as error:
        return False, f"Galera member not ready: {error}"


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, body=True):
        healthy, text = check()
        payload = (text + "\n").encode()
        try:
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(payload)
        except ConnectionError:
            pass  # HAProxy closes (resets) the connection once it has read the status

    def do_GET(self):
        self.answer()

    def do_OPTIONS(self):  # HAProxy's default check method
        self.answer()

    def do_HEAD(self):
        self.answer(body=False)

    def log_message(self, *args):
        pass  # one check a second per balancer: no log lines


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # One line, never a traceback: the lab's start-up check reads logs for those.
        print(f"clustercheck: request from {client_address[0]} failed: "
              f"{sys.exc_info()[1]!r}", file=sys.stderr, flush=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the member's lab address")
    parser.add_argument("--port", type=int, default=9200)
    args = parser.parse_args(argv)
    server = Server((args.address, args.port), Handler)
    server.daemon_threads = True
    server.timeout = TIMEOUT
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
