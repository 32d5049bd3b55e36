#!/usr/bin/python3
"""An eater written against the original protocol with python3-websockets:
sends its hello, then prints every message it receives, one per line.
With --token it presents a token (header or query parameter), with --ca it
speaks wss://; a refused upgrade prints "refused STATUS" and exits 3."""
import argparse
import asyncio
import json
import ssl
import sys

import websockets


async def eat(ws, args):
    got = 0
    print(f"extensions {[e.name for e in ws.extensions]}", file=sys.stderr, flush=True)
    hello = {"eater_name": args.name}
    if args.hello:
        hello.update(json.loads(args.hello))
    await ws.send(json.dumps(hello))
    try:
        while args.count == 0 or got < args.count:
            msg = await asyncio.wait_for(ws.recv(), timeout=args.timeout)
            print(msg, flush=True)
            if args.skip_status and '"SystemStatusChef"' in msg:
                continue
            got += 1
    except asyncio.TimeoutError:
        print("close timeout", file=sys.stderr, flush=True)
    except websockets.ConnectionClosed as e:
        print(f"close {e.code}", file=sys.stderr, flush=True)
        print(f"reason {e.reason}", file=sys.stderr, flush=True)


async def main(args):
    compression = None if args.no_deflate else "deflate"
    scheme, tls = "ws", None
    if args.ca:
        scheme, tls = "wss", ssl.create_default_context(cafile=args.ca)
    query, headers = "", {}
    if args.token and args.token_in == "query":
        query = f"?token={args.token}"
    elif args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    try:
        async with websockets.connect(f"{scheme}://{args.host}:{args.port}/{query}",
                                      compression=compression, max_size=args.max_size,
                                      extra_headers=headers, ssl=tls,
                                      origin=args.origin) as ws:
            await eat(ws, args)
    except websockets.InvalidStatusCode as e:
        print(f"refused {e.status_code}", file=sys.stderr, flush=True)
        sys.exit(3)


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--token")
ap.add_argument("--token-in", choices=["header", "query"], default="header")
ap.add_argument("--ca", help="connect with wss://, trusting this certificate")
ap.add_argument("--name", default="py_eater")
ap.add_argument("--hello")
ap.add_argument("--count", type=int, default=0)
ap.add_argument("--skip-status", action="store_true")
ap.add_argument("--timeout", type=float, default=30)
ap.add_argument("--no-deflate", action="store_true")
ap.add_argument("--origin", help="send this Origin, as a browser would")
ap.add_argument("--max-size", type=int, default=None,
                help="refuse messages over this many bytes, as websockets does by default")
asyncio.run(main(ap.parse_args()))
