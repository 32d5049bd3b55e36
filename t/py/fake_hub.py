#!/usr/bin/python3
"""A stand-in hub written with python3-websockets: accepts one client (an
eater or a kitchen), prints its hello, sends it the lines of a file as
messages (and, with --big N, one message of N bytes; with --fragments N,
one message in N fragments, most of them empty), then either closes with
a given code or reads (and with --print-all prints) until the client
closes, and prints the close code."""
import argparse
import asyncio
import sys

import websockets


async def handler(ws, path, args, done):
    hello = await ws.recv()
    print(f"hello {hello}", flush=True)
    if args.file:
        with open(args.file, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                await ws.send(line.rstrip("\n"))
    if args.fragments:
        pieces = ['{"metadata": {"chef": "FragChef"}, "payload": "']
        pieces += [""] * max(0, args.fragments - 2) + ['"}']
        try:
            await ws.send(pieces)
        except websockets.ConnectionClosed:
            pass
    if args.big:
        try:
            await ws.send('{"pad": "' + "x" * max(0, args.big - 11) + '"}')
        except websockets.ConnectionClosed:
            pass
    if args.close:
        await ws.close(args.close, "fake hub closing")
    else:
        try:
            while True:
                msg = await ws.recv()
                if args.print_all:
                    print(f"msg {msg}", flush=True)
        except websockets.ConnectionClosed:
            pass
    print(f"close {ws.close_code}", flush=True)
    done.set_result(True)


async def main(args):
    done = asyncio.get_running_loop().create_future()
    async with websockets.serve(lambda ws, path: handler(ws, path, args, done),
                                "127.0.0.1", args.port):
        await asyncio.wait_for(done, timeout=args.timeout)


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--file")
ap.add_argument("--big", type=int, default=0)
ap.add_argument("--fragments", type=int, default=0)
ap.add_argument("--close", type=int, default=0)
ap.add_argument("--print-all", action="store_true")
ap.add_argument("--timeout", type=float, default=30)
asyncio.run(main(ap.parse_args()))
