#!/usr/bin/env python3
"""fake_oktell.py - a server that answers as the frames captured from real
Oktell servers show (docs: oktell-websocket-protocol.md §14.1), written
from that fact sheet alone: it shares no code or table with our emulator.

    python3 fake_oktell.py [--config FILE] [--log FILE] [--control DIR]

Binds 127.0.0.1 on a free port and prints "PORT <n>" as its first line.
Exits on SIGTERM/SIGINT, or when its parent process goes away.

--config FILE  JSON {"licenses": 2, "users": [{"login", "password", "name",
               "userid", "number", "lineid", "redirect_number",
               "oncallcenter", "userstateid", "line"}]}; default: Peter/123.
--log FILE     every frame a client sends, one JSON line each (appended):
               {"conn": n, "method": name, "params": {...}}; also
               {"conn": n, "handshake": {"path", "protocols"}} and
               {"conn": n, "bad": text} for frames that are not [name, {}].
--control DIR  DIR/*.json are run in name order, then deleted (write a file
               under another name, then rename it to *.json):
                 {"event": wire, "user": login, "payload": {...}}  push an event
                     (fresh uuid4 qid, userlogin, userid added) to that user's
                     subscribed sessions (every session without "user")
                 {"override": method, "fields": {...}}  the next reply to method
                     carries these fields (a null value removes the field)
                 {"line": "lsCommutated", "user": login}  set the line state,
                     push linestatechanged {qid}
                 {"drop": login}  close that user's TCP connections abruptly
"""
import base64
import hashlib
import json
import os
import selectors
import socket
import struct
import sys
import uuid

MAX_MESSAGE = 1 << 20            # a bigger message closes the connection
MAX_HEADER = 16384
WS_MAGIC = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NO_CHAIN = "00000000-0000-0000-0000-000000000000"

# userstatestr: 0, 1, 5, 7 are captured (§14.1, §6.5); 2, 3, 6 are the
# reference's enum names (API §1), no capture shows them.
STATE_STR = {0: "usDisconnected", 1: "usReady", 2: "usLunch", 3: "usOff",
             5: "usFullbusy", 6: "usReserved", 7: "usWOphone"}
SETTABLE = (1, 2, 3, 5)          # 0, 4, 6, 7 are the server's own (§5.2-5.4)

GROUPS = {                       # §2.5: the server expands group names
    "dynamic": ["executemethod", "cancelmethod"],
    "dynamicwaitabort": ["executemethodwaitaborted"],
    "chat": ["chatmessageviewed", "chatmessage", "chatmemberremoved",
             "chatmemberadded", "chatnamechanged", "chatcreated"],
    "dlgcard": ["dlgcard_showreserve", "dlgcard_showconfirm",
                "dlgcard_showformstop", "dlgcard_showformdialog",
                "dlgcard_closeall", "dlgcard_closereserve",
                "dlgcard_closeformreturnvalues",
                "dlgcard_closeformreturncomment"],
}

DEFAULT_CONFIG = {"licenses": 2, "users": [{
    "login": "Peter", "password": "123", "name": "Петр", "number": "556",
    "userid": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    "lineid": "9B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D"}]}


def md5hex(text):
    """§3.1: MD5 of the cp1251 bytes (characters cp1251 lacks are dropped)."""
    return hashlib.md5(text.encode("cp1251", "ignore")).hexdigest()


def fresh_qid():
    """Messages the server starts carry a lower-case uuid4 qid (§14.1)."""
    return str(uuid.uuid4())


