// soak.mjs - the soak of issue 16: a real codevd for SOAK_MIN minutes under
// SOAK_CONNS members in SOAK_ROOMS rooms that run whole sessions in a loop
// (opening, topic, exposé, clarification, contract, consultation, synthesis,
// learning, close, next session), with SOAK_CHURN_PCT % of the connections
// closed and reopened every minute and a kill -9 of the server, restarted on
// the same data directory, every SOAK_KILL_EVERY_MIN minutes. It ends with
// integrity counts, the server's RSS and descriptors at each minute, one
// table, and TAP lines ("ok N - ..." / "not ok N - ..."); it exits 1 on any
// failed check. Run by tests/load/soak.sh (which raises the descriptor
// limit); tests/load/README.md ("Soak") documents it.
//
// Invariants the driver keeps so that every count it makes is exact:
//   - Every command it sends makes only public events (no note, mark,
//     recadrage, floor or hand): each member must see every seq of a
//     session, one by one.
//   - A room sends one command at a time, the next once the previous is
//     answered, and only while all its members are attached (welcomed): a
//     member that was away comes back with a welcome of the same session,
//     whose snapshot stands for the events it missed (proto/README.md 2.6).
//     session_open waits until every member has seen the previous close.
//   - A command left unanswered by a closed connection is resent with the
//     same id once its sender is back (2.6): a command the server had
//     committed must answer "duplicate", never apply twice.
//   - Every card's text carries a token "#r<room>s<session>c<n>" unique in
//     the run.
//
// What is counted (all must be 0):
//   lost        an acknowledged command whose seq some member never reached
//               (by an event or a snapshot of that session), or a snapshot
//               older than what the member had already seen (the server
//               forgot a record after a restart)
//   duplicated  a seq delivered twice on one connection, or one card token
//               under two card ids (a command applied twice)
//   reordered   a seq lower than the one before on one connection, or a new
//               command acknowledged with a seq not above the previous ack
//   missing     a gap in the seqs of one connection (seq > previous + 1),
//               or an acknowledged card absent from the member's cards
//               although it reached that seq while the session was open
// Besides: refused (a command of the script refused: every one is valid),
// progress (every room completed a session, every restart recovered), RSS
// (the largest sample after SOAK_WARMUP_MIN at most SOAK_RSS_GROWTH_PCT
// above the sample at SOAK_WARMUP_MIN) and descriptors (non-socket fds
// stay flat, socket fds follow the connections).
//
// Expected load: SOAK_CONNS WebSockets in this one Node process (about 15 KB
// each), one command per room every SOAK_PACE_MS on average, every server
// message parsed once (ticks skipped unparsed).
import WebSocket from 'ws';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lib/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const num = (k, d) => (env[k] === undefined || env[k] === '' ? d : Number(env[k]));
const MINUTES = num('SOAK_MIN', 30);
const CONNS = num('SOAK_CONNS', 10000);
const ROOMS = num('SOAK_ROOMS', 1250);
const M = Math.floor(CONNS / ROOMS);
const CHURN_PCT = num('SOAK_CHURN_PCT', 1);
const KILL_EVERY = num('SOAK_KILL_EVERY_MIN', 10);
/* SOAK_KILL_AT_MIN: "1,2.5": kills at these minutes instead. */
const KILL_AT = (env.SOAK_KILL_AT_MIN || '').split(/[ ,]+/).filter(Boolean).map(Number).sort((a, b) => a - b);
/* 7: three whole sessions of every room at the default pace (the RSS
 * settles then: tests/load/README.md, "Soak"). */
const WARMUP = num('SOAK_WARMUP_MIN', 7);
const RSS_GROWTH = num('SOAK_RSS_GROWTH_PCT', 5);
const PACE = num('SOAK_PACE_MS', 3000);
const SRCS = num('SOAK_SRCS', 4);
const PORT = env.SOAK_PORT ? Number(env.SOAK_PORT) : await freePort();
const FAULT = env.SOAK_FAULT || ''; /* "drop": the driver ignores one event (the checks must fail) */
const BIN = env.CODEVD_BIN || path.join(root, 'build', 'src', 'codevd');
const TICKS_PER_S = 100;
const MIN_MS = 60000;

if (!(M >= 4) || !(MINUTES > 0)) {
    console.error(`soak: SOAK_CONNS/SOAK_ROOMS must give at least 4 members a room (got ${M}), SOAK_MIN > 0`);
    process.exit(2);
}
if (!existsSync(BIN)) {
    console.error(`soak: no codevd at ${BIN}`);
    process.exit(2);
}

