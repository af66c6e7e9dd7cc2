// A codev.v1 test client and HTTP helpers.
//
//   const c = await Client.connect(srv.wsUrl, { name: 'Léa' });
//   const welcome = await c.hello(groupId, key);         // welcome or error
//   const ack = await c.send({ type: 'hand_raise' });    // id assigned; ack or error
//   await c.ok({ type: 'hand_raise' });                  // same, asserts an ack
//   const ev = await c.next((m) => m.type === 'hands');  // consumes from the inbox
//   await c.barrier();                                    // all queued before has arrived
//   await c.expectNoneAfterBarrier((m) => m.type !== 'tick'); // and nothing else did
//
// Every server message is validated against proto/schema/server/*.json;
// schema violations, seq disorder and malformed frames are recorded in
// c.violations (tests assert it stays empty: assertClean()). Replies (ack
// or error with the id of a pending send) resolve that send and do not
// enter the inbox; everything else does.
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { validateServerMessage, validateClientMessage, validateHttp } from './schemas.mjs';

export const PROTOCOL = 'codev.v1';
const DEFAULT_TIMEOUT = 3000;
/** The type of barrier(): no command has it, so the server refuses it (unknown_type) and changes nothing. */
const BARRIER_TYPE = 'test_barrier';
let clientCounter = 0;

/** Messages the server sends without seq (state that is not a command's effect). */
const SEQLESS = new Set(['welcome', 'ack', 'error', 'tick', 'presence', 'member_joined', 'session_opened', 'group_member_removed',
    'group_updated', 'display_welcome', 'facilitator_offer']);

export const isTick = (m) => m.type === 'tick';
export const isPresence = (m) => m.type === 'presence';
/** Any message but the background ones (ticks, presence). */
export const isSignificant = (m) => !isTick(m) && !isPresence(m);

