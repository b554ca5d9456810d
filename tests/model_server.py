"""A file server on 127.0.0.1 for the download tests: serves bytes by path, honours ``Range``, can send
Google Storage's ``x-goog-hash``, cut a connection mid-file, and counts the requests it answered."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import threading
import zipfile
import io
import pathlib


@dataclasses.dataclass
class Served:
    body: bytes
    goog_md5: bytes | None = None        # md5 digest sent as x-goog-hash (None: no header)
    cut_after: int | None = None         # close the connection after this many body bytes ...
    cuts_left: int = 0                   # ... this many times
    honour_range: bool = True
    etag: str = ""
    headers: dict = dataclasses.field(default_factory=dict)  # extra response headers


class ModelServer:
    """``with ModelServer() as server: server.add("a/b.zip", data); server.url + "a/b.zip"``."""

    def __init__(self):
        self.files: dict[str, Served] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self.handler_hook = None  # optional callable(handler) -> bool (True: handled)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def add(self, path: str, body: bytes, *, goog_hash: bool | bytes = False, **options) -> Served:
        md5 = hashlib.md5(body).digest() if goog_hash is True else (goog_hash or None)
        served = Served(body, goog_md5=md5, etag=f'"{hashlib.sha1(body).hexdigest()}"', **options)
        self.files[path.lstrip("/")] = served
        return served

    def count(self, path: str, method: str = "GET") -> int:
        with self._lock:
            return sum(1 for m, p, _ in self.requests if m == method and p == path.lstrip("/"))

    def ranges(self, path: str) -> list[str | None]:
        with self._lock:
            return [r for m, p, r in self.requests if m == "GET" and p == path.lstrip("/")]

    def start(self) -> "ModelServer":
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _answer(self, head: bool):
                path = self.path.split("?")[0]
                if path.startswith("http://"):  # asked as a proxy: the absolute URL's path
                    path = "/" + path.split("/", 3)[3]
                path = path.lstrip("/")
                with server._lock:
                    server.requests.append((self.command, path, self.headers.get("Range")))
                if server.handler_hook is not None and server.handler_hook(self):
                    return
                served = server.files.get(path)
                if served is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, start = served.body, 0
                requested = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                if requested and served.honour_range and (not if_range or if_range == served.etag):
                    start = int(requested.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("ETag", served.etag)
                self.send_header("Accept-Ranges", "bytes")
                for key, value in served.headers.items():
                    self.send_header(key, value)
                if served.goog_md5 is not None:
                    md5 = base64.b64encode(served.goog_md5).decode()
                    self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
                self.end_headers()
                if head:
                    return
                payload = body[start:]
                with server._lock:
                    cut = served.cut_after is not None and served.cuts_left > 0
                    if cut:
                        served.cuts_left -= 1
                if cut:
                    self.wfile.write(payload[:served.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(payload)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def zip_directory(directory: pathlib.Path, root: str | None) -> bytes:
    """A zip of ``directory``'s files, under the folder ``root`` (None: at the top level), as Google ships them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        if root:
            zipped.writestr(f"{root}/", "")
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                relative = path.relative_to(directory).as_posix()
                zipped.write(path, f"{root}/{relative}" if root else relative)
    return buffer.getvalue()
