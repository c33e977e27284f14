"""``python -m distributor.free_port HOST PORT``: print PORT, or the next free port after it on HOST.

``make run`` serves the demo on the port this prints and tells ``load_demo`` the same one, so the sign-in
address it prints is the one really served even when another program already holds 8000. Plain sockets,
no Django: it runs before the settings are read.
"""

import socket
import sys

TRIES = 50


def free_port(host: str, port: int, tries: int = TRIES) -> int | None:
    """The first port from ``port`` on that nothing listens on at ``host`` (None when all ``tries`` are)."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for candidate in range(port, port + tries):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, candidate))
            except OSError:
                continue
            return candidate
    return None


def main(argv: list[str]) -> int:
    host, port = argv[1], int(argv[2])
    found = free_port(host, port)
    if found is None:
        print(f"No free port from {port} to {port + TRIES - 1} on {host}: set PORT=…", file=sys.stderr)
        return 1
    if found != port:
        print(f"Port {port} on {host} is taken: serving on {found} instead.", file=sys.stderr)
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