class User:
    def __init__(self, d):
        self.login = d["login"]
        self.password = str(d.get("password", ""))
        self.name = d.get("name", self.login)
        self.userid = d.get("userid") or str(uuid.uuid4()).upper()
        self.number = str(d.get("number", "556"))
        self.lineid = d.get("lineid") or str(uuid.uuid4()).upper()
        self.redirect_number = d.get("redirect_number")
        self.state = int(d.get("userstateid", 1))
        self.oncallcenter = bool(d.get("oncallcenter", False))
        self.onredirect = False
        self.line = d.get("line", "lsReady")

    def state_fields(self, login=None):
        """The nine fields of getuserstateresult / userstatechanged but
        qid, in the captured order and types (§14.1)."""
        return {"userlogin": login if login is not None else self.login,
                "userid": self.userid,
                "userstateid": str(self.state), "userstate": str(self.state),
                "userstatestr": STATE_STR.get(self.state, "usUnknown"),
                "oncallcenter": self.oncallcenter,
                "onlunch": self.state == 2,
                "onredirect": self.onredirect}


class Conn:
    def __init__(self, sock, cid):
        self.sock, self.id = sock, cid
        self.inbuf, self.outbuf = bytearray(), bytearray()
        self.upgraded = False
        self.closing = False     # close once outbuf is flushed
        self.frag = None         # text of a fragmented message so far
        self.user = None
        self.events = set()


def frame(opcode, data):
    n = len(data)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
    return head + data


