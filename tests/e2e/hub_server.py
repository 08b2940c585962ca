"""A local stand-in for the Hugging Face Hub, for the e2e Models pane test:
search and model-info APIs, `resolve` with X-Repo-Commit / X-Linked-Etag /
X-Linked-Size and a redirect, and Range requests, serving a real GGUF file.
Throttled so that the progress bar can be seen to move."""
import hashlib
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = "test-org/gemma-3-270m-GGUF"
FILE = "gemma-3-270m-q4_k_m.gguf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Hub:
    def __init__(self, path, bytes_per_sec=40_000_000, repo=REPO, file=FILE):
        self.repo, self.file = repo, file
        self.path = path
        self.size = os.path.getsize(path)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        self.sha256 = h.hexdigest()
        self.rate = bytes_per_sec
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, headers=(), body=b""):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path == "/api/models":
                    q = dict(kv.partition("=")[::2] for kv in query.split("&") if kv)
                    hit = q.get("search", "").lower() in hub.repo.lower()
                    body = [{"id": hub.repo, "downloads": 1234, "likes": 5}] if hit else []
                    return self.reply(200, [("Content-Type", "application/json")], json.dumps(body).encode())
                if path == f"/api/models/{hub.repo}":
                    body = {"id": hub.repo, "sha": COMMIT, "siblings": [
                        {"rfilename": "README.md", "size": 100},
                        {"rfilename": hub.file, "size": hub.size, "lfs": {"sha256": hub.sha256, "size": hub.size}}]}
                    return self.reply(200, [("Content-Type", "application/json")], json.dumps(body).encode())
                if path == f"/{hub.repo}/resolve/main/{hub.file}":
                    return self.reply(302, [("X-Repo-Commit", COMMIT), ("X-Linked-Etag", f'"{hub.sha256}"'),
                                            ("X-Linked-Size", str(hub.size)), ("Location", f"/cdn/{hub.sha256}")])
                if path == f"/cdn/{hub.sha256}":
                    m = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
                    start = int(m.group(1)) if m else 0
                    self.send_response(206 if m else 200)
                    if m:
                        self.send_header("Content-Range", f"bytes {start}-{hub.size - 1}/{hub.size}")
                    self.send_header("Content-Length", str(hub.size - start))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    with open(hub.path, "rb") as f:
                        f.seek(start)
                        chunk = 256 * 1024
                        while data := f.read(chunk):
                            try:
                                self.wfile.write(data)
                            except (BrokenPipeError, ConnectionResetError):
                                return
                            time.sleep(chunk / hub.rate)
                    return
                self.reply(404, [("X-Error-Code", "RepoNotFound")])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
