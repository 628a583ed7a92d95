"""An OTLP/HTTP collector on 127.0.0.1 that answers each export after a set delay, as a
collector across the internet would, and counts what it received.

    python3 slow_collector.py PORT DELAY_MS

Keep-alive, any number of connections, gzip understood. Each POST is read whole, its
spans counted (ExportTraceServiceRequest → resource_spans → scope_spans → spans, read
from the protobuf wire format without a library), then answered 200 after DELAY_MS.
On SIGTERM it prints "requests N spans N bytes N" and exits.
"""
import asyncio
import gzip
import signal
import sys

totals = {"requests": 0, "spans": 0, "bytes": 0}


def varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def fields(data, start, end):
    """(field number, start, end) of each length-delimited field in data[start:end]."""
    at = start
    while at < end:
        key, at = varint(data, at)
        kind = key & 7
        if kind == 2:
            length, at = varint(data, at)
            yield key >> 3, at, at + length
            at += length
        elif kind == 0:
            _, at = varint(data, at)
        elif kind == 1:
            at += 8
        elif kind == 5:
            at += 4
        else:
            raise ValueError("unexpected wire type")


def count_spans(body):
    spans = 0
    for number, start, end in fields(body, 0, len(body)):
        if number != 1:
            continue
        for number2, start2, end2 in fields(body, start, end):
            if number2 != 2:
                continue
            for number3, _, _ in fields(body, start2, end2):
                if number3 == 2:
                    spans += 1
    return spans


async def serve(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            gzipped = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"content-encoding" and value.strip().lower() == b"gzip":
                    gzipped = True
            body = await reader.readexactly(length)
            totals["requests"] += 1
            totals["bytes"] += length
            totals["spans"] += count_spans(gzip.decompress(body) if gzipped else body)
            await asyncio.sleep(delay)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    port, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000
    server = await asyncio.start_server(lambda r, w: serve(r, w, delay), "127.0.0.1", port, limit=1 << 24)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(f"requests {totals['requests']} spans {totals['spans']} bytes {totals['bytes']}", flush=True)


asyncio.run(main())
