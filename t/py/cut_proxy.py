#!/usr/bin/python3
"""A TCP relay on 127.0.0.1 in front of the hub, so that a test can break a
client's connection without stopping either end: each connection accepted
on --listen is relayed to --to; SIGUSR1 cuts every connection open now.
Prints "cut N" for each cut."""
import argparse
import selectors
import signal
import socket

ap = argparse.ArgumentParser()
ap.add_argument("--listen", type=int, required=True)
ap.add_argument("--to", type=int, required=True)
args = ap.parse_args()

sel = selectors.DefaultSelector()
peer = {}           # socket -> the socket it is relayed to
cut_asked = False


def on_usr1(signum, frame):
    global cut_asked
    cut_asked = True


def close_pair(s):
    other = peer.pop(s, None)
    for x in (s, other):
        if x is None:
            continue
        peer.pop(x, None)
        try:
            sel.unregister(x)
        except (KeyError, ValueError):
            pass
        x.close()


def cut_all():
    n = len(peer) // 2
    for s in list(peer):
        if s in peer:
            close_pair(s)
    print("cut", n, flush=True)


signal.signal(signal.SIGUSR1, on_usr1)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", args.listen))
ls.listen(16)
sel.register(ls, selectors.EVENT_READ)
while True:
    try:
        events = sel.select(0.05)
    except InterruptedError:
        events = []
    if cut_asked:
        cut_asked = False
        cut_all()
        continue
    for key, _ in events:
        s = key.fileobj
        if s is ls:
            c, _ = ls.accept()
            u = socket.create_connection(("127.0.0.1", args.to))
            peer[c], peer[u] = u, c
            sel.register(c, selectors.EVENT_READ)
            sel.register(u, selectors.EVENT_READ)
            continue
        if s not in peer:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            close_pair(s)
            continue
        try:
            peer[s].sendall(data)
        except OSError:
            close_pair(s)
