#!/usr/bin/env python3
"""lab/lib/dockerlog.py DIR NAME -- COMMAND...: run COMMAND as a container
would run, and write its output as Docker's json-file driver does, into
DIR/<ID>-json.log, with DIR/config.v2.json naming the container NAME.

Docker is not available in the lab (no daemon), so this writes the format
exactly as moby does (daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go,
MarshalJSONBuf and ffjsonWriteJSONBytesAsString; time_marshalling.go):
one object per line of output, keys `log`, `stream`, `time` in that order;
`log` keeps the line's `\n`; bytes below 0x20 other than \n and \r as
\\u00XX, `<`, `>`, `&` as \\u003c, \\u003e, \\u0026, invalid UTF-8 as
\\ufffd, U+2028/2029 escaped; `time` is Go's RFC3339Nano in UTC (trailing
zeros of the fraction dropped); a line longer than 16 KiB is cut into
16 KiB pieces, all but the last without `\n` (daemon/logger/copier.go's
bufSize). The container id is the SHA-256 of NAME, so re-recordings keep
the path.
"""
import datetime
import hashlib
import json
import os
import selectors
import subprocess
import sys
import time

PIECE = 16 * 1024
HEX = "0123456789abcdef"


def escape(b: bytes) -> str:
    out = []
    text = b.decode("utf-8", errors="replace")
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            if ch in '\\"':
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif o < 0x20 or ch in "<>&":
                out.append("\\u00" + HEX[o >> 4] + HEX[o & 0xF])
            else:
                out.append(ch)
        elif ch == "\ufffd":
            out.append("\\ufffd")
        elif ch in "\u2028\u2029":
            out.append("\\u202" + HEX[o & 0xF])
        else:
            out.append(ch)
    return "".join(out)


def rfc3339nano(t: datetime.datetime, ns: int) -> str:
    frac = f"{ns:09d}".rstrip("0")
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return base + ("." + frac if frac else "") + "Z"


def now() -> str:
    ns = time.time_ns()
    t = datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.timezone.utc)
    return rfc3339nano(t, ns % 1_000_000_000)


def main() -> int:
    dest, name = sys.argv[1], sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    cid = hashlib.sha256(name.encode()).hexdigest()
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "config.v2.json"), "w") as f:
        json.dump({"ID": cid, "Name": "/" + name, "Config": {"Hostname": cid[:12], "Labels": {}}}, f,
                  separators=(",", ":"))
    log = open(os.path.join(dest, cid + "-json.log"), "ab", buffering=0)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    pending = {}
    for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe, selectors.EVENT_READ, stream)
        pending[stream] = b""

    def write(stream: str, line: bytes) -> None:
        obj = '{"log":"' + escape(line) + '","stream":"' + stream + '","time":"' + now() + '"}\n'
        log.write(obj.encode())

    open_pipes = 2
    while open_pipes:
        for key, _ in sel.select():
            stream = key.data
            chunk = key.fileobj.read(65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_pipes -= 1
                if pending[stream]:
                    write(stream, pending[stream])
                continue
            buf = pending[stream] + chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0 or nl >= PIECE:
                    if len(buf) >= PIECE:
                        write(stream, buf[:PIECE])
                        buf = buf[PIECE:]
                        continue
                    break
                write(stream, buf[: nl + 1])
                buf = buf[nl + 1:]
            pending[stream] = buf
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