const log = (...a) => console.error(`[soak ${((Date.now() - (T0 || Date.now())) / 1000).toFixed(1)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms) => ms * (0.5 + Math.random());

// ------------------------------------------------------------------ server

/* Raised for 10,000 members created and connected from one machine (see
 * tests/load/README.md): the per-address HTTP budgets and group/session
 * caps, the connection caps, hello-less sockets per address (a reconnect
 * storm after kill -9), and the facilitator's grace (a storm on a loaded
 * machine may take longer than 60 s: the driver keeps one facilitator). */
const SERVER_SET = [
    'connections_max=30000', `connections_per_ip=30000`, 'unauth_per_ip=30000',
    'http_anon_per_min=100000', 'http_create_per_min=100000', 'http_create_global_per_min=1000000',
    'groups_per_ip=1000000', 'sessions_per_ip=1000000', 'facilitator_grace_s=3600',
    ...(env.SOAK_SET ? env.SOAK_SET.split(/\s+/).filter(Boolean) : []),
];
const dataDir = mkdtempSync(path.join(tmpdir(), 'codevd-soak-'));
let server = null; /* { child, pid, exited, log } */
const incarnations = [];

function startServer() {
    const args = ['--port', String(PORT), '--data-dir', dataDir, '--log-level', 'warn'];
    for (const s of SERVER_SET) args.push('--set', s);
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const srv = { child, pid: child.pid, log: '', started: Date.now() };
    child.stderr.on('data', (d) => { srv.log = (srv.log + d).slice(-20000); });
    srv.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    incarnations.push(srv);
    return srv;
}

function get(urlPath, from = '127.0.0.9') {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: PORT, path: urlPath, localAddress: from, agent: false },
            (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
        req.on('error', reject);
        req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    });
}

async function waitHealthy(srv, ms = 60000) {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
        if (srv.child.exitCode !== null || srv.child.signalCode !== null)
            throw new Error(`codevd exited at start:\n${srv.log}`);
        try {
            if ((await get('/api/health')) === 200) return;
        } catch { /* not yet */ }
    }
    throw new Error(`codevd not healthy within ${ms} ms:\n${srv.log}`);
}

/** The server's RSS (kB), CPU ticks, socket and other descriptors. */
function sampleServer(pid) {
    try {
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
        const st = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        let sockets = 0, other = 0;
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
            let l;
            try { l = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
            if (l.startsWith('socket:')) sockets++; else other++;
        }
        return { rssKb: rss, cpu: Number(st[11]) + Number(st[12]), sockets, other };
    } catch {
        return null;
    }
}

// ------------------------------------------------------------------ counts

const C = {
    lost: 0, duplicated: 0, reordered: 0, missing: 0, refused: 0, stale: 0,
    acked: 0, dupAcks: 0, resent: 0, events: 0, sessions: 0, churned: 0,
    reconnects: 0, connectFails: 0, timeouts: 0, barrierWaits: 0,
};
const examples = { lost: [], duplicated: [], reordered: [], missing: [], refused: [] };
function count(kind, n, what) {
    C[kind] += n;
    if (examples[kind] && examples[kind].length < 5) examples[kind].push(what);
}

// ------------------------------------------------------------------ members

const TOKEN = /#(r\d+s\d+c\d+)/;
const WS_URL = `ws://127.0.0.1:${PORT}/ws`;
let connectQueue = [], connecting = 0;
const MAX_CONNECTING = 256;
let faultArmed = FAULT === 'drop';

class Member {
    constructor(room, idx, id, key) {
        this.room = room;
        this.idx = idx;
        this.id = id;
        this.key = key;
        this.ws = null;
        this.ready = false;
        this.src = `127.0.0.${1 + ((room.r * M + idx) % SRCS)}`;
        this.sid = null;     // the session this member's view is of
        this.s = null;       // per-session state, see newSession
        this.backoff = 0;
        this.wantConnect = false;
    }

    newSession(sid) {
        if (this.sid !== null && this.s) evaluate(this, this.sid, this.s);
        this.sid = sid;
        this.s = { last: 0, snap: 0, max: 0, live: 0, tokens: new Map(), closed: false };
        this.room.sessionSeen(sid);
        if (this.idx === 0) this.room.sid = sid; /* the facilitator's view names the room's session */
    }

    connect() {
        this.wantConnect = true;
        connectQueue.push(this);
        pumpConnects();
    }

    open() {
        connecting++;
        let settled = false;
        const done = () => { if (!settled) { settled = true; connecting--; pumpConnects(); } };
        const ws = new WebSocket(WS_URL, 'codev.v1', { localAddress: this.src, perMessageDeflate: false, handshakeTimeout: 15000 });
        this.ws = ws;
        ws.on('open', () => {
            ws.send(JSON.stringify({ type: 'hello', group_id: this.room.gid, member_key: this.key,
                ...(this.s ? { last_seq: this.s.last } : {}) }));
        });
        ws.on('message', (data) => {
            if (!this.ready) done();
            this.frame(data);
        });
        ws.on('error', () => {});
        ws.on('close', () => {
            done();
            if (this.ws !== ws) return;
            this.ws = null;
            const was = this.ready;
            this.ready = false;
            if (was) this.room.memberLeft(this);
            if (!was) C.connectFails++;
            if (this.wantConnect) {
                this.backoff = Math.min(2000, this.backoff ? this.backoff * 2 : 100);
                setTimeout(() => this.connect(), jitter(this.backoff));
            }
        });
    }

    frame(data) {
        /* Ticks (one a second per member) carry nothing the checks need. */
        if (data.length < 400 && data[2] === 0x74 && data.toString('latin1', 0, 15) === '{"type":"tick",') return;
        let v;
        try { v = JSON.parse(data.toString('utf8')); } catch { count('refused', 1, 'a frame that is not JSON'); return; }
        if (Array.isArray(v)) for (const x of v) this.message(x);
        else this.message(v);
    }

    message(msg) {
        switch (msg.type) {
        case 'tick': case 'presence': case 'member_joined': case 'member_updated': case 'group_updated':
        case 'facilitator_offer':
            return;
        case 'welcome':
            this.snapshot(msg.room, true);
            this.ready = true;
            this.backoff = 0;
            this.room.memberReady(this);
            return;
        case 'session_opened':
            this.snapshot(msg.room, false);
            return;
        case 'ack': case 'error':
            if (msg.id === undefined) { /* a refused hello: close and retry */
                count('refused', 1, `hello refused: ${msg.code}`);
                this.ws?.terminate();
                return;
            }
            this.room.reply(this, msg);
            return;
        default:
            if (Number.isInteger(msg.seq)) this.event(msg);
        }
    }

    snapshot(room, resume) {
        if (!room) return;
        if (room.session_id !== this.sid) {
            this.newSession(room.session_id);
        } else if (room.seq < this.s.max) {
            count('lost', this.s.max - room.seq,
                `r${this.room.r} m${this.idx}: ${resume ? 'welcome' : 'snapshot'} at seq ${room.seq} after seq ${this.s.max} was seen`);
        }
        const s = this.s;
        s.snap = room.seq;
        s.last = room.seq;
        if (room.seq > s.max) s.max = room.seq;
        if (this.idx === 0) this.room.debriefs = room.debriefs || []; /* what the opening offers */
        if (room.step === 'closed') { s.closed = true; return; }
        if (room.seq > s.live) s.live = room.seq;
        const inSnap = new Set();
        for (const card of room.cards || []) {
            const t = TOKEN.exec(card.text);
            if (!t) continue;
            if (inSnap.has(t[1])) count('duplicated', 1, `r${this.room.r}: card ${t[1]} twice in a snapshot`);
            inSnap.add(t[1]);
            this.card(t[1], card.id);
        }
    }

    card(token, id) {
        const had = this.s.tokens.get(token);
        if (had !== undefined && had !== id)
            count('duplicated', 1, `r${this.room.r} m${this.idx}: card ${token} as id ${had} and ${id}`);
        this.s.tokens.set(token, id);
        this.room.cardIds.set(token, id);
    }

    event(ev) {
        C.events++;
        if (faultArmed && this.room.r === 0 && this.idx === 2 && ev.type === 'card_added') {
            faultArmed = false; /* SOAK_FAULT=drop: this event is not looked at */
            return;
        }
        const s = this.s;
        if (!s) { count('reordered', 1, `r${this.room.r} m${this.idx}: ${ev.type} seq ${ev.seq} before any snapshot`); return; }
        if (ev.seq <= s.snap) { C.stale++; return; } /* older than the snapshot: ignored (2.6) */
        if (ev.seq === s.last) count('duplicated', 1, `r${this.room.r} m${this.idx}: seq ${ev.seq} twice (${ev.type})`);
        else if (ev.seq < s.last) count('reordered', 1, `r${this.room.r} m${this.idx}: seq ${ev.seq} after ${s.last} (${ev.type})`);
        else if (ev.seq > s.last + 1) count('missing', ev.seq - s.last - 1, `r${this.room.r} m${this.idx}: seq ${ev.seq} after ${s.last} (${ev.type})`);
        if (ev.seq > s.last) s.last = ev.seq;
        if (ev.seq > s.max) s.max = ev.seq;
        if (ev.seq > s.live) s.live = ev.seq;
        if (ev.type === 'card_added') {
            const t = TOKEN.exec(ev.card.text);
            if (t) this.card(t[1], ev.card.id);
        } else if (ev.type === 'closed') {
            s.closed = true;
            this.room.kickSoon();
        }
    }
}

function pumpConnects() {
    while (connecting < MAX_CONNECTING && connectQueue.length) {
        const m = connectQueue.shift();
        if (m.wantConnect && !m.ws) m.open();
    }
}

/**
 * One member's account of one session, once it is over for them (the next
 * session's snapshot, or the end of the run): every acknowledged command of
 * the session must be within the seqs it reached, and every acknowledged card
 * within what it reached while the session was open must be among its cards.
 */
function evaluate(m, sid, s) {
    const rs = m.room.sessions.get(sid);
    if (!rs) return;
    for (const a of rs.acks.values()) {
        if (a.seq > s.max) count('lost', 1, `r${m.room.r} m${m.idx}: ${a.type} acked at seq ${a.seq}, member reached ${s.max}`);
        else if (a.token && a.seq <= s.live && !s.tokens.has(a.token))
            count('missing', 1, `r${m.room.r} m${m.idx}: card ${a.token} (seq ${a.seq}) not among its cards`);
    }
    if (++rs.evaluated >= M && sid !== m.room.sid) m.room.sessions.delete(sid);
}

// ------------------------------------------------------------------ rooms

const TEXTS = {
    checkin: ['Contente d’être là, une semaine dense mais riche.', 'Un peu fatigué, deux recrutements en cours.'],
    topic: ['Comment dire non à ma direction sans me griller ?', 'Mon équipe ne se parle plus depuis la réorganisation.'],
    problem: 'Depuis la réorganisation, mon équipe ne se parle plus qu’à travers les tickets et deux personnes pensent partir.',
    question: ['Qu’as-tu déjà essayé ?', 'Qui d’autre est concerné dans ton service ?'],
    answer: 'Des réunions d’équipe, mais personne n’y parle vraiment.',
    reform: 'Si je comprends bien, tu cherches à recréer du lien sans l’imposer.',
    contract: 'J’aimerais deux ou trois façons concrètes de recréer des échanges directs.',
    contribution: ['Et si tu proposais un café d’équipe sans ordre du jour ?', 'J’ai vécu la même chose : un binôme par projet a aidé.',
        'Je ressens beaucoup de solitude dans ce que tu décris.'],
    kinds: ['suggestion', 'experience', 'feeling'],
    retained: 'Le café d’équipe et les binômes, à essayer ce mois-ci.',
    action: 'Proposer un café d’équipe hebdomadaire',
    learning: ['J’ai appris à poser des questions ouvertes.', 'Le contrat aide à rester sur le sujet.'],
    outcomes: ['done', 'partly', 'not_done', 'dropped'],
    debrief: 'Le café a eu lieu deux fois, l’équipe en redemande.',
};
const SKIP = Symbol('skip'); /* a script entry with nothing to send this session */

class Room {
    constructor(r, gid) {
        this.r = r;
        this.gid = gid;
        this.members = [];
        this.k = 0;              // sessions opened by this room
        this.script = [];
        this.pos = 0;
        this.pending = null;     // { id, actor, msg, sent, at, card? }
        this.n = 0;              // command counter (ids)
        this.sessions = new Map(); // sid -> { acks: Map id -> {seq, type, token}, evaluated, maxSeq, lastNew }
        this.sid = null;         // the facilitator's current session
        this.cardIds = new Map();
        this.timer = null;
        this.ready = 0;
        this.stopping = false;
        this.done = 0;           // sessions closed
        this.barrierSince = 0;
        this.debriefs = [];      // the facilitator's view of the session's debriefs
        this.debriefed = new Set(); // debrief ids posted in this session
        this.openedFrom = null;  // the session the facilitator saw when session_open went
    }

    sessionSeen(sid) {
        if (!this.sessions.has(sid)) this.sessions.set(sid, { acks: new Map(), evaluated: 0, lastNew: 0 });
    }

    memberReady() { this.ready++; this.kickSoon(); }
    memberLeft(m) {
        this.ready--;
        if (this.pending && this.pending.actor === m.idx) this.pending.sent = false;
    }

    kickSoon(ms = 0) {
        if (this.timer) return;
        this.timer = setTimeout(() => { this.timer = null; this.step(); }, ms);
    }

    /**
     * Member i's debrief_post of the first action item of theirs the opening
     * offers and nobody debriefed yet; null while the facilitator's view is
     * still of the previous session (ask again), SKIP when there is none.
     */
    debriefOf(i) {
        if (this.sid === this.openedFrom) return null;
        const d = this.debriefs.find((x) => x.client === this.members[i].id && x.outcome === null && !this.debriefed.has(x.id));
        if (!d) return SKIP;
        this.debriefed.add(d.id);
        const n = this.debriefed.size + this.k;
        return { type: 'debrief_post', debrief_id: d.id, outcome: TEXTS.outcomes[n % TEXTS.outcomes.length], text: TEXTS.debrief };
    }

    /** The commands of session k, in order: [actor, command]. */
    makeScript() {
        const k = this.k, r = this.r;
        const c = 1 + (k % (M - 1));
        const K = [];
        for (let i = 1; i < M; i++) if (i !== c) K.push(i);
        let n = 0;
        const tok = () => `#r${r}s${k}c${++n}`;
        const out = [];
        const push = (actor, cmd) => out.push([actor, cmd]);
        const clientId = () => this.members[c].id;
        push(0, { type: 'checkin_post', text: `${TEXTS.checkin[0]} ${tok()}` });
        push(K[0], { type: 'checkin_post', text: `${TEXTS.checkin[1]} ${tok()}` });
        /* The earlier clients debrief their action items (the last session's
         * client has one; after a restart or at the start, none or more). */
        for (let i = 1; i < M; i++) push(i, () => this.debriefOf(i));
        push(0, { type: 'step_next' });
        push(K[1], { type: 'topic_propose', text: `${TEXTS.topic[0]} ${tok()}` });
        push(c, { type: 'topic_propose', text: `${TEXTS.topic[1]} ${tok()}` });
        push(0, () => ({ type: 'client_assign', member_id: clientId() }));
        push(0, { type: 'step_next' });
        push(c, { type: 'problem_set', text: TEXTS.problem });
        push(0, { type: 'step_next' });
        for (let q = 0; q < 2; q++) {
            const t = tok();
            push(K[q % K.length], { type: 'question_ask', text: `${TEXTS.question[q]} ${t}` });
            push(c, () => (this.cardIds.has(t.slice(1)) ? { type: 'question_answer', card_id: this.cardIds.get(t.slice(1)), text: TEXTS.answer } : null));
        }
        push(0, { type: 'step_next' });
        push(K[2 % K.length], { type: 'reformulation_post', text: `${TEXTS.reform} ${tok()}` });
        push(c, { type: 'contract_set', text: TEXTS.contract });
        for (const i of K) push(i, { type: 'contract_ack' });
        push(0, { type: 'step_next', force: true });
        for (let i = 0; i < 2 * K.length; i++)
            push(K[i % K.length], { type: 'contribution_post', kind: TEXTS.kinds[i % 3], text: `${TEXTS.contribution[i % 3]} ${tok()}` });
        push(0, { type: 'step_next' });
        push(c, { type: 'retain_set', text: TEXTS.retained });
        push(c, { type: 'action_add', text: `${TEXTS.action} ${tok()}`, due: 'dans deux semaines', first_step: 'En parler lundi' });
        push(0, { type: 'step_next' });
        for (let i = 0; i < M; i++)
            push(i, { type: 'learning_post', dimension: i % 2 ? 'content' : 'process', text: `${TEXTS.learning[i % 2]} ${tok()}` });
        push(0, { type: 'session_close' });
        return out;
    }

    /** Sends the next command when nothing is pending and everyone is here. */
    step() {
        if (this.pending) {
            if (!this.pending.sent && this.members[this.pending.actor].ready && this.ready === M) this.send(true);
            return;
        }
        if (this.stopping || this.ready < M) return;
        let actor, cmd;
        if (this.pos >= this.script.length) {
            /* The next session, once every member has seen the close. */
            if (this.sid !== null && !this.members.every((m) => m.sid === this.sid && m.s.closed)) {
                if (!this.barrierSince) this.barrierSince = Date.now();
                else if (Date.now() - this.barrierSince > 60000) {
                    C.barrierWaits++;
                    this.barrierSince = 0;
                } else {
                    this.kickSoon(200);
                    return;
                }
            }
            this.barrierSince = 0;
            actor = 0;
            cmd = { type: 'session_open' };
            this.openedFrom = this.sid;
        } else {
            [actor, cmd] = this.script[this.pos];
            if (typeof cmd === 'function') {
                cmd = cmd();
                if (cmd === SKIP) { this.pos++; this.kickSoon(); return; } /* nothing to send here */
                if (!cmd) { this.kickSoon(100); return; } /* the question's card id (or the new session's view) is not known yet */
            }
        }
        const token = cmd.text && TOKEN.exec(cmd.text);
        this.pending = { id: `s${this.r}-${++this.n}`, actor, cmd, sent: false, resends: 0, token: token ? token[1] : null };
        this.send(false);
    }

    send(again) {
        const p = this.pending;
        const m = this.members[p.actor];
        if (!m.ready || !m.ws) return;
        if (again) { C.resent++; p.resends++; }
        p.sent = true;
        p.at = Date.now();
        m.ws.send(JSON.stringify({ ...p.cmd, id: p.id }));
    }

    reply(m, msg) {
        const p = this.pending;
        if (!p || msg.id !== p.id || m.idx !== p.actor) {
            /* A late answer to a resend already answered: nothing to do. */
            return;
        }
        if (msg.type === 'error') {
            if (p.cmd.type === 'session_open' && msg.code === 'session_open' && p.resends) {
                /* A resent session_open that the server committed before a kill: not idempotent by id. */
            } else if (msg.code === 'rate_limited' || msg.code === 'store_unavailable') {
                p.sent = false;
                setTimeout(() => this.step(), 1000);
                return;
            } else {
                count('refused', 1, `r${this.r} m${p.actor}: ${p.cmd.type} refused: ${msg.code} ${msg.message}`);
            }
        } else if (p.cmd.type !== 'session_open') {
            const rs = this.sessions.get(m.sid);
            if (!rs) {
                count('refused', 1, `r${this.r}: an ack outside any session`);
            } else if (msg.duplicate) {
                C.dupAcks++;
                if (!rs.acks.has(p.id)) rs.acks.set(p.id, { seq: msg.seq, type: p.cmd.type, token: p.token });
                if (msg.seq > rs.lastNew) rs.lastNew = msg.seq;
            } else {
                if (msg.seq <= rs.lastNew) count('reordered', 1, `r${this.r}: ${p.cmd.type} acked at seq ${msg.seq} after an ack at ${rs.lastNew}`);
                rs.lastNew = msg.seq;
                rs.acks.set(p.id, { seq: msg.seq, type: p.cmd.type, token: p.token });
                C.acked++;
            }
            if (p.cmd.type === 'session_close') { this.done++; C.sessions++; }
        }
        this.pending = null;
        if (p.cmd.type === 'session_open') {
            this.k++;
            this.script = this.makeScript();
            this.pos = 0;
            this.cardIds.clear();
            this.debriefed.clear();
            this.kickSoon(jitter(PACE));
            return;
        }
        this.pos++;
        this.kickSoon(jitter(PACE));
    }
}

// ------------------------------------------------------------------ set-up

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function post(urlPath, body, key) {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: PORT, method: 'POST', path: urlPath, agent,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload),
                ...(key ? { Authorization: `Bearer ${key}` } : {}) } }, (res) => {
            let text = '';
            res.on('data', (d) => { text += d; });
            res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(text))
                : reject(new Error(`POST ${urlPath}: ${res.statusCode} ${text}`))));
        });
        req.on('error', reject);
        req.end(payload);
    });
}

