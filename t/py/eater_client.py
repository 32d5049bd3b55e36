#!/usr/bin/python3
"""An eater written against the original protocol with python3-websockets:
sends its hello, then prints every message it receives, one per line."""
import argparse
import asyncio
import json
import sys

import websockets


async def main(args):
    compression = None if args.no_deflate else "deflate"
    got = 0
    async with websockets.connect(f"ws://127.0.0.1:{args.port}/",
                                  compression=compression,
                                  max_size=None) as ws:
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


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--name", default="py_eater")
ap.add_argument("--hello")
ap.add_argument("--count", type=int, default=0)
ap.add_argument("--skip-status", action="store_true")
ap.add_argument("--timeout", type=float, default=30)
ap.add_argument("--no-deflate", action="store_true")
asyncio.run(main(ap.parse_args()))
