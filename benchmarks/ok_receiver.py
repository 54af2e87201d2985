"""A receiver that answers every HTTP request 200 as cheaply as Python can (pushes' far end).

Run as `python benchmarks/ok_receiver.py CORE`: pins itself to CORE and prints its port.
"""

import asyncio
import contextlib
import os
import sys

with contextlib.suppress(AttributeError, OSError, ValueError):
    os.sched_setaffinity(0, {int(sys.argv[1])})
OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"
      b'{"message":"success","code":0}')


class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.t, self.buf = transport, b""

    def data_received(self, data):
        self.buf += data
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(rest) < length:
                return
            self.buf = rest[length:]
            self.t.write(OK)



async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
