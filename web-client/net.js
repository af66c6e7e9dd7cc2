// net.js - the one WebSocket of the page (proto/README.md section 2).
//
// - Connects to ws(s)://<this host>/ws with subprotocol codev.v1 and sends
//   `hello` (with last_seq once we have seen events) as its first message.
// - Server frames hold one object or an array of objects; each is passed to
//   onMessage in order.
// - Commands get an id (a random per-page tag + a counter). A command stays
//   pending until its `ack` or `error`; commands issued while disconnected
//   wait, and after every `welcome` all pending commands are (re)sent with
//   their same id, in order: the server applies a resent id only once.
// - A lost connection is retried with exponential backoff and jitter. A
//   refused hello whose code means "this key will never work" stops retrying.
// - Close 4009 (moved: a cluster's other node holds the group now) reconnects
//   at once; a command refused with `moved` was not applied and is resent
//   after the next welcome.
// - A server that restarts says so (close 1001, reason "going_away
//   retry_ms=N"): the first attempt comes after N/2 to N ms (spread, so that
//   a crowd does not come back at once), then the usual backoff.

import { PROTOCOL, wsUrl, takeEarly } from './early.js';

export { wsUrl };

const FATAL_HELLO = new Set(['unknown_group', 'bad_key', 'member_removed', 'bad_field',
    'missing_field', 'bad_display', 'too_many_displays']);
const BACKOFF_BASE_MS = 500;
const CLOSE_MOVED = 4009; // a cluster: another node holds the group now
const BACKOFF_MAX_MS = 15000;
// With a running clock the server ticks every second: this much silence
// means the connection is dead even if the browser has not noticed yet.
const SILENCE_MS = 8000;