def unmask(mask, data):
    n = len(data)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class Server:
    def __init__(self, config, log_path, control):
        self.licenses = int(config.get("licenses", 2))
        self.users = [User(u) for u in config.get("users", [])]
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.control = control
        self.overrides = {}
        self.conns = {}
        self.next_id = 0
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)

    # ---- plumbing ----------------------------------------------------------

    def write_log(self, entry):
        if self.log:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def find_user(self, login):
        if not isinstance(login, str):
            return None
        for u in self.users:
            if u.login.lower() == login.lower():
                return u
        return None

    def serve(self):
        parent = os.getppid()
        while os.getppid() == parent:
            for key, mask in self.sel.select(timeout=0.01):
                if key.data is None:
                    self.accept()
                    continue
                c = key.data
                if mask & selectors.EVENT_READ:
                    self.on_readable(c)
                if mask & selectors.EVENT_WRITE:
                    self.flush(c)
            self.poll_control()

    def accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        self.next_id += 1
        c = Conn(sock, self.next_id)
        self.conns[c.id] = c
        self.sel.register(sock, selectors.EVENT_READ, c)

    def drop(self, c):
        if self.conns.pop(c.id, None) is None:
            return
        self.sel.unregister(c.sock)
        c.sock.close()

    def flush(self, c):
        if c.id not in self.conns:
            return
        try:
            while c.outbuf:
                n = c.sock.send(c.outbuf)
                del c.outbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            return self.drop(c)
        if not c.outbuf and c.closing:
            return self.drop(c)
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0)
        self.sel.modify(c.sock, want, c)

    def send_raw(self, c, data):
        if c.id in self.conns:
            c.outbuf += data
            self.flush(c)

    def send(self, c, message):
        # ensure_ascii: the captured frames carry non-ASCII as \uXXXX (§14.1)
        self.send_raw(c, frame(0x1, json.dumps(message).encode()))

    def close_ws(self, c, code):
        """Send a close frame, then close once it is out."""
        if c.id in self.conns:
            c.outbuf += frame(0x8, struct.pack(">H", code))
            c.closing = True
            self.flush(c)

    # ---- RFC 6455 ------------------------------------------------------------

    def on_readable(self, c):
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            return self.drop(c)
        if c.closing:
            return
        c.inbuf += data
        if not c.upgraded and not self.handshake(c):
            return
        self.read_frames(c)

    def handshake(self, c):
        end = c.inbuf.find(b"\r\n\r\n")
        if end < 0:
            if len(c.inbuf) > MAX_HEADER:
                self.drop(c)
            return False
        lines = c.inbuf[:end].decode("latin-1").split("\r\n")
        del c.inbuf[:end + 4]
        parts = lines[0].split()
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        key = headers.get("sec-websocket-key")
        if (len(parts) != 3 or parts[0] != "GET" or not key
                or "websocket" not in headers.get("upgrade", "").lower()
                or "upgrade" not in headers.get("connection", "").lower()
                or headers.get("sec-websocket-version") != "13"):
            self.send_raw(c, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            c.closing = True
            self.flush(c)
            return False
        offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        self.write_log({"conn": c.id, "handshake": {"path": parts[1], "protocols": offered}})
        accept = base64.b64encode(hashlib.sha1((key + WS_MAGIC).encode()).digest()).decode()
        reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n")
        if "json" in offered:     # §1.2: echo the subprotocol oktell.js offers
            reply += "Sec-WebSocket-Protocol: json\r\n"
        self.send_raw(c, (reply + "\r\n").encode())
        c.upgraded = True
        return True

    def read_frames(self, c):
        buf = c.inbuf
        while c.id in self.conns and not c.closing and len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            fin, opcode, n, pos = b0 & 0x80, b0 & 0x0F, b1 & 0x7F, 2
            if b0 & 0x70 or not b1 & 0x80:   # reserved bits, unmasked client frame
                return self.close_ws(c, 1002)
            if n == 126:
                if len(buf) < 4:
                    return
                n, pos = struct.unpack(">H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, pos = struct.unpack(">Q", buf[2:10])[0], 10
            if opcode >= 8 and (not fin or n > 125):
                return self.close_ws(c, 1002)
            if n + (len(c.frag) if c.frag is not None and opcode == 0 else 0) > MAX_MESSAGE:
                return self.close_ws(c, 1009)
            if len(buf) < pos + 4 + n:
                return
            payload = unmask(bytes(buf[pos:pos + 4]), bytes(buf[pos + 4:pos + 4 + n]))
            del buf[:pos + 4 + n]
            if opcode == 0x0 and c.frag is not None:
                c.frag += payload
            elif opcode == 0x1 and c.frag is None:
                c.frag = bytearray(payload)
            elif opcode == 0x8:
                self.close_ws(c, struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1000)
                return
            elif opcode == 0x9:
                self.send_raw(c, frame(0xA, payload))
                continue
            elif opcode == 0xA:
                continue
            else:                            # binary, stray continuation, unknown
                return self.close_ws(c, 1003 if opcode == 0x2 else 1002)
            if fin:
                data, c.frag = bytes(c.frag), None
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    return self.close_ws(c, 1007)
                self.on_message(c, text)

    # ---- the Oktell protocol -------------------------------------------------

    def on_message(self, c, text):
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not (isinstance(msg, list) and len(msg) >= 2 and isinstance(msg[0], str)
                and isinstance(msg[1], dict)):
            return self.write_log({"conn": c.id, "bad": text})
        name, p = msg[0].lower(), msg[1]
        self.write_log({"conn": c.id, "method": msg[0], "params": p})
        handler = getattr(self, "m_" + name, None)
        if name not in ("ping", "login") and handler and c.user is None:
            return self.reply(c, name, p, {"qid": p.get("qid"), "result": 0,
                                           "errormsg": "Not logged in"})
        if handler is None:
            return self.reply(c, name, p, {"qid": p.get("qid"), "result": 0,
                                           "errormsg": "Unknown method"})
        handler(c, name, p)

    def reply(self, c, name, p, out):
        """Send <method>result: the request's userlogin (and userid) copied
        back (§14.1), then any override for this method."""
        if "qid" not in p:
            out.pop("qid", None)
        for k in ("userlogin", "userid"):
            if k in p and k not in out:
                out[k] = p[k]
        for k, v in self.overrides.pop(name, {}).items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        self.send(c, [name + "result", out])

    def push(self, user, name, payload):
        """An event to the subscribed sessions of user (all when None)."""
        for c in list(self.conns.values()):
            if (c.user is not None and (user is None or c.user is user)
                    and name.lower() in c.events and not c.closing):
                self.send(c, [name, payload])

    def m_ping(self, c, name, p):
        self.reply(c, name, p, {"qid": p.get("qid")})

    def m_login(self, c, name, p):
        u = self.find_user(p.get("userlogin"))
        if u and (p.get("Password") == md5hex(u.password)
                  or p.get("password") == md5hex(u.password.lower())):
            c.user = u
            self.reply(c, name, p, {"qid": p.get("qid"), "userid": u.userid,
                                    "userlogin": p.get("userlogin"), "result": 1})
        else:
            c.user = None
            self.reply(c, name, p, {"qid": p.get("qid"), "result": 0,
                                    "errormsg": "Wrong login/pass combination"})

    def m_logout(self, c, name, p):
        self.reply(c, name, p, {"qid": p.get("qid"), "result": 1})
        c.user = None
        self.close_ws(c, 1000)

    def m_subscribeevent(self, c, name, p):
        names = p.get("eventmethod")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return self.reply(c, name, p, {"qid": p.get("qid"), "result": 0,
                                           "errormsg": "Bad request"})
        for n in names:
            c.events.add(n.lower())
            c.events.update(GROUPS.get(n.lower(), []))
        self.reply(c, name, p, {"qid": p.get("qid"), "result": 1})

    def m_getversion(self, c, name, p):
        # no "extensions": a real server announces none of ours
        self.reply(c, name, p, {"qid": p.get("qid"), "result": 1,
                                "version": {"dated": 161116, "build": "2.11.1.161116",
                                            "webserverport": 80},
                                "alloweddbstoredprocs": {}})

    def m_getmyuserinfo(self, c, name, p):
        u = c.user
        self.reply(c, name, p, {"qid": p.get("qid"), "result": 1,
                                "mainpbxnumber": u.number, "username": u.name,
                                "hasline": True, "lineid": u.lineid,
                                "linenumber": u.number, "isoperator": True})

    def m_getuserstate(self, c, name, p):
        out = c.user.state_fields(p.get("userlogin"))
        out["qid"] = p.get("qid")
        self.reply(c, name, p, out)

    def m_getextendedlineinfo(self, c, name, p):
        self.reply(c, name, p, {"qid": p.get("qid"), "result": 1,
                                "linestatestr": c.user.line, "abonent": {},
                                "chainid": NO_CHAIN, "isflashing": False,
                                "timertalklensec": 0})

    def m_getpbxnumbers(self, c, name, p):
        out = {"qid": p.get("qid")}
        for k in ("userid", "userlogin", "mode"):
            if k in p:
                out[k] = p[k]
        numbers = []
        for u in self.users:
            online = any(x.user is u for x in self.conns.values())
            code = u.state if online else 0
            numbers.append({"id": u.userid, "number": u.number, "caption": u.name,
                            "state": str(code), "statestr": STATE_STR.get(code, ""),
                            "type": "0", "typestr": "intRule", "isgroup": False,
                            "departmentid": NO_CHAIN, "department": ""})
        numbers.append({"id": "5A1C7D3E-6B2F-4C8A-9E0D-1F2A3B4C5D6E", "number": "600",
                        "caption": "IVR", "state": 5, "statestr": "usFullbusy",
                        "type": 3, "typestr": "intIVR", "isgroup": False,
                        "departmentid": NO_CHAIN, "department": ""})
        out["numbers"] = numbers
        self.reply(c, name, p, out)

    def m_setuserstate(self, c, name, p):
        u = c.user
        if name == "entercallcenter":
            p = dict(p, oncallcenter=True)
        elif name == "exitcallcenter":
            p = dict(p, oncallcenter=False)
        err, changed = self.apply_state(u, p)
        if err:
            return self.reply(c, name, p, {"qid": p.get("qid"), "result": 0, "errormsg": err})
        out = {"qid": p.get("qid"), "result": 1}
        out.update(u.state_fields(p.get("userlogin")))
        self.reply(c, name, p, out)
        if changed:
            self.push(u, "userstatechanged", dict(u.state_fields(), qid=fresh_qid()))

    m_entercallcenter = m_exitcallcenter = m_setuserstate

    def apply_state(self, u, p):
        """Validate all, then apply; (refusal text or None, changed)."""
        state, inside, redirect = u.state, u.oncallcenter, u.onredirect
        for k in ("oncallcenter", "onredirect"):
            if k in p and not isinstance(p[k], bool):
                return "Bad request. Invalid " + k, False
        if "oncallcenter" in p:
            if p["oncallcenter"] and not inside:
                taken = sum(1 for x in self.users if x is not u and x.oncallcenter)
                if taken >= self.licenses:
                    return "No free call-center licenses", False
            inside = p["oncallcenter"]
        if "onredirect" in p:
            if p["onredirect"] and not u.redirect_number:
                return "Redirect number is not set", False
            redirect = p["onredirect"]
        if "userstateid" in p:
            v = p["userstateid"]
            if isinstance(v, str) and v.isdigit():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool):
                return "Bad request. Invalid userstateid", False
            if v not in SETTABLE:
                return "User state %d cannot be set" % v, False
            if v == 2 and not inside:
                return "Break is allowed only in the call-center", False
            state = v
        elif state == 2 and not inside:
            state = 1                # leaving the call-center ends the break
        changed = (state, inside, redirect) != (u.state, u.oncallcenter, u.onredirect)
        u.state, u.oncallcenter, u.onredirect = state, inside, redirect
        return None, changed

    # ---- control directory ---------------------------------------------------

    def poll_control(self):
        if not self.control:
            return
        try:
            names = sorted(n for n in os.listdir(self.control) if n.endswith(".json"))
        except OSError:
            return
        for n in names:
            path = os.path.join(self.control, n)
            try:
                with open(path, encoding="utf-8") as f:
                    cmd = json.load(f)
            except (OSError, ValueError) as e:
                cmd = None
                print("fake_oktell: control %s: %s" % (n, e), file=sys.stderr)
            try:
                os.remove(path)
            except OSError:
                pass
            if isinstance(cmd, dict):
                self.command(cmd)

    def command(self, cmd):
        self.write_log({"control": cmd})
        user = self.find_user(cmd.get("user"))
        if "user" in cmd and user is None:
            print("fake_oktell: control: no user %r" % (cmd["user"],), file=sys.stderr)
        elif "event" in cmd:
            payload = dict(cmd.get("payload") or {})
            payload.setdefault("qid", fresh_qid())
            if user:
                payload.setdefault("userlogin", user.login)
                payload.setdefault("userid", user.userid)
            self.push(user, cmd["event"], payload)
        elif "override" in cmd:
            self.overrides[str(cmd["override"]).lower()] = dict(cmd.get("fields") or {})
        elif "line" in cmd and user:
            user.line = cmd["line"]
            self.push(user, "linestatechanged", {"qid": fresh_qid()})   # §6.4: no fields
        elif "drop" in cmd:
            victim = self.find_user(cmd["drop"])
            for c in list(self.conns.values()):
                if victim is not None and c.user is victim:
                    self.drop(c)
        else:
            print("fake_oktell: unknown control command %r" % (cmd,), file=sys.stderr)


def main(argv):
    opts = {}
    args = iter(argv)
    for a in args:
        if a not in ("--config", "--log", "--control"):
            sys.exit("usage: fake_oktell.py [--config FILE] [--log FILE] [--control DIR]")
        opts[a] = next(args, None)
    config = DEFAULT_CONFIG
    if opts.get("--config"):
        with open(opts["--config"], encoding="utf-8") as f:
            config = json.load(f)
    server = Server(config, opts.get("--log"), opts.get("--control"))
    print("PORT %d" % server.listener.getsockname()[1], flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
