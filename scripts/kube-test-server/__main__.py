"""kube-test-server: a Kubernetes API server for tests, which a real kubectl can talk to.

    python3 scripts/kube-test-server --state-dir DIR [--port 0] [--http-port 0] [--named-port 0] [--token test-token]

Serves core/v1 namespaces, pods (with logs), events, secrets and configmaps, and batch/v1 jobs on 127.0.0.1, over
HTTPS (its own CA; bearer token or client certificate) and plain HTTP (bearer token). A second HTTPS listener
presents a certificate that names only kubernetes.default.svc, for clients that verify a tls-server-name. A job
controller and a kubelet make Jobs run: pods are local processes running the containers' commands (the image is
ignored).

Writes into the state dir: the PKI (ca.pem, server.pem, named-server.pem, client.pem and keys), `kubeconfig`
(contexts "token", "cert" and "named"), `ports.json` ({"https": P, "http": Q, "https_named": R}, written once the
listeners are bound) and pods/ (container logs and volume directories). The test-control API is at http://127.0.0.1:Q/__test/ (see README.md).
SIGTERM or SIGINT stops the server and kills every pod process. Python 3.11 standard library, plus PyYAML.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api import ApiServer, Listener  # noqa: E402
from auth import Authenticator, make_pki, server_context, write_kubeconfig  # noqa: E402
from controller import JobController  # noqa: E402
from faults import FaultRule, Faults  # noqa: E402
from kubelet import Kubelet  # noqa: E402
from registry import Registry  # noqa: E402
from slowness import SlowRule  # noqa: E402
from store import Store  # noqa: E402


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} kube-test-server: {message}", file=sys.stderr, flush=True)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kube-test-server", description="A Kubernetes API server for tests.")
    parser.add_argument("--state-dir", required=True, help="where the PKI, kubeconfig, ports.json and pod files go")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (default 0: any free port)")
    parser.add_argument("--http-port", type=int, default=0, help="plain HTTP port (default 0: any free port)")
    parser.add_argument(
        "--named-port", type=int, default=0, help="port of the HTTPS listener for tls-server-name (default 0: any)"
    )
    parser.add_argument("--token", default="test-token", help='the accepted bearer token (default "test-token")')
    parser.add_argument(
        "--backoff", type=float, default=0.2, help="pod re-creation back-off base, seconds (default 0.2)"
    )
    parser.add_argument("--event-window", type=int, default=1000, help="watch events kept per resource (default 1000)")
    parser.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between BOOKMARKs (default 1)")
    parser.add_argument(
        "--continue-ttl", type=float, default=300.0, help="continue-token lifetime, seconds (default 300)"
    )
    parser.add_argument(
        "--max-grace", type=float, default=5.0, help="cap on pod termination grace, seconds (default 5)"
    )
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME", help="pass this variable to pods")
    parser.add_argument("--hold-scheduling", action="store_true", help="start with new pods held Pending")
    parser.add_argument(
        "--node-label", action="append", default=[], metavar="KEY=VALUE",
        help="a label of the node, replacing the default of that key (zone, instance type...)",
    )
    parser.add_argument(
        "--node-allocatable", action="append", default=[], metavar="RESOURCE=COUNT",
        help="an extended resource the node offers, e.g. nvidia.com/gpu=4 (default: none)",
    )
    parser.add_argument("--fault", action="append", default=[], metavar="JSON", help='e.g. {"status": 429, "count": 2}')
    parser.add_argument(
        "--slow-pod", action="append", default=[], metavar="JSON", help='e.g. {"selector": "a=b", "factor": 10}'
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    state_dir = os.path.abspath(arguments.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    ports_file = os.path.join(state_dir, "ports.json")
    if os.path.exists(ports_file):
        os.unlink(ports_file)
    files = make_pki(os.path.join(state_dir, "tls"))

    store = Store(window=arguments.event_window, continue_ttl=arguments.continue_ttl)
    registry = Registry(store)
    for namespace in ("default", "kube-system", "kube-public"):
        registry.ensure_namespace(namespace)
    faults = Faults()
    for text in arguments.fault:
        faults.add(FaultRule.from_json(json.loads(text)))

    base_env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
    for name in arguments.pass_env:
        if name in os.environ:
            base_env[name] = os.environ[name]
    kubelet = Kubelet(
        store, registry, state_dir, max_grace=arguments.max_grace, base_env=base_env, restart_backoff=arguments.backoff
    )
    controller = JobController(store, registry, backoff=arguments.backoff)
    api = ApiServer(
        store,
        registry,
        kubelet,
        faults,
        Authenticator(arguments.token),
        controller=controller,
        bookmark_interval=arguments.bookmark_interval,
        verbose=arguments.verbose,
    )
    https = Listener(api, arguments.port, server_context(files))
    plain = Listener(api, arguments.http_port, None)
    named = Listener(api, arguments.named_port, server_context(files, "named_server"))
    https_port, http_port, named_port = https.server_address[1], plain.server_address[1], named.server_address[1]
    api.https_address = f"127.0.0.1:{https_port}"
    base_env.update(
        KUBERNETES_SERVICE_HOST="127.0.0.1",
        KUBERNETES_SERVICE_PORT=str(https_port),
        KUBERNETES_SERVICE_PORT_HTTPS=str(https_port),
        KUBERNETES_PORT=f"tcp://127.0.0.1:{https_port}",
    )
    kubelet.base_env = base_env

    kubeconfig = os.path.join(state_dir, "kubeconfig")
    write_kubeconfig(
        kubeconfig, f"https://127.0.0.1:{https_port}", arguments.token, files, f"https://127.0.0.1:{named_port}"
    )
    for text in arguments.node_label:
        key, _, value = text.partition("=")
        kubelet.node_labels[key] = value
    for text in arguments.node_allocatable:
        resource, _, count = text.partition("=")
        kubelet.node_allocatable[resource] = int(count)
    if arguments.hold_scheduling:
        kubelet.hold_scheduling()
    for text in arguments.slow_pod:
        kubelet.slow_pods.add(SlowRule.from_json(json.loads(text)))
    kubelet.start()
    controller.start()
    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        for server in (https, plain, named)
    ]
    for thread in threads:
        thread.start()

    temporary = ports_file + ".tmp"
    with open(temporary, "w") as file:
        json.dump({"https": https_port, "http": http_port, "https_named": named_port}, file)
    os.replace(temporary, ports_file)
    print(
        f"kube-test-server: https://127.0.0.1:{https_port} (HTTPS), http://127.0.0.1:{http_port} (HTTP), "
        f"https://127.0.0.1:{named_port} (HTTPS, certificate for kubernetes.default.svc), "
        f"control http://127.0.0.1:{http_port}/__test/\nkube-test-server: kubeconfig {kubeconfig}",
        flush=True,
    )

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    log("stopping: killing pod processes")
    api.stopping.set()
    kubelet.stop()
    controller.stop()
    store.close()
    for server in (https, plain, named):
        server.shutdown()
        server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
