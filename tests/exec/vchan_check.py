#!/usr/bin/env python3
"""tests/exec/vchan_check.py DIR: the driver of tests/exec/vchan-proxy.scn.

Debian's unmodified vchan-socket-proxy (xen-utils-4.17) runs in two exec'd
domains: the server one connects each vchan connection to DIR/echo.sock, the
client one listens on DIR/cli.sock and opens a vchan per connection. This
serves DIR/echo.sock (an echo), waits for the server's vchan in xenstore
(Debian's xenstore-read), connects to DIR/cli.sock, sends 256 KiB of
seeded bytes through domain 2 -> vchan -> domain 1 -> echo and back, and
checks every byte. Exit 0 verified, 1 not.
"""
import os, random, socket, subprocess, sys, threading, time

d = sys.argv[1]
echo_path, cli_path = os.path.join(d, "echo.sock"), os.path.join(d, "cli.sock")
N = 256 * 1024

def echo_server(srv):
    conn, _ = srv.accept()
    while True:
        b = conn.recv(65536)
        if not b:
            break
        conn.sendall(b)
    conn.close()

if os.path.exists(echo_path):
    os.unlink(echo_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(echo_path)
srv.listen(1)
threading.Thread(target=echo_server, args=(srv,), daemon=True).start()

# The server domain's vchan is published (Debian's xenstore-read, as dom0
# through XENSTORED_PATH) and the client domain listens.
ring = "/local/domain/1/data/vchan/event-channel"
for _ in range(400):
    r = subprocess.run(["xenstore-read", ring], capture_output=True)
    if r.returncode == 0 and os.path.exists(cli_path):
        break
    time.sleep(0.025)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(cli_path)
data = random.Random(15).randbytes(N)
got = bytearray()
c.settimeout(20)

def sender():
    for i in range(0, N, 4096):
        c.sendall(data[i:i + 4096])

t = threading.Thread(target=sender)
t.start()
while len(got) < N:
    b = c.recv(65536)
    if not b:
        break
    got += b
t.join()
c.close()
ok = bytes(got) == data
print("vchan_check: %d of %d bytes back through vchan-socket-proxy, %s" %
      (len(got), N, "all verified" if ok else "MISMATCH"))
sys.exit(0 if ok else 1)
