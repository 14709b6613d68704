"""Serving a test server's handler on a free loopback port, shared by aws_metadata.py and sso_oidc.py."""

import argparse
import os
from http.server import ThreadingHTTPServer


def serve(handler, description, add_arguments=None):
    """Parses --port-file (and what add_arguments(parser) adds, set on handler.options), listens on 127.0.0.1 on a
    free port, writes the port there atomically, and serves."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port-file", required=True, help="where the port listened on is written")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    handler.options = args
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as file:
        file.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()
