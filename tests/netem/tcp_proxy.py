#!/usr/bin/env python3
"""Tiny TCP/Unix-socket forwarder (stdlib, one thread per direction).

    tcp_proxy.py --to tcp:127.0.0.1:8765 --listen tcp:10.77.0.1:8765 --listen unix:/run/x.sock

Every connection accepted on a ``--listen`` address is joined to a new connection to ``--to``.
Prints ``listening`` (one line, flushed) once every listener is bound; runs until SIGTERM.

Used to reach the real probe server (server/app.py binds 127.0.0.1 only) that runs inside a
link namespace: a TCP listener on the namespace's TUN address lets the browser on the other
side of the link connect, and a Unix socket (filesystem paths are not per network namespace)
lets the test process in the root namespace use the HTTP control API.
"""

import argparse
import os
import signal
import socket
import sys
import threading


def parse_addr(spec):
    kind, _, rest = spec.partition(":")
    if kind == "unix":
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        return socket.AF_INET, (host, int(port))
    raise ValueError("address must be tcp:HOST:PORT or unix:PATH, got %r" % spec)


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def _handle(client, target):
    family, addr = target
    try:
        upstream = socket.socket(family, socket.SOCK_STREAM)
        upstream.connect(addr)
    except OSError:
        client.close()
        return
    for s in (client, upstream):
        if s.family == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    t.start()
    _pipe(client, upstream)
    t.join()
    client.close()
    upstream.close()


def _serve(listener, target):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_handle, args=(client, target), daemon=True).start()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--to", required=True, help="tcp:HOST:PORT or unix:PATH")
    p.add_argument("--listen", action="append", required=True, help="tcp:HOST:PORT or unix:PATH (repeatable)")
    args = p.parse_args(argv)
    target = parse_addr(args.to)
    listeners = []
    for spec in args.listen:
        family, addr = parse_addr(spec)
        s = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            try:
                os.unlink(addr)
            except FileNotFoundError:
                pass
        else:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        if family == socket.AF_UNIX:
            os.chmod(addr, 0o600)
        s.listen(64)
        listeners.append((s, spec))
    for s, _ in listeners:
        threading.Thread(target=_serve, args=(s, target), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening", flush=True)
    try:
        signal.pause()
    finally:
        for s, spec in listeners:
            s.close()
            if spec.startswith("unix:"):
                try:
                    os.unlink(spec[5:])
                except FileNotFoundError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