export class Client {
    /**
     * Opens a WebSocket with subprotocol codev.v1. opts.name labels the
     * client in messages; opts.origin defaults to the server's own origin
     * (what a browser on the served page sends); opts.protocols overrides
     * the subprotocol list; opts.localAddress binds the client's side (e.g.
     * 127.0.0.2, another user than the 127.0.0.1 of the other clients);
     * opts.headers: more request headers (X-Forwarded-For...);
     * opts.insecure: accept a test certificate (wss).
     */
    static async connect(wsUrl, opts = {}) {
        const origin = opts.origin === undefined ? wsUrl.replace(/^ws/, 'http').replace(/\/ws(\?.*)?$/, '') : opts.origin;
        const wsOpts = { ...(origin ? { origin } : {}), ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
            ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.insecure ? { rejectUnauthorized: false } : {}) };
        const ws = new WebSocket(wsUrl, opts.protocols || PROTOCOL, wsOpts);
        const c = new Client(ws, opts.name || `client${++clientCounter}`);
        await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
            ws.once('unexpected-response', (_req, res) =>
                reject(new Error(`${c.name}: WebSocket upgrade refused with HTTP ${res.statusCode}`)));
        });
        if (ws.protocol !== PROTOCOL && !opts.protocols)
            c.violations.push({ error: `server selected subprotocol "${ws.protocol}", expected ${PROTOCOL}` });
        return c;
    }

    constructor(ws, name) {
        this.ws = ws;
        this.name = name;
        this.tag = `${name.replace(/[^A-Za-z0-9]/g, '') || 'c'}-${Math.random().toString(36).slice(2, 8)}`;
        this.counter = 0;
        this.inbox = [];        // unconsumed messages (not replies)
        this.log = [];          // every server message, in order
        this.frames = 0;        // frames received
        this.arrayFrames = 0;   // frames that held an array
        this.violations = [];   // { msg?, error|errors }
        this.pending = new Map(); // command id -> { resolve, reject, timer }
        this.waiters = [];      // { pred, resolve, reject, timer }
        this.lastSeq = 0;       // highest event seq seen in the current session
        this.snapshotSeq = null; // seq of the last welcome/session_opened snapshot
        this.staleEvents = [];  // events with seq <= the snapshot's seq, received after it
        this.seqWaiters = [];
        this.welcome = null;    // the last welcome
        this.room = null;       // the last snapshot (welcome or session_opened)
        this.cards = new Map(); // card id -> card, mirrored from snapshot + card events
        this.memberId = null;
        this.accepted = [];     // commands this client sent that were acked
        this.closeInfo = null;
        this.closed = new Promise((resolve) => {
            ws.on('close', (code, reason) => {
                this.closeInfo = { code, reason: reason.toString() };
                for (const p of this.pending.values()) {
                    clearTimeout(p.timer);
                    p.reject(new Error(`${this.name}: connection closed (${code}) before the reply`));
                }
                this.pending.clear();
                resolve(this.closeInfo);
            });
        });
        ws.on('error', (e) => this.violations.push({ error: `${this.name}: socket error ${e.message}` }));
        ws.on('message', (data, isBinary) => this._frame(data, isBinary));
    }

    _frame(data, isBinary) {
        this.frames++;
        if (isBinary) {
            this.violations.push({ error: 'the server sent a binary frame' });
            return;
        }
        let parsed;
        try {
            parsed = JSON.parse(data.toString('utf8'));
        } catch (e) {
            this.violations.push({ error: `the server sent a frame that is not JSON: ${data.toString().slice(0, 200)}` });
            return;
        }
        if (Array.isArray(parsed)) {
            this.arrayFrames++;
            if (parsed.length === 0) this.violations.push({ error: 'the server sent an empty array frame' });
            for (const m of parsed) this._message(m);
        } else {
            this._message(parsed);
        }
    }

    _message(msg) {
        const errors = validateServerMessage(msg);
        if (errors.length) this.violations.push({ msg, errors });
        if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return;
        this.log.push(msg);
        this._track(msg);
        if ((msg.type === 'ack' || msg.type === 'error') && typeof msg.id === 'string' && this.pending.has(msg.id)) {
            const p = this.pending.get(msg.id);
            this.pending.delete(msg.id);
            clearTimeout(p.timer);
            p.resolve(msg);
            return;
        }
        for (let i = 0; i < this.waiters.length; i++) {
            const w = this.waiters[i];
            if (w.pred(msg)) {
                this.waiters.splice(i, 1);
                clearTimeout(w.timer);
                w.resolve(msg);
                return;
            }
        }
        this.inbox.push(msg);
    }

    _track(msg) {
        if (msg.type === 'welcome') {
            this.welcome = msg;
            this.memberId = msg.you?.member_id ?? this.memberId;
            this._snapshot(msg.room);
        } else if (msg.type === 'session_opened') {
            this._snapshot(msg.room);
        } else if (!SEQLESS.has(msg.type) && Number.isInteger(msg.seq)) {
            if (this.snapshotSeq !== null && msg.seq <= this.snapshotSeq) {
                this.staleEvents.push(msg);
            } else if (msg.seq <= this.lastSeq) {
                this.violations.push({ msg, error: `seq ${msg.seq} after seq ${this.lastSeq}: event seqs must only increase` });
            } else {
                this.lastSeq = msg.seq;
            }
            if (msg.type === 'card_added' || msg.type === 'card_updated') this.cards.set(msg.card.id, msg.card);
            if (msg.type === 'card_removed') this.cards.delete(msg.card_id);
            if (msg.type === 'mark' && this.cards.has(msg.card_id))
                this.cards.set(msg.card_id, { ...this.cards.get(msg.card_id), marked: msg.marked });
            this.seqWaiters = this.seqWaiters.filter((w) => {
                if (this.lastSeq < w.seq) return true;
                clearTimeout(w.timer);
                w.resolve();
                return false;
            });
        }
    }

    _snapshot(room) {
        this.room = room || null;
        this.cards = new Map();
        if (!room) return;
        this.snapshotSeq = room.seq;
        this.lastSeq = room.seq;
        for (const card of room.cards || []) this.cards.set(card.id, card);
    }

    /** A fresh command id: "<tag>-<n>". */
    nextId() {
        return `${this.tag}-${++this.counter}`;
    }

    /** Sends a raw text frame (string) or binary frame (Buffer with binary: true). */
    sendRaw(data, { binary = false } = {}) {
        this.ws.send(data, { binary });
    }

    /** Sends a JSON value as is (no id, no schema check, no reply tracking). */
    sendJson(value) {
        this.ws.send(JSON.stringify(value));
    }

    /**
     * Sends a command (an id is assigned when absent) and resolves with the
     * ack or error carrying that id. The command is checked against the
     * client schemas unless opts.unchecked (for deliberately bad commands).
     */
    send(cmd, { timeoutMs = DEFAULT_TIMEOUT, unchecked = false } = {}) {
        const msg = { ...cmd };
        if (msg.id === undefined) msg.id = this.nextId();
        if (!unchecked) {
            const errors = validateClientMessage(msg);
            if (errors.length) throw new Error(`${this.name}: invalid command ${JSON.stringify(msg)}: ${errors.join('; ')}`);
        }
        if (this.pending.has(msg.id)) throw new Error(`${this.name}: a command with id ${msg.id} is already pending`);
        if (this.ws.readyState !== WebSocket.OPEN)
            return Promise.reject(new Error(`${this.name}: cannot send ${msg.type}: the connection is not open (${JSON.stringify(this.closeInfo)})`));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(msg.id);
                reject(new Error(`${this.name}: no reply to ${msg.type} ${msg.id} within ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(msg.id, {
                resolve: (reply) => {
                    if (reply.type === 'ack') this.accepted.push({ cmd: msg, ack: reply });
                    resolve(reply);
                },
                reject,
                timer,
            });
            this.ws.send(JSON.stringify(msg));
        });
    }

    /** send(), asserting the reply is an ack; resolves with the ack. */
    async ok(cmd, opts) {
        const reply = await this.send(cmd, opts);
        assert.equal(reply.type, 'ack', `${this.name}: ${cmd.type} refused: ${JSON.stringify(reply)}`);
        return reply;
    }

    /** send(), asserting the reply is the error code; resolves with the error. */
    async refused(cmd, code, opts) {
        const id = cmd.id ?? this.nextId();
        const reply = await this.send({ ...cmd, id }, opts);
        assert.equal(reply.type, 'error', `${this.name}: ${cmd.type} expected ${code}, got ${JSON.stringify(reply)}`);
        assert.equal(reply.code, code, `${this.name}: ${cmd.type}: ${JSON.stringify(reply)}`);
        assert.equal(reply.id, id);
        return reply;
    }

    /** Sends hello and resolves with the welcome or the error that answers it. */
    async hello(groupId, memberKey, lastSeq, { timeoutMs = DEFAULT_TIMEOUT } = {}) {
        const msg = { type: 'hello', group_id: groupId, member_key: memberKey };
        if (lastSeq !== undefined) msg.last_seq = lastSeq;
        this.ws.send(JSON.stringify(msg));
        return this.next((m) => m.type === 'welcome' || (m.type === 'error' && m.id === undefined), timeoutMs);
    }

    /**
     * Resolves with (and consumes) the first inbox message matching pred,
     * waiting up to timeoutMs for it to arrive.
     */
    next(pred = () => true, timeoutMs = DEFAULT_TIMEOUT) {
        const i = this.inbox.findIndex(pred);
        if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
        return new Promise((resolve, reject) => {
            const w = { pred, resolve, reject };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                const seen = this.inbox.filter(isSignificant).map((m) => JSON.stringify(m).slice(0, 160));
                reject(new Error(`${this.name}: no matching message within ${timeoutMs} ms; ` +
                    `pred ${pred.toString().slice(0, 120)}; inbox: [${seen.join(', ')}]`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    /** next() for an event of this type (and optional extra predicate). */
    nextEvent(type, pred = () => true, timeoutMs) {
        return this.next((m) => m.type === type && pred(m), timeoutMs);
    }

    /**
     * Resolves once the server has answered a command sent now on this
     * connection. The server handles a connection's frames in order and
     * queues every event for a recipient the moment it applies a command,
     * so by then every message it queued for this client before (the
     * events of any command it handled earlier, from any connection, such
     * as one whose reply its sender has already awaited) is in the inbox.
     * The command is one the server refuses without any effect (a type it
     * does not know); its reply is consumed, never put in the inbox.
     */
    async barrier(timeoutMs = DEFAULT_TIMEOUT) {
        const reply = await this.send({ type: BARRIER_TYPE }, { unchecked: true, timeoutMs });
        assert.equal(reply.type, 'error', `${this.name}: the barrier was accepted: ${JSON.stringify(reply)}`);
        assert.ok(['unknown_type', 'rate_limited'].includes(reply.code), `${this.name}: barrier answered ${JSON.stringify(reply)}`);
    }

    /**
     * Asserts that no inbox message matches pred once a barrier() has
     * passed: whatever the server sent before that barrier has arrived, so
     * an absence now is an absence, not a slow machine.
     */
    async expectNoneAfterBarrier(pred = isSignificant) {
        await this.barrier();
        const hits = this.inbox.filter(pred);
        assert.deepEqual(hits, [], `${this.name} received unexpected messages`);
    }

    /** Resolves once an event with seq >= seq arrived (or was in the snapshot). */
    waitSeq(seq, timeoutMs = DEFAULT_TIMEOUT) {
        if (this.lastSeq >= seq) return Promise.resolve();
        return new Promise((resolve, reject) => {
            const w = { seq, resolve };
            w.timer = setTimeout(() => {
                this.seqWaiters = this.seqWaiters.filter((x) => x !== w);
                reject(new Error(`${this.name}: seq ${seq} not reached within ${timeoutMs} ms (at ${this.lastSeq})`));
            }, timeoutMs);
            this.seqWaiters.push(w);
        });
    }

    /** Empties the inbox; returns what it held. */
    drain() {
        return this.inbox.splice(0);
    }

    /** Inbox messages matching pred, without consuming them. */
    peek(pred = () => true) {
        return this.inbox.filter(pred);
    }

    /** Every message received so far (replies included) matching pred. */
    received(pred = () => true) {
        return this.log.filter(pred);
    }

    /** Asserts no schema violation, seq disorder or bad frame was recorded. */
    assertClean() {
        assert.deepEqual(this.violations, [], `${this.name}: protocol violations`);
    }

    /** Closes the socket and resolves when it is closed. */
    async close(code = 1000) {
        if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
        return this.closed;
    }

    /** Drops the TCP connection without a close handshake. */
    terminate() {
        this.ws.terminate();
        return this.closed;
    }

    get isOpen() {
        return this.ws.readyState === WebSocket.OPEN;
    }
}

// ---------------------------------------------------------------- HTTP

/**
 * One HTTP call. body: a value sent as JSON, or rawBody: a string sent as
 * is. key: sent as "Authorization: Bearer <key>". schema: the http schema
 * of a 2xx body; any 4xx/5xx body is checked against http/error. Resolves
 * with { status, headers, text, body, schemaErrors }.
 */
export async function api(baseUrl, method, path, { body, rawBody, key, schema, headers = {} } = {}) {
    const h = { ...headers };
    let payload;
    if (rawBody !== undefined) payload = rawBody;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type'))
        h['Content-Type'] = 'application/json';
    if (key !== undefined) h.Authorization = `Bearer ${key}`;
    const res = await fetch(baseUrl + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed;
    const schemaErrors = [];
    try {
        parsed = text.length ? JSON.parse(text) : undefined;
    } catch {
        schemaErrors.push(`body is not JSON: ${text.slice(0, 200)}`);
    }
    if (parsed !== undefined) {
        if (res.status >= 400) schemaErrors.push(...validateHttp('error', parsed));
        else if (schema) schemaErrors.push(...validateHttp(schema, parsed));
    }
    return { status: res.status, headers: res.headers, text, body: parsed, schemaErrors };
}

function expectStatus(res, status, what) {
    assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
    assert.deepEqual(res.schemaErrors, [], `${what}: body does not match its schema`);
    return res.body;
}

/** POST /api/groups; asserts 201 and the schema; resolves with the body. */
export async function createGroup(baseUrl, overrides = {}) {
    const body = { name: 'Managers Lyon', facilitator_name: 'Claire', language: 'fr', format: 90, ...overrides };
    assert.deepEqual(validateHttp('create_group_request', body), []);
    return expectStatus(await api(baseUrl, 'POST', '/api/groups', { body, schema: 'create_group_response' }), 201, 'createGroup');
}

/** POST /api/groups/{id}/members; asserts 201 and the schema. */
export async function joinGroup(baseUrl, groupId, inviteCode, displayName) {
    const body = { invite_code: inviteCode, display_name: displayName };
    assert.deepEqual(validateHttp('join_request', body), []);
    const res = await api(baseUrl, 'POST', `/api/groups/${groupId}/members`, { body, schema: 'join_response' });
    const out = expectStatus(res, 201, `joinGroup ${displayName}`);
    assert.equal(out.group_id, groupId);
    return out;
}

/** POST /api/groups/{id}/sessions with the facilitator's key; asserts 201. */
export async function openSession(baseUrl, groupId, key) {
    return expectStatus(await api(baseUrl, 'POST', `/api/groups/${groupId}/sessions`, { body: {}, key, schema: 'open_session_response' }), 201, 'openSession');
}

/** GET /api/groups/{id} with a member's key; asserts 200. */
export async function getGroup(baseUrl, groupId, key) {
    return expectStatus(await api(baseUrl, 'GET', `/api/groups/${groupId}`, { key, schema: 'group' }), 200, 'getGroup');
}

/**
 * GET /api/health on a connection of its own (no keep-alive) from
 * 127.0.0.2, so that it never takes a place under the per-address limits
 * of the clients under test (127.0.0.1). Resolves with the body; asserts
 * 200 and the schema.
 */
export async function health(baseUrl) {
    const { request } = await import(baseUrl.startsWith('https:') ? 'node:https' : 'node:http');
    const res = await new Promise((resolve, reject) => {
        const req = request(`${baseUrl}/api/health`,
            { agent: false, localAddress: '127.0.0.2', rejectUnauthorized: false }, (r) => {
                let text = '';
                r.setEncoding('utf8');
                r.on('data', (d) => { text += d; });
                r.on('end', () => resolve({ status: r.statusCode, text }));
                r.on('error', reject);
            });
        req.on('error', reject);
        req.end();
    });
    assert.equal(res.status, 200, `GET /api/health: HTTP ${res.status} ${res.text}`);
    const body = JSON.parse(res.text);
    assert.deepEqual(validateHttp('health', body), [], 'GET /api/health: body does not match its schema');
    return body;
}

/**
 * Resolves once the server counts n open connections besides the health
 * request that asks (/api/health "connections" counts that one too): the
 * server's own word that it has seen connections close (or open). n may
 * be a predicate of that count instead. Polls; rejects after timeoutMs.
 */
export async function waitConnections(baseUrl, n, timeoutMs = 10000) {
    const ok = typeof n === 'function' ? n : (k) => k === n;
    let seen;
    for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
        seen = (await health(baseUrl)).connections - 1;
        if (ok(seen)) return seen;
    }
    throw new Error(`the server counts ${seen} other connections, not ${n}, after ${timeoutMs} ms`);
}

/** Resolves once cond() is true (polled every 10 ms); rejects naming what after timeoutMs. */
export async function waitFor(cond, what, timeoutMs = 5000) {
    for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 10)))
        if (cond()) return;
    if (!cond()) throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/**
 * An HTTP request to srv from a chosen local address (another client: loopback
 * is 127.0.0.0/8 and codevd listens on every interface), on a connection of
 * its own. body (JSON) and key (a member key) are optional; headers are added.
 * Resolves with { status, headers, body (parsed JSON, or undefined), text }.
 */
export function requestFrom(srv, method, urlPath, { body, key, headers = {}, from = '127.0.0.1' } = {}) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const all = { ...headers };
    if (payload !== undefined) {
        all['Content-Type'] = 'application/json';
        all['Content-Length'] = Buffer.byteLength(payload);
    }
    if (key) all.Authorization = `Bearer ${key}`;
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: srv.port, method, path: urlPath, headers: all, localAddress: from, agent: false },
            (res) => {
                let text = '';
                res.on('data', (d) => { text += d; });
                res.on('end', () => {
                    let parsed;
                    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
                    resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
                });
            });
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
    });
}

/** The bytes of a data dir's codevd.db and, when present, its -wal and -shm. */
export function storeBytes(dataDir) {
    return Buffer.concat(['codevd.db', 'codevd.db-wal', 'codevd.db-shm']
        .map((f) => path.join(dataDir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

/** Whether bytes hold text (UTF-8). */
export const holds = (bytes, text) => bytes.includes(Buffer.from(text, 'utf8'));
