// spec/oktelljs_check.js - runs the unmodified oktell.js (Oktell's browser
// client, Bpium/oktell-js 1.8.4; not part of this repository) under Node
// against a running emulator, with the npm `ws` package as its WebSocket:
// connect (its login event), read the user status, set it, read it back.
//
//   node spec/oktelljs_check.js OKTELL_JS URL [LOGIN PASSWORD [CONTROL]]
//   (NODE_PATH must reach the `ws` package)
//
// With CONTROL (the emulator's control channel, tcp:127.0.0.1:PORT, see
// bin/oktell-emu --control) it also works its call buttons against the
// emulator's call model: call (an outside number that answers; then a
// consultation call), toggle, transfer (consultative: the two parties
// joined), answer (an incoming call the control channel places) and
// endCall. The user's number must be dialable and the config must let the
// two outside numbers ring (they are told to answer through CONTROL).
//
// Prints one line per step and "oktell.js: OK" at the end; exit status 0 on
// success, 1 on failure. Only the browser globals oktell.js touches while
// connecting are faked (window, document.cookie, location, localStorage).
'use strict';
const fs = require('fs');
const vm = require('vm');
const WS = require('ws');

const [file, url, login = 'Peter', password = '123', control] = process.argv.slice(2);
if (!file || !url) {
  console.error('usage: node oktelljs_check.js OKTELL_JS URL [LOGIN PASSWORD]');
  process.exit(2);
}

