"""A git smart-HTTP server for the git destination's tests: `git http-backend` (from the
system's git) behind HTTP basic authentication, on a loopback port.

    python3 http_backend.py ROOT USER PASSWORD [CERT KEY]

speaks HTTPS with the PEM certificate and key when given, prints the port it listens on, then serves the repositories under ROOT until killed. Every
request without the right credentials gets 401, so a push that lands proves the writer sent
them. Request bodies may be chunked (libgit2 streams pushes that way).
"""

import base64
import http.server
import os
import ssl
import subprocess
import sys


def main():
    root, user, password = sys.argv[1:4]
    tls = sys.argv[4:6]
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    backend = [
        "git",
        "http-backend",
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def serve(self):
            data = self.body()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="tenants"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            env = dict(os.environ)
            env.update(
                GIT_PROJECT_ROOT=root,
                GIT_HTTP_EXPORT_ALL="1",
                REMOTE_USER=user,
                REQUEST_METHOD=self.command,
                PATH_INFO=path,
                QUERY_STRING=query,
                CONTENT_TYPE=self.headers.get("Content-Type", ""),
                CONTENT_LENGTH=str(len(data)),
            )
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            done = subprocess.run(backend, input=data, env=env, capture_output=True)
            sep = b"\r\n\r\n" if b"\r\n\r\n" in done.stdout else b"\n\n"
            head, _, payload = done.stdout.partition(sep)
            status = 200
            headers = []
            for line in head.replace(b"\r\n", b"\n").split(b"\n"):
                name, _, value = line.decode().partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = serve
        do_POST = serve

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
