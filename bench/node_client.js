// bench/node_client.js - the Node baseline of bench/client.lua: Node + ws
// (Debian's node-ws; NODE_PATH=/usr/share/nodejs) speaking the wire the way
// our client does (src/core/session.c): the handshake ping, the login
// (Password / password: md5 hex of the password and of its lower case;
// ASCII passwords only, so no cp1251 step), one subscribeevent per event
// group our client subscribes to, all at once, then `getuserstate`
// requests, each a JSON text message ["getuserstate", {"userlogin", "qid"}]
// with a decimal qid of its own, the replies matched by qid.
//
// usage: node bench/node_client.js URL LOGIN N DEPTH
// 1,000 requests warm up, then N with DEPTH in flight; prints "rate R emu E
// self S": R requests/s; E the CPU time of the emulator (pid $EMU_PID)
// during the timed part over its length (-1 unknown); S the same of this
// process (all its threads).
'use strict';
const WebSocket = require('ws');
const crypto = require('crypto');

const [url, login, nArg, depthArg] = process.argv.slice(2);
const N = parseInt(nArg, 10);
const DEPTH = parseInt(depthArg, 10);
if (!url || !login || !(N > 0) || !(DEPTH > 0)) {
  process.stderr.write('usage: node bench/node_client.js URL LOGIN N DEPTH\n');
  process.exit(2);
}
const WARM = 1000;
const PASSWORD = '123';
// what our client subscribes to (session.c: the protocol table's groups)
const SUBS = ['dlgcard', 'userstatechanged', 'linestatechanged',
  'phoneevent_ringstarted', 'phoneevent_ringstopped', 'phoneevent_commstarted',
  'phoneevent_commstopped', 'phoneevent_acmcallstarted', 'phoneevent_acmcallstopped',
  'phoneevent_ivrstarted', 'phoneevent_ivrstopped', 'flashstatechanged',
  'confcompositionchanged', 'confcompetitorstatechanged', 'pbxnumberstatechanged',
  'customevent'];

// Seconds of CPU the emulator (pid $EMU_PID) used so far; -1 unknown.
function emuCpu() {
  const pid = process.env.EMU_PID;
  if (!pid) return -1;
  try {
    const s = require('fs').readFileSync('/proc/' + pid + '/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
  } catch (e) { return -1; }
}

const md5 = (s) => crypto.createHash('md5').update(s, 'latin1').digest('hex');
const ws = new WebSocket(url, { perMessageDeflate: false });
let nextQid = 1;
const pending = new Map(); // qid -> what to do with the reply

function send(method, params, onReply) {
  const qid = String(nextQid++);
  params.qid = qid;
  pending.set(qid, onReply);
  ws.send(JSON.stringify([method, params]));
}

function fail(msg) {
  process.stderr.write('node_client: ' + msg + '\n');
  process.exit(1);
}

// Keep `depth` getuserstate requests in flight until n replies came.
function run(n, depth, done) {
  let sent = 0;
  let got = 0;
  const onReply = () => {
    got++;
    if (got === n) { done(); return; }
    if (sent < n) { sent++; send('getuserstate', { userlogin: login }, onReply); }
  };
  while (sent < n && sent < depth) { sent++; send('getuserstate', { userlogin: login }, onReply); }
}

ws.on('message', (data) => {
  let msg;
  try { msg = JSON.parse(data); } catch (e) { fail('bad JSON from the server'); }
  const obj = msg[1] || {};
  const f = pending.get(obj.qid);
  if (f) { pending.delete(obj.qid); f(msg[0], obj); }
  // anything else is an event: dropped
});
ws.on('error', (e) => fail(String(e && e.message || e)));
ws.on('close', () => { if (!ws.finished) fail('connection closed'); });
ws.on('open', () => {
  send('ping', {}, () => {
    send('login', { userlogin: login, Password: md5(PASSWORD), password: md5(PASSWORD.toLowerCase()),
      showid: 1 }, (name, r) => {
      if (r.result !== 1 && r.result !== '1') fail('login refused: ' + JSON.stringify(r));
      let waiting = SUBS.length;
      for (const s of SUBS) {
        send('subscribeevent', { eventmethod: [s] }, () => {
          if (--waiting) return;
          run(WARM, DEPTH, () => {
            const cpu0 = emuCpu();
            const self0 = process.cpuUsage();
            const t0 = process.hrtime.bigint();
            run(N, DEPTH, () => {
              const dt = Number(process.hrtime.bigint() - t0) / 1e9;
              const cpu1 = emuCpu();
              const busy = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / dt : -1;
              const self = process.cpuUsage(self0);
              const selfBusy = (self.user + self.system) / 1e6 / dt;
              process.stdout.write('rate ' + (N / dt).toFixed(1) + ' emu ' + busy.toFixed(3) +
                ' self ' + selfBusy.toFixed(3) + '\n');
              ws.finished = true;
              ws.close();
            });
          });
        });
      }
    });
  });
});
