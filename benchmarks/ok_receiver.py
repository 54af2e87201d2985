"""A receiver that answers every HTTP request as cheaply as Python can (pushes' far end).

Run as `python benchmarks/ok_receiver.py CORE [FAIL HANG]`: pins itself to CORE, prints its port,
and answers 200; with rates FAIL and HANG (0-1), 500 to every (1/FAIL)-th request and nothing,
ever, to every (1/HANG)-th (its connection stays open until the sender gives up): the flaky
receiver of benchmarks/soak.py.
"""

import asyncio
import contextlib
import os
import sys

with contextlib.suppress(AttributeError, OSError, ValueError):
    os.sched_setaffinity(0, {int(sys.argv[1])})
OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"
      b'{"message":"success","code":0}')
FAILED = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
FAIL, HANG = (float(rate) for rate in (sys.argv[2:4] if len(sys.argv) > 3 else (0, 0)))
FAIL_EVERY = round(1 / FAIL) if FAIL > 0 else 0
HANG_EVERY = round(1 / HANG) if HANG > 0 else 0
seen = 0


class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.t, self.buf, self.hung = transport, b"", False

    def data_received(self, data):
        global seen
        self.buf += data
        while not self.hung:
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
            seen += 1
            if HANG_EVERY and seen % HANG_EVERY == 0:
                self.hung = True  # no answer, ever: the sender's timeout ends it
            elif FAIL_EVERY and seen % FAIL_EVERY == FAIL_EVERY // 2:
                self.t.write(FAILED)
            else:
                self.t.write(OK)


async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