function randomTag() {
    const b = new Uint8Array(6);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The retry hint of a server going away (close 1001, "going_away
 * retry_ms=N"), in ms, or null: any other close, or a hint out of 0..60000.
 */
export function goingAwayDelay(code, reason, rand = Math.random) {
    const m = code === 1001 && /^going_away retry_ms=(\d{1,5})$/.exec(reason || '');
    if (!m || Number(m[1]) > 60000) return null;
    const hint = Number(m[1]);
    return Math.round(hint / 2 + rand() * (hint / 2));
}

/** Delay before reconnect attempt n (0-based): half fixed, half random. */
export function backoffDelay(attempt, rand = Math.random) {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
    return Math.round(cap / 2 + rand() * (cap / 2));
}

export class Connection {
    /**
     * opts.hello(): the hello message to send (called at every connect).
     * opts.onMessage(msg): every server message, acks and errors included.
     * opts.onStatus(status, detail): 'connecting' | 'open' | 'lost' | 'fatal'.
     * opts.expectTicks(): true while the step clock runs (ticks expected).
     */
    constructor(opts) {
        this.opts = opts;
        this.url = opts.url || wsUrl();
        this.tag = randomTag();
        this.counter = 0;
        this.pending = new Map(); // id -> {msg, resolve, reject}
        this.ws = null;
        this.welcomed = false;
        this.attempt = 0;
        this.timer = null;
        this.watchdog = null;
        this.lastFrameAt = 0;
        this.stopped = false;
        this.status = 'idle';
        this.onOnline = () => { if (this.status === 'lost') this.reconnectNow(); };
        window.addEventListener('online', this.onOnline);
    }

    setStatus(status, detail) {
        this.status = status;
        if (this.opts.onStatus) this.opts.onStatus(status, detail);
    }

    start() {
        this.stopped = false;
        this.open();
    }

    /** Stops for good (removed from the group, page leaving the room). */
    stop() {
        this.stopped = true;
        clearTimeout(this.timer);
        clearInterval(this.watchdog);
        window.removeEventListener('online', this.onOnline);
        if (this.ws) {
            const ws = this.ws;
            this.ws = null;
            try { ws.close(1000); } catch { /* already closed */ }
        }
        for (const p of this.pending.values()) p.reject(Object.assign(new Error('stopped'), { code: 'stopped' }));
        this.pending.clear();
    }

    open() {
        clearTimeout(this.timer);
        this.welcomed = false;
        this.setStatus(this.attempt === 0 ? 'connecting' : 'lost', { attempt: this.attempt, reconnecting: true });
        let ws;
        try {
            // A socket early.js opened while the page loaded, else a new one.
            ws = (this.attempt === 0 && takeEarly(this.url)) || new WebSocket(this.url, PROTOCOL);
        } catch {
            this.scheduleReconnect();
            return;
        }
        this.ws = ws;
        ws.onopen = () => {
            if (ws !== this.ws) return;
            this.lastFrameAt = Date.now();
            ws.send(JSON.stringify(this.opts.hello()));
        };
        ws.onmessage = (e) => {
            if (ws !== this.ws) return;
            this.lastFrameAt = Date.now();
            if (typeof e.data !== 'string') return;
            let data;
            try {
                data = JSON.parse(e.data);
            } catch {
                return;
            }
            const list = Array.isArray(data) ? data : [data];
            for (const msg of list) if (msg && typeof msg === 'object') this.handle(msg);
        };
        ws.onclose = (e) => {
            if (ws !== this.ws) return;
            this.ws = null;
            this.welcomed = false;
            clearInterval(this.watchdog);
            // 4009 moved: another node holds the group now; the router
            // reaches it at once (a cluster).
            if (!this.stopped && this.status !== 'fatal') {
                this.scheduleReconnect(e.code === CLOSE_MOVED ? 0 : goingAwayDelay(e.code, e.reason));
            }
        };
        ws.onerror = () => { /* onclose follows */ };
        if (ws.readyState === WebSocket.OPEN) ws.onopen();
    }

    /** hinted: the server's delay (going away), else the backoff's. */
    scheduleReconnect(hinted = null) {
        clearTimeout(this.timer);
        if (hinted !== null) this.attempt = 0; /* a restart, not a failure: the backoff starts again */
        const delay = hinted !== null ? hinted : backoffDelay(this.attempt);
        this.attempt += 1;
        this.setStatus('lost', { attempt: this.attempt, delay });
        this.timer = setTimeout(() => this.open(), delay);
    }

    reconnectNow() {
        if (this.stopped) return;
        clearTimeout(this.timer);
        if (this.ws) {
            const ws = this.ws;
            this.ws = null;
            try { ws.close(4000); } catch { /* ignore */ }
        }
        this.open();
    }

    /** Drops the socket as if the network failed (and reconnects). */
    drop() {
        if (this.ws) {
            try { this.ws.close(4001); } catch { /* ignore */ }
        }
    }

    handle(msg) {
        if (msg.type === 'welcome' || msg.type === 'display_welcome') {
            this.welcomed = true;
            this.attempt = 0;
            this.setStatus('open');
            this.opts.onMessage(msg);
            for (const [id, p] of this.pending) {
                if (!p.sent || p.sentOn !== this.ws) this.transmit(id, p);
            }
            clearInterval(this.watchdog);
            this.watchdog = setInterval(() => this.checkSilence(), 2000);
            return;
        }
        if (msg.type === 'error' && msg.code === 'moved' && this.pending.has(msg.id)) {
            // Not applied (another node holds the group now): sent again,
            // with its id, after the next welcome (close 4009 follows).
            this.pending.get(msg.id).sent = false;
            return;
        }
        if ((msg.type === 'ack' || msg.type === 'error') && msg.id !== undefined && this.pending.has(msg.id)) {
            const p = this.pending.get(msg.id);
            this.pending.delete(msg.id);
            if (!p.quiet) this.opts.onMessage(msg);
            if (msg.type === 'ack') p.resolve(msg);
            else p.reject(Object.assign(new Error(msg.code), { code: msg.code, server: msg }));
            return;
        }
        if (msg.type === 'error' && !this.welcomed && msg.id === undefined) {
            // The hello was refused.
            this.opts.onMessage(msg);
            if (FATAL_HELLO.has(msg.code)) {
                this.setStatus('fatal', { code: msg.code });
                const ws = this.ws;
                this.ws = null;
                if (ws) try { ws.close(1000); } catch { /* ignore */ }
            } else {
                this.drop();
            }
            return;
        }
        this.opts.onMessage(msg);
    }

    checkSilence() {
        if (!this.ws || !this.welcomed) return;
        if (this.opts.expectTicks && this.opts.expectTicks() && Date.now() - this.lastFrameAt > SILENCE_MS) {
            this.drop();
        }
    }

    transmit(id, p) {
        if (!this.ws || !this.welcomed || this.ws.readyState !== WebSocket.OPEN) return;
        this.ws.send(JSON.stringify(p.msg));
        p.sent = true;
        p.sentOn = this.ws;
    }

    /**
     * Sends a command. Returns a promise for its ack; rejects with an Error
     * whose `code` is the server's error code. While disconnected the command
     * waits and is sent after the next welcome. opts.quiet: the answer goes
     * to the promise only, not to onMessage (a query such as question_check,
     * whose refusal is no news for the page).
     */
    send(type, fields = {}, opts = {}) {
        this.counter += 1;
        const id = `${this.tag}-${this.counter}`;
        const msg = { type, id, ...fields };
        return new Promise((resolve, reject) => {
            const p = { msg, resolve, reject, sent: false, sentOn: null, quiet: Boolean(opts.quiet) };
            this.pending.set(id, p);
            this.transmit(id, p);
        });
    }

    get pendingCount() {
        return this.pending.size;
    }
}