const rooms = [];
async function setupRoom(r) {
    const g = await post('/api/groups', { name: `Soak ${r}`, facilitator_name: `F${r}`, language: 'fr', format: 90 });
    const room = new Room(r, g.group_id);
    room.members.push(new Member(room, 0, g.member_id, g.member_key));
    for (let i = 1; i < M; i++) {
        const j = await post(`/api/groups/${g.group_id}/members`, { invite_code: g.invite_code, display_name: `M${r}-${i}` });
        room.members.push(new Member(room, i, j.member_id, j.member_key));
    }
    rooms[r] = room;
}

let T0 = 0;
const allMembers = () => rooms.flatMap((r) => r.members);
const readyCount = () => rooms.reduce((n, r) => n + r.ready, 0);

async function waitAllReady(ms) {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(100))
        if (readyCount() === ROOMS * M) return true;
    return false;
}

// ------------------------------------------------------------------ run

const minutes = []; /* one row per minute */
const restarts = []; /* { at, up_s, back_s } */

async function main() {
    server = startServer();
    await waitHealthy(server);
    const t = Date.now();
    for (let r = 0; r < ROOMS; r += 16)
        await Promise.all(Array.from({ length: Math.min(16, ROOMS - r) }, (_, i) => setupRoom(r + i)));
    log(`${ROOMS} groups x ${M} members created in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const tc = Date.now();
    for (const m of allMembers()) m.connect();
    if (!(await waitAllReady(180000))) throw new Error(`only ${readyCount()} of ${ROOMS * M} members attached after 180 s`);
    log(`${ROOMS * M} members attached in ${((Date.now() - tc) / 1000).toFixed(1)} s`);

    T0 = Date.now();
    const endAt = T0 + MINUTES * MIN_MS;
    const kills = [];
    if (KILL_AT.length) for (const k of KILL_AT) { if (k > 0 && k < MINUTES) kills.push(T0 + k * MIN_MS); }
    else if (KILL_EVERY > 0) for (let k = KILL_EVERY; k < MINUTES - 1e-9; k += KILL_EVERY) kills.push(T0 + k * MIN_MS);
    for (const room of rooms) room.kickSoon(Math.random() * PACE);

    // Churn: CHURN_PCT % of the connections a minute, in batches every 5 s;
    // half close cleanly, half drop the TCP connection.
    const churnPerBatch = (CONNS * CHURN_PCT) / 100 / 12;
    let churnDebt = 0;
    const churnTimer = setInterval(() => {
        churnDebt += churnPerBatch;
        const members = allMembers();
        for (; churnDebt >= 1; churnDebt--) {
            const m = members[Math.floor(Math.random() * members.length)];
            if (!m.ready || !m.ws) continue;
            C.churned++;
            C.reconnects++;
            if (C.churned % 2) m.ws.close(1000); else m.ws.terminate();
        }
    }, 5000);

    let prev = sampleServer(server.pid), prevAt = Date.now(), prevAcked = 0, prevEvents = 0, prevChurn = 0;
    let prevSelf = process.cpuUsage();
    const row = (minute) => {
        const now = Date.now();
        const s = sampleServer(server.pid);
        const self = process.cpuUsage();
        const dt = (now - prevAt) / 1000;
        const cpu = s && prev && s.cpu >= prev.cpu && dt > 1 ? ((s.cpu - prev.cpu) / TICKS_PER_S / dt) * 100 : null;
        const selfCpu = dt > 1 ? ((self.user - prevSelf.user + self.system - prevSelf.system) / 1e6 / dt) * 100 : null;
        const r = {
            minute, pid: server.pid, rssKb: s?.rssKb ?? null, sockets: s?.sockets ?? null, otherFds: s?.other ?? null,
            attached: readyCount(), sessions: C.sessions, acked: C.acked - prevAcked, events: C.events - prevEvents,
            churned: C.churned - prevChurn, srvCpu: cpu, drvCpu: selfCpu,
            integrity: C.lost + C.duplicated + C.reordered + C.missing,
        };
        minutes.push(r);
        log(`minute ${minute}: rss ${(r.rssKb / 1024).toFixed(1)} MiB, fds ${r.sockets}+${r.otherFds}, attached ${r.attached}, ` +
            `sessions ${r.sessions}, acked ${r.acked}, events ${r.events}, server ${cpu?.toFixed(0) ?? '-'} %, driver ${selfCpu?.toFixed(0) ?? '-'} %`);
        prev = s; prevAt = now; prevAcked = C.acked; prevEvents = C.events; prevChurn = C.churned; prevSelf = self;
    };
    row(0);

    for (let minute = 1; ; minute++) {
        /* Kills that fall within this minute, then the sample at its end. */
        const at = T0 + minute * MIN_MS;
        while (kills.length && kills[0] < at) {
            const k = kills.shift();
            await sleep(Math.max(0, k - Date.now()));
            await killAndRestart();
            prev = sampleServer(server.pid);
        }
        if (at > endAt + 1) break;
        await sleep(Math.max(0, at - Date.now()));
        row(minute);
        if (at >= endAt) break;
    }

    // The end: no new command, no churn; every member back and caught up.
    clearInterval(churnTimer);
    for (const room of rooms) room.stopping = true;
    const drainUntil = Date.now() + 120000;
    const caughtUp = () => rooms.every((room) => !room.pending && room.ready === M && room.members.every((m) => {
        const rs = room.sessions.get(m.sid);
        return rs && m.sid === room.sid && m.s.max >= rs.lastNew;
    }));
    while (Date.now() < drainUntil && !caughtUp()) await sleep(200);
    const drained = caughtUp();
    log(drained ? 'drained: every member caught up' : 'drain timed out');
    for (const m of allMembers()) if (m.s) evaluate(m, m.sid, m.s);

    const finalSample = sampleServer(server.pid);
    for (const m of allMembers()) { m.wantConnect = false; m.ws?.terminate(); }
    server.child.kill('SIGTERM');
    const ex = await Promise.race([server.exited, sleep(20000).then(() => null)]);
    if (!ex) server.child.kill('SIGKILL');
    report(drained, finalSample, ex);
}

async function killAndRestart() {
    const at = Date.now();
    const before = readyCount();
    log(`kill -9 ${server.pid} (${before} attached)`);
    server.child.kill('SIGKILL');
    await server.exited;
    C.reconnects += before;
    server = startServer();
    await waitHealthy(server, 120000);
    const x = { at: (at - T0) / MIN_MS, up_s: (Date.now() - at) / 1000, back_s: null };
    restarts.push(x);
    log(`restarted as ${server.pid}: listening after ${x.up_s.toFixed(1)} s`);
    /* The minute samples go on meanwhile. */
    waitAllReady(300000).then((ok) => {
        if (ok) x.back_s = (Date.now() - at) / 1000;
        log(`after the kill at ${x.at.toFixed(2)} min: all attached ${ok ? `after ${x.back_s.toFixed(1)} s` : 'NEVER'}`);
    });
}

// ------------------------------------------------------------------ report

function report(drained, finalSample, exit) {
    const mib = (kb) => (kb === null ? '-' : (kb / 1024).toFixed(1));
    const lines = [];
    lines.push(`soak: ${CONNS} connections in ${ROOMS} rooms of ${M}, ${MINUTES} min, churn ${CHURN_PCT} %/min, ` +
        `kill -9 ${KILL_AT.length ? `at ${KILL_AT.join(', ')}` : `every ${KILL_EVERY || '-'}`} min, pace ${PACE} ms`);
    lines.push('');
    lines.push('| min | server pid | RSS MiB | socket fds | other fds | attached | sessions done | cmds acked | events rx | churned | server CPU % | driver CPU % |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of minutes)
        lines.push(`| ${r.minute} | ${r.pid} | ${mib(r.rssKb)} | ${r.sockets ?? '-'} | ${r.otherFds ?? '-'} | ${r.attached} | ${r.sessions} | ` +
            `${r.acked} | ${r.events} | ${r.churned} | ${r.srvCpu === null ? '-' : r.srvCpu.toFixed(0)} | ${r.drvCpu === null ? '-' : r.drvCpu.toFixed(0)} |`);
    lines.push('');
    for (const x of restarts)
        lines.push(`kill -9 at minute ${x.at.toFixed(2)}: listening again after ${x.up_s.toFixed(1)} s, ` +
            `all ${CONNS} attached after ${x.back_s === null ? 'NEVER' : x.back_s.toFixed(1) + ' s'}`);
    lines.push(`commands acked ${C.acked} (+${C.dupAcks} answered "duplicate" to a resend; ${C.resent} resent), ` +
        `sessions completed ${C.sessions}, events received ${C.events} (${C.stale} older than a snapshot, ignored), ` +
        `churned ${C.churned}, reconnects ${C.reconnects}, failed connects ${C.connectFails}, barrier timeouts ${C.barrierWaits}`);
    lines.push(`integrity: lost ${C.lost}, duplicated ${C.duplicated}, reordered ${C.reordered}, missing ${C.missing}; refused ${C.refused}`);
    for (const [k, ex] of Object.entries(examples)) for (const e of ex) lines.push(`  ${k}: ${e}`);
    if (exit) lines.push(`server stopped with ${JSON.stringify(exit)}`);
    console.log(lines.join('\n'));

    // Checks, as TAP.
    const checks = [];
    const check = (ok, what) => checks.push([ok, what]);
    check(C.lost === 0, `lost: ${C.lost}`);
    check(C.duplicated === 0, `duplicated: ${C.duplicated}`);
    check(C.reordered === 0, `reordered: ${C.reordered}`);
    check(C.missing === 0, `missing: ${C.missing}`);
    check(C.refused === 0, `refused commands: ${C.refused}`);
    const idle = rooms.filter((r) => r.done === 0).length;
    const unrecovered = restarts.filter((x) => x.back_s === null).length;
    check(idle === 0 && unrecovered === 0 && drained,
        `progress: ${C.sessions} sessions, ${idle} rooms without one, ${restarts.length} restarts (${unrecovered} not recovered), ` +
        `${drained ? 'drained' : 'NOT drained'}`);
    const base = minutes.find((r) => r.minute === WARMUP);
    const later = minutes.filter((r) => r.minute > WARMUP && r.rssKb !== null);
    if (!base || !later.length) {
        check(false, `rss: no sample at minute ${WARMUP} and after (SOAK_MIN must exceed SOAK_WARMUP_MIN)`);
    } else {
        const peak = Math.max(...later.map((r) => r.rssKb));
        const growth = ((peak / base.rssKb) - 1) * 100;
        check(growth <= RSS_GROWTH, `rss: ${mib(peak)} MiB at most after minute ${WARMUP}, ` +
            `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % over ${mib(base.rssKb)} MiB (limit ${RSS_GROWTH} %)`);
    }
    // Descriptors: the sockets follow the connections (one each, plus
    // listeners and the journal's), the others stay flat after warm-up.
    const fdRows = minutes.filter((r) => r.sockets !== null);
    const worstSock = Math.max(...fdRows.map((r) => r.sockets - r.attached));
    const otherBase = base?.otherFds ?? fdRows[0]?.otherFds;
    const otherPeak = Math.max(...fdRows.filter((r) => r.minute >= WARMUP).map((r) => r.otherFds));
    check(worstSock <= 64 + CONNS * 0.02 && otherPeak <= otherBase + 4,
        `descriptors: sockets at most ${worstSock} above the attached members; other fds ${otherBase} at minute ${WARMUP}, at most ${otherPeak} after` +
        (finalSample ? ` (${finalSample.sockets}+${finalSample.other} at the end)` : ''));
    console.log(`1..${checks.length}`);
    checks.forEach(([ok, what], i) => console.log(`${ok ? 'ok' : 'not ok'} ${i + 1} - soak ${what}`));
    const failed = checks.filter(([ok]) => !ok).length;
    console.log(`soak: ${checks.length - failed} passed, ${failed} failed`);
    if (!env.SOAK_KEEP) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data and logs kept in ${dataDir}`);
    process.exitCode = failed ? 1 : 0;
    agent.destroy();
}

process.on('SIGINT', () => { server?.child.kill('SIGKILL'); process.exit(130); });
main().catch((e) => {
    console.error(`soak: ${e.stack || e}`);
    server?.child.kill('SIGKILL');
    console.log('1..1\nnot ok 1 - soak ran to its end\nsoak: 0 passed, 1 failed');
    process.exit(1);
});
