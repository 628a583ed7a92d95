"""Opens N keep-alive client connections to a proxy, one GET each, and keeps them idle.

    python3 idle_clients.py PORT N

Connects in waves of at most 200 connections in progress (as a crowd of browsers would,
not all at once), sends `GET /` on each, reads each response, and leaves the connection
open. Prints "opened N in S s" on stdout when all have their response, then waits for a
line on stdin, closes every connection, prints "closed" and exits. Exits non-zero if a
connection fails or a response is not 200.
"""
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
WAVE = 200


def open_all(port, count):
    selector = selectors.DefaultSelector()
    done = []
    pending = 0
    started = 0
    began = time.monotonic()
    while len(done) < count:
        while started < count and pending < WAVE:
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            selector.register(sock, selectors.EVENT_WRITE, b"")
            started += 1
            pending += 1
        for key, events in selector.select(timeout=10):
            sock, received = key.fileobj, key.data
            if events & selectors.EVENT_WRITE:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    sys.exit(f"connect failed: {error}")
                sock.send(REQUEST)
                selector.modify(sock, selectors.EVENT_READ, b"")
                continue
            chunk = sock.recv(65536)
            if not chunk:
                sys.exit("the proxy closed a connection before answering")
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is not None and len(body) >= length:
                if not head.startswith(b"HTTP/1.1 200"):
                    sys.exit(f"unexpected response: {head[:40]!r}")
                selector.unregister(sock)
                done.append(sock)
                pending -= 1
            else:
                selector.modify(sock, selectors.EVENT_READ, received)
    return done, time.monotonic() - began


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    sockets, elapsed = open_all(port, count)
    print(f"opened {len(sockets)} in {elapsed:.2f} s", flush=True)
    sys.stdin.readline()
    for sock in sockets:
        sock.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
