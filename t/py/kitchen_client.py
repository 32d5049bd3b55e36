#!/usr/bin/python3
"""A kitchen written against the original protocol with python3-websockets,
independent of our code: sends a hello, then dumplings or raw messages."""
import argparse
import asyncio
import json
import sys
import time

import websockets


def dumpling(args, seq):
    return json.dumps({
        "metadata": {"chef": args.chef, "kitchen": args.name,
                     "creation_time": time.time(), "driver": args.driver},
        "payload": {"seq": seq, "pad": "x" * args.size},
    })


async def main(args):
    try:
        await talk(args)
    except websockets.ConnectionClosed as e:
        print(f"close {e.code}", flush=True)


async def talk(args):
    compression = "deflate" if args.deflate else None
    async with websockets.connect(f"ws://127.0.0.1:{args.port}/",
                                  compression=compression,
                                  max_size=None) as ws:
        print(f"extensions {[e.name for e in ws.extensions]}", file=sys.stderr, flush=True)
        if not args.no_hello:
            hello = json.loads(args.hello) if args.hello else {
                "kitchen_name": args.name, "interface": "pytest",
                "filter": "tcp or udp", "chefs": [args.chef], "poke_interval": 5.0}
            await ws.send(json.dumps(hello))
        for i in range(args.count):
            d = dumpling(args, i)
            if args.fragments:
                await ws.send([d[:10]] + [""] * (args.fragments - 2) + [d[10:]])
            elif args.fragment:
                third = len(d) // 3
                await ws.send([d[:third], d[third:2 * third], d[2 * third:]])
            else:
                await ws.send(d)
            if args.pause and i % 100 == 99:
                await asyncio.sleep(args.pause)
        if args.raw:
            with open(args.raw, encoding="utf-8") as f:
                for line in f:
                    await ws.send(line.rstrip("\n"))
        if args.binary:
            await ws.send(b'{"metadata": {"chef": "BinChef"}, "payload": 1}')
        if args.big:
            await ws.send('{"pad": "' + "y" * args.big + '"}')
        try:
            await asyncio.wait_for(ws.recv(), timeout=args.hold)
        except asyncio.TimeoutError:
            print("close none", flush=True)
            return
        except websockets.ConnectionClosed as e:
            print(f"close {e.code}", flush=True)
            return


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--name", default="py_kitchen")
ap.add_argument("--chef", default="PyChef")
ap.add_argument("--driver", default="packet")
ap.add_argument("--count", type=int, default=0)
ap.add_argument("--size", type=int, default=10)
ap.add_argument("--raw")
ap.add_argument("--binary", action="store_true")
ap.add_argument("--fragment", action="store_true")
ap.add_argument("--fragments", type=int, default=0, help="send each dumpling in this many fragments")
ap.add_argument("--pause", type=float, default=0, help="seconds to pause every 100 dumplings")
ap.add_argument("--big", type=int, default=0)
ap.add_argument("--hello")
ap.add_argument("--no-hello", action="store_true")
ap.add_argument("--deflate", action="store_true")
ap.add_argument("--hold", type=float, default=0.5)
asyncio.run(main(ap.parse_args()))
