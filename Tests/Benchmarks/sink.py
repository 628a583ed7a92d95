"""An upstream that reads each request body to the end and answers with its size.

Used by run.sh to stream uploads through hoptrace: nginx's `return` would answer before
reading the body. Reads in 1 MiB steps; keep-alive; stops when its parent kills it.
"""
import socket
import sys
import threading


def serve(connection):
    buffer = b""
    with connection:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = connection.recv(1 << 20)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                if name.strip().lower() == b"transfer-encoding":
                    chunked = True
            if chunked:
                raise SystemExit("sink.py expects Content-Length uploads")
            received = len(buffer)
            buffer = buffer[length:] if received >= length else b""
            while received < length:
                data = connection.recv(min(1 << 20, length - received))
                if not data:
                    return
                received += len(data)
            body = str(min(received, length)).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(64)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