globalThis.window = globalThis;
globalThis.document = {cookie: ''};
globalThis.location = {protocol: 'http:', host: 'localhost', hostname: 'localhost'};
globalThis.localStorage = {};
globalThis.navigator = {userAgent: 'node'};
// A browser-shaped WebSocket over ws 8: the socket lives in a private field,
// as a browser's does (oktell.js's getMyInfo deep-clones its own properties,
// and a Node EventEmitter's prototype-less internals would break that).
class BrowserWebSocket {
  #ws;
  constructor(u, protocols) {
    this.#ws = new WS(u, protocols);
    this.#ws.onopen = (ev) => this.onopen && this.onopen(ev);
    this.#ws.onmessage = (ev) => this.onmessage && this.onmessage({data: ev.data});
    this.#ws.onclose = (ev) => this.onclose && this.onclose({code: ev.code, reason: ev.reason});
    this.#ws.onerror = (ev) => this.onerror && this.onerror(ev);
  }
  get readyState() { return this.#ws.readyState; }
  get url() { return this.#ws.url; }
  get protocol() { return this.#ws.protocol; }
  send(d) { this.#ws.send(d); }
  close(code, reason) { this.#ws.close(code, reason); }
}
for (const [k, v] of Object.entries({CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3})) {
  BrowserWebSocket[k] = v;
  BrowserWebSocket.prototype[k] = v;
}
globalThis.WebSocket = BrowserWebSocket;

vm.runInThisContext(fs.readFileSync(file, 'utf8'), {filename: file});
const oktell = globalThis.oktell;

function fail(msg) {
  console.log('oktell.js: FAILED: ' + msg);
  process.exit(1);
}
const timer = setTimeout(() => fail('timed out'), control ? 30000 : 15000);

// The control channel: JSON Lines requests {id, cmd, args} -> {id, ok, result}.
function controlChannel(spec) {
  const m = /^tcp:([\d.]+):(\d+)$/.exec(spec || '');
  if (!m) fail('CONTROL must be tcp:127.0.0.1:PORT, got ' + spec);
  const sock = require('net').connect(Number(m[2]), m[1]);
  const waiting = new Map();
  let buf = '', next = 1;
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let msg;
      try { msg = JSON.parse(line); } catch (e) { continue; }
      const w = waiting.get(msg.id);
      if (w) { waiting.delete(msg.id); w(msg); }
    }
  });
  sock.on('error', (e) => fail('control channel: ' + e.message));
  return {
    cmd(cmd, args) {
      return new Promise((resolve) => {
        const id = next++;
        waiting.set(id, (msg) => {
          if (!msg.ok) fail('control ' + cmd + ': ' + JSON.stringify(msg));
          resolve(msg.result);
        });
        sock.write(JSON.stringify({id, cmd, args}) + '\n');
      });
    },
    close() { sock.end(); },
  };
}

// The call buttons: call, toggle, transfer, answer, endCall.
async function calls() {
  const ctl = controlChannel(control);
  const A = '74957654321', B = '74957654322', X = '74951234567';
  const cb = (fn, ...args) => new Promise((resolve) => fn(...args, resolve));
  const state = () => oktell.getState();
  const waitState = async (st, what) => {
    try { await waitFor(() => state() === st, 5000); } catch (e) {
      fail(what + ': state ' + state() + ', expected ' + st);
    }
  };
  if (process.env.OKTELL_DEBUG_STATES) oktell.on('stateChange', (n, o) => console.log('  state ' + o + ' -> ' + n));
  await ctl.cmd('abonent', {number: A, answer: 0});
  await ctl.cmd('abonent', {number: B, answer: 0});
  let r = await cb(oktell.call, A);
  if (!r || !r.result) fail('call ' + A + ' ' + JSON.stringify(r));
  // a click-to-call rings the operator's own phone first (backring)
  await waitState('backring', 'call');
  console.log('call(' + A + '): ' + state());
  r = await cb(oktell.answer);
  if (!r || !r.result) fail('answer the click-to-call ' + JSON.stringify(r));
  await waitState('talk', 'call');
  console.log('answer(): ' + state() + ' with ' + (oktell.getAbonents() || []).map((a) => a.phone || a.number).join(','));
  r = await cb(oktell.call, B);
  if (!r || !r.result) fail('consultation call ' + B + ' ' + JSON.stringify(r));
  await waitFor(() => state() === 'talk' && oktell.getHoldInfo() && oktell.getHoldInfo().hasHold, 5000)
    .catch(() => fail('consultation call: state ' + state() + ', hold ' + JSON.stringify(oktell.getHoldInfo())));
  const held = () => { const h = oktell.getHoldInfo(); return h && h.abonent && (h.abonent.phone || h.abonent.number); };
  console.log('call(' + B + ') during the talk: ' + state() + ', on hold ' + held());
  const before = held();
  oktell.toggle();
  await waitFor(() => held() && held() !== before, 5000)
    .catch(() => fail('toggle: on hold ' + held() + ', before ' + before));
  console.log('toggle(): on hold ' + held());
  oktell.transfer();
  await waitState('ready', 'transfer (consultative)');
  console.log('transfer(): ' + state() + ' (the parties joined)');
  const ring = waitFor(() => state() === 'ring', 5000);
  await ctl.cmd('call_in', {from: X, to: login});
  await ring.catch(() => fail('incoming call: state ' + state()));
  console.log('incoming call: ' + state());
  r = await cb(oktell.answer);
  if (!r || !r.result) fail('answer ' + JSON.stringify(r));
  await waitState('talk', 'answer');
  console.log('answer(): ' + state());
  oktell.endCall();
  await waitState('ready', 'endCall');
  console.log('endCall(): ' + state());
  ctl.close();
}

function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() > end) return reject(new Error('condition not met'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

let connected = false;
oktell.on('connect', () => { connected = true; });
oktell.on('connectError', (e) => fail('connectError ' + JSON.stringify(e)));

const t0 = Date.now();
oktell.connect({url: [url], login, password, debugMode: !!process.env.OKTELL_DEBUG, callback: async (res) => {
  try {
    if (!res || !res.result) fail('connect callback ' + JSON.stringify(res));
    await waitFor(() => connected, 3000);
    console.log('login event after ' + (Date.now() - t0) + ' ms');
    const info = oktell.getMyInfo();
    console.log('my info: login ' + info.login + ', userid ' + info.userid + ', number ' + info.number);
    await waitFor(() => oktell.getUserStatus() && oktell.getState(), 3000);
    console.log('status ' + oktell.getUserStatus() + ', state ' + oktell.getUserState() +
                ', phone ' + oktell.getState());
    if (!/^ready/.test(oktell.getUserStatus())) fail('status is not ready');
    const set = (status) => new Promise((resolve) => oktell.setUserStatus(status, null, resolve));
    let r = await set('dnd');
    if (!r || !r.result) fail('setUserStatus dnd ' + JSON.stringify(r));
    await waitFor(() => oktell.getUserStatus() === 'dnd', 3000);
    console.log('status after setUserStatus("dnd"): ' + oktell.getUserStatus());
    r = await set('readyCC');
    if (!r || !r.result) fail('setUserStatus readyCC ' + JSON.stringify(r));
    await waitFor(() => oktell.getUserStatus() === 'readyCC', 3000);
    console.log('status after setUserStatus("readyCC"): ' + oktell.getUserStatus());
    for (const st of ['break', 'ready']) {
      r = await set(st);
      if (!r || !r.result) fail('setUserStatus ' + st + ' ' + JSON.stringify(r));
      await waitFor(() => oktell.getUserStatus() === st, 3000);
      console.log('status after setUserStatus("' + st + '"): ' + oktell.getUserStatus());
    }
    if (oktell.getMyInfo().redirectNumber) {
      // the two-step redirect of fact sheet §5.4: dnd off the call-center,
      // then onredirect (the number came from getredirectrules)
      r = await set('redirect');
      if (!r || !r.result) fail('setUserStatus redirect ' + JSON.stringify(r));
      await waitFor(() => oktell.getUserStatus() === 'redirect', 3000);
      console.log('redirect number ' + oktell.getMyInfo().redirectNumber +
                  ', status after setUserStatus("redirect"): ' + oktell.getUserStatus());
    }
    if (control) await calls();
    let gone = false;
    oktell.on('disconnect', () => { gone = true; });
    oktell.disconnect();   // logout: the server must close the socket
    await waitFor(() => gone, 3000);
    console.log('disconnected after logout');
    clearTimeout(timer);
    console.log('oktell.js: OK');
    setTimeout(() => process.exit(0), 100);
  } catch (e) {
    fail(e.stack || String(e));
  }
}});
