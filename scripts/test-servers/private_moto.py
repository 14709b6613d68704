#!/usr/bin/env python3
"""A moto S3 server of a test's own, on a free loopback port.

    private_moto.py --port-file FILE

Writes the port to FILE once the server listens, then serves until killed. For tests whose counts must not depend
on what other suites ask of the shared moto at the same time.
"""

import argparse
import os
import threading

from moto.server import ThreadedMotoServer


def main():
    parser = argparse.ArgumentParser(description="A moto S3 server on a free loopback port.")
    parser.add_argument("--port-file", required=True, help="write the listening port here once ready")
    args = parser.parse_args()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    temporary = f"{args.port_file}.tmp"
    with open(temporary, "w") as file:
        file.write(f"{server.get_host_and_port()[1]}\n")
    os.replace(temporary, args.port_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
