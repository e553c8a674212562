#!/usr/bin/python3
"""A camera push client written the way seed 002's Python client works.

It opens a WebSocket, sends the camera id as 4 bytes, the token length as 4 bytes and the token as
UTF-8, each as its own message, then for every image its length as 4 bytes and the image bytes
(or, with --whole, each image as one message). Integers are `int.to_bytes(4, "little")`.
Uses only Debian's python3 and python3-websockets (10.x, asyncio API).

Prints `sent N` after the images, and `closed CODE REASON` when the server closes the connection.
"""
import argparse
import asyncio

import websockets


async def push(args):
    async with websockets.connect(args.url, max_size=None) as ws:
        try:
            await ws.send(int(args.camera_id).to_bytes(4, "little"))
            token = args.token.encode("utf-8")
            await ws.send(len(token).to_bytes(4, "little"))
            await ws.send(token)
            sent = 0
            for _ in range(args.repeat):
                for path in args.images:
                    with open(path, "rb") as f:
                        data = f.read()
                    if args.whole:
                        await ws.send(data)
                    else:
                        await ws.send(len(data).to_bytes(4, "little"))
                        await ws.send(data)
                    sent += 1
                    if args.interval:
                        await asyncio.sleep(args.interval)
            print(f"sent {sent}", flush=True)
            # A refusal arrives as a close frame; give the server time to send one.
            await asyncio.wait_for(ws.recv(), timeout=args.linger)
        except websockets.ConnectionClosed as e:
            print(f"closed {e.code} {e.reason}", flush=True)
        except asyncio.TimeoutError:
            print("open", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("url")
    p.add_argument("camera_id", type=int)
    p.add_argument("token")
    p.add_argument("images", nargs="*", help="JPEG files; none = handshake only")
    p.add_argument("--whole", action="store_true", help="one image per message, no length")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--interval", type=float, default=0)
    p.add_argument("--linger", type=float, default=0.5)
    asyncio.run(push(p.parse_args()))


if __name__ == "__main__":
    main()
