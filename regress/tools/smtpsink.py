#!/usr/bin/env python3
"""smtpsink.py: a small SMTP server for the mail tests.

It speaks EHLO, STARTTLS (with --cert/--key), AUTH PLAIN and LOGIN (only
over TLS, checked against --user/--password), MAIL, RCPT, DATA, RSET,
NOOP and QUIT, and writes each message it accepts to --out as N.eml, the
dot-stuffing undone and CRLF kept.  A recipient containing --reject gets
550 at RCPT.  What the client said goes to --out/session.log (the AUTH
line masked).
"""

import argparse
import base64
import os
import socketserver
import ssl
import sys

ARGS = None
COUNT = [0]


class Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def log(self, line):
        with open(os.path.join(ARGS.out, "session.log"), "a") as f:
            f.write(line + "\n")

    def readline(self):
        line = self.rfile.readline(4096)
        if not line:
            raise EOFError
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self):
        tls = False
        authed = False
        rcpts = []
        self.send("220 smtpsink ready")
        try:
            while True:
                line = self.readline()
                verb = line.split(" ", 1)[0].upper()
                self.log("AUTH ..." if verb == "AUTH" else line)
                if verb in ("EHLO", "HELO"):
                    ext = ["250-smtpsink"]
                    if ARGS.cert and not tls:
                        ext.append("250-STARTTLS")
                    if tls:
                        ext.append("250-AUTH PLAIN LOGIN")
                    ext.append("250 8BITMIME")
                    for e in ext:
                        self.send(e)
                elif verb == "STARTTLS" and ARGS.cert and not tls:
                    self.send("220 go ahead")
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(ARGS.cert, ARGS.key)
                    self.request = ctx.wrap_socket(self.request,
                                                   server_side=True)
                    self.rfile = self.request.makefile("rb")
                    self.wfile = self.request.makefile("wb")
                    tls = True
                    self.log("(tls)")
                elif verb == "AUTH":
                    if not tls:
                        self.send("538 encryption required")
                        continue
                    parts = line.split(" ")
                    if parts[1].upper() == "PLAIN":
                        cred = base64.b64decode(parts[2]).split(b"\0")
                        user, pw = cred[1].decode(), cred[2].decode()
                    else:
                        self.send("334 VXNlcm5hbWU6")
                        user = base64.b64decode(self.readline()).decode()
                        self.send("334 UGFzc3dvcmQ6")
                        pw = base64.b64decode(self.readline()).decode()
                    if user == ARGS.user and pw == ARGS.password:
                        authed = True
                        self.log("(authenticated %s)" % user)
                        self.send("235 ok")
                    else:
                        self.send("535 bad credentials")
                elif verb == "MAIL":
                    if ARGS.user and not authed:
                        self.send("530 authentication required")
                        continue
                    rcpts = []
                    self.send("250 ok")
                elif verb == "RCPT":
                    if ARGS.reject and ARGS.reject in line:
                        self.send("550 no such user")
                        continue
                    rcpts.append(line)
                    self.send("250 ok")
                elif verb == "DATA":
                    if not rcpts:
                        self.send("503 no recipients")
                        continue
                    self.send("354 go on")
                    data = []
                    while True:
                        raw = self.rfile.readline(65536)
                        if not raw:
                            raise EOFError
                        if raw == b".\r\n":
                            break
                        if raw.startswith(b".."):
                            raw = raw[1:]
                        data.append(raw)
                    COUNT[0] += 1
                    path = os.path.join(ARGS.out, "%d.eml" % COUNT[0])
                    with open(path + ".tmp", "wb") as f:
                        f.write(b"".join(data))
                    os.rename(path + ".tmp", path)
                    self.send("250 queued")
                elif verb in ("RSET", "NOOP"):
                    self.send("250 ok")
                elif verb == "QUIT":
                    self.send("221 bye")
                    return
                else:
                    self.send("502 not implemented")
        except (EOFError, ConnectionError, ssl.SSLError, OSError) as e:
            self.log("(closed: %s)" % e)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject")
    ARGS = p.parse_args()
    with Server(("127.0.0.1", ARGS.port), Handler) as srv:
        open(os.path.join(ARGS.out, "ready"), "w").close()
        srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
