#!/usr/bin/python3
"""Hostile peers for the hub: WebSocket clients built on raw sockets, so
they can send what a well-behaved library never would (invalid UTF-8,
endless fragments, frames that are not masked, requests a byte a second),
over TLS with --tls. Each attack prints one line saying what the hub did.
Only talks to 127.0.0.1."""
import argparse
import base64
import os
import resource
import socket
import ssl
import struct
import sys
import time


class Raw:
    tls = False
    reason = ""     # of the close frame close_code() read

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if Raw.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.s = ctx.wrap_socket(self.s, server_hostname="localhost")

    def upgrade(self):
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = self.s.recv(4096)
            if not chunk:
                raise ConnectionError("closed during upgrade")
            reply += chunk
        if b" 101 " not in reply.split(b"\r\n")[0]:
            raise ConnectionError(reply.split(b"\r\n")[0].decode())
        return self

    def frame(self, opcode, payload, fin=True, masked=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        m = 0x80 if masked else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack("!H", n)
        else:
            head += bytes([m | 127]) + struct.pack("!Q", n)
        if not masked:
            self.s.sendall(head + payload)
            return
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 65536 \
            else (int.from_bytes(payload, "big") ^ int.from_bytes(
                (mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.s.sendall(head + mask + body)

    def text(self, payload, fin=True, masked=True):
        self.frame(0x1, payload, fin, masked)

    def close_code(self, timeout=10):
        """Read until the hub closes; the close code, or 'eof', or 'open'."""
        self.s.settimeout(timeout)
        buf = b""
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return "eof"
                buf += chunk
                while len(buf) >= 2:
                    op, n = buf[0] & 0x0F, buf[1] & 0x7F
                    off = 2
                    if n == 126:
                        if len(buf) < 4:
                            break
                        n, off = struct.unpack("!H", buf[2:4])[0], 4
                    elif n == 127:
                        if len(buf) < 10:
                            break
                        n, off = struct.unpack("!Q", buf[2:10])[0], 10
                    if len(buf) < off + n:
                        break
                    if op == 0x8:
                        self.reason = buf[off + 2:off + n].decode(errors="replace")
                        return str(struct.unpack("!H", buf[off:off + 2])[0]) if n >= 2 else "close"
                    buf = buf[off + n:]
        except socket.timeout:
            return "open"
        except (ConnectionResetError, BrokenPipeError):
            return "reset"


def kitchen(port):
    r = Raw(port).upgrade()
    r.text(b'{"kitchen_name": "hostile", "interface": "x", "filter": "", "chefs": [], "poke_interval": 5}')
    return r


def eater(port):
    r = Raw(port).upgrade()
    r.text(b'{"eater_name": "hostile", "chefs": ["NoSuchChef"]}')
    return r


def attack(args):
    port = args.port
    name = args.attack
    if name == "bad-utf8":
        r = kitchen(port)
        r.text(b'{"metadata": {"chef": "Bad\xff\xfeChef"}, "payload": "\xc3\x28"}')
        print(name, r.close_code(3))
    elif name == "bad-json":
        r = kitchen(port)
        for junk in (b"{", b"not json", b'{"metadata": ', b"\x00\x01"):
            r.text(junk)
        print(name, r.close_code(2))
    elif name == "not-object":
        r = kitchen(port)
        for junk in (b"[1, 2]", b'"a string"', b"42", b"null", b"true"):
            r.text(junk)
        print(name, r.close_code(2))
    elif name == "bad-metadata":
        r = kitchen(port)
        for junk in (b'{"payload": 1}', b'{"metadata": 5, "payload": 1}',
                     b'{"metadata": {"chef": 7}, "payload": 1}',
                     b'{"metadata": {"chef": null}, "payload": 1}',
                     b'{"metadata": {"chef": ["a"]}, "payload": 1}'):
            r.text(junk)
        print(name, r.close_code(2))
    elif name == "binary":
        r = kitchen(port)
        r.frame(0x2, b'{"metadata": {"chef": "BinChef"}, "payload": 1}')
        print(name, r.close_code(2))
    elif name == "oversized":
        # One message of 2 MB, whole or in --fragments frames, from a
        # kitchen or (--eater) an eater that has said hello; then nothing.
        r = eater(port) if args.eater else kitchen(port)
        body = b'{"pad": "' + b"y" * (2 << 20) + b'"}'
        step = -(-len(body) // args.fragments)
        try:
            for i in range(0, len(body), step):
                r.frame(0x1 if i == 0 else 0x0, body[i:i + step], fin=i + step >= len(body))
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(name, r.close_code(5), r.reason)
    elif name == "endless-fragments":
        r = kitchen(port)
        sent = 0
        try:
            r.text(b'{"pad": "', fin=False)
            while sent < (4 << 20):
                r.frame(0x0, b"z" * 65536, fin=False)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(name, r.close_code(5), r.reason, "after", sent >> 10, "KiB")
    elif name == "unmasked":
        r = kitchen(port)
        r.text(b'{"metadata": {"chef": "UnmaskedChef"}, "payload": 1}', masked=False)
        print(name, r.close_code(5))
    elif name == "unmasked-hello":
        r = Raw(port).upgrade()
        r.text(b'{"eater_name": "unmasked"}', masked=False)
        print(name, r.close_code(5))
    elif name == "empty-fragments":
        r = kitchen(port)
        sent = 0
        try:
            r.text(b'{"metadata": {"chef": "FragChef"}, "payload": ', fin=False)
            for _ in range(args.n):
                r.frame(0x0, b"", fin=False)
                sent += 1
            r.frame(0x0, b"1}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(name, r.close_code(5), "after", sent)
    elif name == "big-hellos":
        conns = [Raw(port).upgrade() for _ in range(args.n)]
        hello = b'{"kitchen_name": "' + b"k" * args.size + b'"}'
        for c in conns:
            try:
                c.text(hello)
            except (BrokenPipeError, ConnectionResetError):
                pass
        codes = {}
        for c in conns:
            code = c.close_code(10)
            codes[code] = codes.get(code, 0) + 1
        print(name, " ".join(f"{k}:{v}" for k, v in sorted(codes.items())))
    elif name == "no-hello":
        r = Raw(port).upgrade()
        print(name, r.close_code(args.wait), r.reason)
    elif name == "idle":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        conns, failed = [], 0
        for _ in range(args.n):
            try:
                conns.append(Raw(port).upgrade())
            except OSError:
                failed += 1
        # Each must be closed by the hub; wait for that up to a deadline
        # well past the hello timeout, so a busy machine does not matter.
        deadline = time.time() + args.wait + 30
        codes = {}
        for c in conns:
            code = c.close_code(max(0.05, deadline - time.time()))
            codes[code] = codes.get(code, 0) + 1
        print(name, "opened", len(conns), "failed", failed, "closed",
              " ".join(f"{k}:{v}" for k, v in sorted(codes.items())))
    elif name == "slow-upgrade":
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        sent = 0
        try:
            for byte in request[:args.n]:
                s.sendall(bytes([byte]))
                sent += 1
                time.sleep(1)
            s.settimeout(args.wait)
            print(name, "sent", sent, "then", "eof" if not s.recv(1) else "data")
        except socket.timeout:
            print(name, "sent", sent, "then", "open")
        except (BrokenPipeError, ConnectionResetError):
            print(name, "sent", sent, "then", "reset")
    else:
        sys.exit(f"unknown attack {name}")


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--attack", required=True)
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--size", type=int, default=1 << 20)
ap.add_argument("--wait", type=float, default=3)
ap.add_argument("--fragments", type=int, default=1, help="frames of an oversized message")
ap.add_argument("--eater", action="store_true", help="an oversized message from an eater")
ap.add_argument("--tls", action="store_true", help="talk TLS, trusting any certificate")
parsed = ap.parse_args()
Raw.tls = parsed.tls
attack(parsed)
