#!/usr/bin/env python3
"""A misbehaving WebSocket peer for hardening tests (not a library).

  rawpeer.py PORT MODE [GROUP_ID MEMBER_KEY [COUNT]]

MODE:
  noread   - handshake, send hello, then never read again (tiny receive
             buffer); prints "upgraded", then sleeps until killed
  nopong   - handshake, send hello, then read frames but never answer pings;
             prints "closed <seconds>" when the server hangs up
  silent   - open TCP and send nothing; prints "closed <seconds>"
  noreadmany - as noread, COUNT connections from this one process; prints
             "upgraded COUNT" once every one said hello, then sleeps until
             killed
  chatty   - as noread (never reads, tiny receive buffer), but sends a
             small text frame every 0.5 s, as if alive; prints "closed
             <seconds>" once a send fails (the server dropped us)
  fakepong - handshake, send hello, read frames, never answer pings but send
             unsolicited pongs (the old fixed payload "codev", and random
             ones) every 0.2 s; prints "closed <seconds>" when the server
             hangs up
"""
import base64, json, os, socket, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]


def upgrade(sock):
    """WebSocket handshake on sock; returns True when the server said 101."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: codev.v1\r\n\r\n" % (port, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return b" 101 " in head.split(b"\r\n")[0]


if mode == "noreadmany":
    socks = []
    for _ in range(int(sys.argv[5])):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", port))
        if not upgrade(c):
            print("refused", flush=True)
            sys.exit(1)
        hello = json.dumps({"type": "hello", "group_id": sys.argv[3], "member_key": sys.argv[4]}).encode()
        mask = os.urandom(4)
        c.sendall(bytes([0x81, 0x80 | 126]) + len(hello).to_bytes(2, "big") + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(hello)))
        socks.append(c)
    print("upgraded %d" % len(socks), flush=True)
    time.sleep(120)
    sys.exit(0)

s = socket.socket()
if mode in ("noread", "chatty"):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
start = time.time()


def send_text(data, opcode=0x1):
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        hdr = bytes([0x80 | opcode, 0x80 | n])
    else:
        hdr = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def wait_closed(timeout):
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    print("closed %.1f" % (time.time() - start), flush=True)


if mode == "silent":
    wait_closed(60)
    sys.exit(0)

print("upgraded" if upgrade(s) else "refused", flush=True)
send_text(json.dumps({"type": "hello", "group_id": sys.argv[3], "member_key": sys.argv[4]}).encode())
if mode == "noread":
    # Never read again: the server must drop us once its queue for us is full
    # (the test watches the server's side). Stay until killed.
    time.sleep(120)
elif mode == "chatty":
    # Looks alive to a server that counts incoming frames; reads nothing.
    while time.time() - start < 60:
        time.sleep(0.5)
        try:
            send_text(b'{"type":"test_barrier"}')
        except (BrokenPipeError, ConnectionResetError):
            break
    print("closed %.1f" % (time.time() - start), flush=True)
elif mode == "fakepong":
    s.settimeout(0.2)
    while time.time() - start < 60:
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            break
        try:
            send_text(b"codev", 0xA)
            send_text(os.urandom(8).hex().encode(), 0xA)
        except (BrokenPipeError, ConnectionResetError):
            break
    print("closed %.1f" % (time.time() - start), flush=True)
else:  # nopong: read and discard everything, answer nothing
    wait_closed(60)
