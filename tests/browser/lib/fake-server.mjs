// A small in-process stand-in for codevd, written from proto/README.md, for
// browser tests of client behaviour the real server cannot be made to show
// on demand (a dropped connection with unanswered commands, frames batched
// as arrays) and for working on the page before the binary exists. It
// serves web-client/ with the same CSP as codevd. The end-to-end tests run
// against the real server (tests/lib/server.mjs); this is not a second
// implementation of the rules, only enough of them to drive the page.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';
import { repoRoot } from '../../lib/server.mjs';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const WEB = path.join(repoRoot, 'web-client');
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml' };
const STEPS = ['opening', 'topic', 'expose', 'clarification', 'contract', 'consultation', 'synthesis', 'learning', 'closed'];
const BUDGETS = {
    45: [2, 3, 5, 10, 3, 15, 4, 3], 90: [10, 5, 10, 20, 5, 25, 8, 7], 120: [15, 10, 10, 25, 10, 30, 10, 10],
};
const secret = () => crypto.randomBytes(16).toString('base64url');

function err(code, id) { return { type: 'error', ...(id !== undefined ? { id } : {}), code, message: code }; }

export async function startFake(opts = {}) {
    const groups = new Map();
    const conns = new Set();
    const log = [];          // every command received: {member, msg}
    let holdAnswers = false; // when true, commands are applied but not answered
    const now = () => Date.now();

    function roleOf(g, id) {
        const r = g.room;
        const m = g.members.find((x) => x.id === id);
        if (r && r.facilitator === id) return 'facilitator';
        if (!r && g.facilitator === id) return 'facilitator';
        if (m && m.observer) return 'observer';
        const c = r && r.consultations[r.consultation ?? -1];
        if (c && c.client === id && r.step !== 'closed') return 'client';
        return 'consultant';
    }
    function clockOf(r) {
        const c = r.clock;
        const used = c.used_ms + (c.running ? now() - c.started : 0);
        return { step: r.step, budget_ms: c.budget_ms, used_ms: used, remaining_ms: c.budget_ms - used, running: c.running, server_ms: now() };
    }
    function resetClock(r) {
        r.clock = { budget_ms: r.budgets[r.step] || 0, used_ms: 0, started: 0, running: false };
    }
    function memberView(g, m) {
        return { id: m.id, name: m.name, role: roleOf(g, m.id), observer: m.observer, online: [...conns].some((c) => c.g === g && c.member === m.id) };
    }
    function cardVisible(g, card, to) {
        if (card.type === 'note') return card.author === to;
        return true;
    }
    function cardFor(g, card, to) {
        const out = { ...card };
        delete out.marked;
        const c = g.room.consultations[card.consultation];
        if (card.type === 'contribution' && c && c.client === to) out.marked = Boolean(card.marked);
        return out;
    }
    function consultationFor(g, c, to) {
        const out = { ...c, acks: [...c.acks] };
        if (!(to === c.client || to === g.room.facilitator)) delete out.recadrages;
        return out;
    }
    function snapshot(g, to) {
        const r = g.room;
        return {
            session_id: r.session_id, seq: r.seq, step: r.step, created_ms: r.created_ms, facilitator: r.facilitator,
            members: g.members.filter((m) => !m.removed).map((m) => memberView(g, m)),
            budgets: r.budgets, clock: clockOf(r), consultation: r.consultation,
            consultations: r.consultations.map((c) => consultationFor(g, c, to)),
            cards: r.cards.filter((c) => !c.removed && cardVisible(g, c, to)).map((c) => cardFor(g, c, to)),
            hands: r.hands.slice(), debriefs: r.debriefs.slice(),
        };
    }
    function send(conn, msg) {
        if (conn.ws.readyState === 1) conn.ws.send(JSON.stringify(msg));
    }
    function toGroup(g, fn) { for (const c of conns) if (c.g === g && c.member) fn(c); }
    function openRoom(g) {
        const b = BUDGETS[g.format] || BUDGETS[90];
        const budgets = {};
        STEPS.slice(0, 8).forEach((s, i) => { budgets[s] = b[i] * 60000; });
        g.room = { session_id: crypto.randomUUID(), seq: 0, step: 'opening', created_ms: now(), facilitator: g.facilitator,
            budgets, consultation: null, consultations: [], cards: [], hands: [], debriefs: [], seen: new Map() };
        resetClock(g.room);
        toGroup(g, (c) => send(c, { type: 'session_opened', room: snapshot(g, c.member) }));
    }

    // ---- commands -----------------------------------------------------
    const F = ['facilitator'];
    const TABLE = {
        step_next: [F], step_prev: [F], consultation_new: [F, ['opening', 'learning']], session_close: [F],
        timer_start: [F], timer_pause: [F], timer_add: [F], timer_set: [F], client_assign: [F, ['topic']],
        facilitator_handover: [F], member_remove: [F], role_set: [F],
        checkin_post: [['facilitator', 'consultant'], ['opening']],
        topic_propose: [['facilitator', 'client', 'consultant'], ['topic']],
        problem_set: [['client'], ['expose', 'clarification']],
        question_ask: [['consultant'], ['clarification']], question_answer: [['client'], ['clarification']],
        question_flag: [F, ['clarification']], reformulation_post: [['consultant'], ['contract']],
        contract_set: [['client'], ['contract']], contract_ack: [['consultant'], ['contract']],
        contribution_post: [['consultant'], ['consultation']], mark_set: [['client'], ['consultation', 'synthesis']],
        recadrage: [['client'], ['consultation']], action_add: [['client'], ['synthesis']], action_remove: [['client'], ['synthesis']],
        learning_post: [['facilitator', 'client', 'consultant'], ['learning']],
        debrief_post: [['facilitator', 'consultant'], ['opening']],
        hand_raise: [['consultant', 'client']], hand_lower: [['consultant', 'client', 'facilitator']],
        note_post: [['facilitator', 'client', 'consultant', 'observer']],
    };
    function check(g, me, msg) {
        const r = g.room;
        const role = roleOf(g, me);
        if (msg.type === 'session_open') return role === 'facilitator' ? null : 'not_facilitator';
        const rule = TABLE[msg.type];
        if (!rule) return 'unknown_type';
        if (!r) return 'no_session';
        if (r.step === 'closed' && msg.type !== 'note_post') return 'session_closed';
        if (role === 'observer' && msg.type !== 'note_post') return 'observer_read_only';
        if (rule[0] === F && role !== 'facilitator') return 'not_facilitator';
        if (role === 'client' && r.step === 'consultation' && !['mark_set', 'recadrage', 'note_post'].includes(msg.type)) return 'client_muted';
        if (!rule[0].includes(role)) return 'not_your_role';
        if (rule[1] && !rule[1].includes(r.step)) return 'wrong_step';
        if (msg.type === 'hand_raise' && role === 'client' && r.step === 'consultation') return 'client_muted';
        return null;
    }
    function textOk(t, max = 1000) {
        if (typeof t !== 'string') return 'missing_field';
        if (!t.trim()) return 'text_empty';
        if ([...t].length > max) return 'text_too_long';
        return null;
    }
    function apply(g, me, msg) {
        const r = g.room;
        const ev = [];
        const e = (type, fields, aud = 'all') => { r.seq += 1; ev.push({ aud, msg: { type, seq: r.seq, at_ms: now(), ...fields } }); };
        const cur = () => r.consultations[r.consultation];
        const addCard = (type, extra) => {
            const card = { id: r.cards.length + 1, type, author: me, consultation: type === 'checkin' ? null : r.consultation, step: r.step, at_ms: now(), text: msg.text, ...extra };
            r.cards.push(card);
            e('card_added', { card }, type === 'note' ? me : 'all');
        };
        // A step change resets the clock and starts it (only opening waits).
        const stepTo = (s) => {
            r.step = s; resetClock(r);
            if (s !== 'opening') { r.clock.running = true; r.clock.started = now(); }
            e('step', { step: s, consultation: r.consultation, clock: clockOf(r) });
        };
        const newConsultation = () => {
            r.consultations.push({ index: r.consultations.length, client: null, problem: null, contract: null, acks: [], step_used_ms: {}, recadrages: 0 });
            r.consultation = r.consultations.length - 1;
            e('consultation', { consultation: cur() });
            stepTo('topic');
        };
        let bad;
        switch (msg.type) {
        case 'session_open':
            if (r && r.step !== 'closed') return { error: 'session_open' };
            openRoom(g);
            return { events: [] };
        case 'step_next': {
            if (r.step === 'learning') return { error: 'no_such_step' };
            if (r.step === 'opening') {
                if (r.consultation === null) newConsultation(); else stepTo('topic');
                break;
            }
            const c = cur();
            if (r.step === 'topic' && !c.client) return { error: 'no_client' };
            if (r.step === 'expose' && !c.problem) return { error: 'no_problem' };
            if (r.step === 'contract') {
                if (!c.contract) return { error: 'no_contract' };
                const ks = g.members.filter((m) => !m.removed && roleOf(g, m.id) === 'consultant');
                if (!msg.force && !ks.every((m) => c.acks.includes(m.id))) return { error: 'contract_not_acked' };
            }
            stepTo(STEPS[STEPS.indexOf(r.step) + 1]);
            break;
        }
        case 'step_prev':
            if (r.step === 'opening') return { error: 'no_such_step' };
            stepTo(STEPS[STEPS.indexOf(r.step) - 1]);
            break;
        case 'consultation_new': newConsultation(); break;
        case 'session_close': r.step = 'closed'; r.clock.running = false; e('closed', {}); break;
        case 'timer_start':
            if (r.clock.running) return { error: 'timer_running' };
            r.clock.running = true; r.clock.started = now(); e('clock', { clock: clockOf(r) }); break;
        case 'timer_pause':
            if (!r.clock.running) return { error: 'timer_stopped' };
            r.clock.used_ms += now() - r.clock.started; r.clock.running = false; e('clock', { clock: clockOf(r) }); break;
        case 'timer_add': r.clock.budget_ms += msg.seconds * 1000; e('clock', { clock: clockOf(r) }); break;
        case 'timer_set': { const used = clockOf(r).used_ms; r.clock.budget_ms = used + msg.seconds * 1000; e('clock', { clock: clockOf(r) }); break; }
        case 'client_assign':
            if (msg.member_id === r.facilitator) return { error: 'bad_target' };
            cur().client = msg.member_id; e('client', { consultation: r.consultation, member_id: msg.member_id }); break;
        case 'facilitator_handover': r.facilitator = msg.member_id; g.facilitator = msg.member_id; e('facilitator', { member_id: msg.member_id }); break;
        case 'member_remove': {
            const m = g.members.find((x) => x.id === msg.member_id);
            if (!m) return { error: 'unknown_member' };
            m.removed = true; e('member_removed', { member_id: m.id }); break;
        }
        case 'role_set': {
            const m = g.members.find((x) => x.id === msg.member_id);
            m.observer = Boolean(msg.observer); e('role', { member: memberView(g, m) }); break;
        }
        case 'checkin_post': case 'topic_propose': case 'question_ask': case 'reformulation_post': case 'note_post':
            if ((bad = textOk(msg.text))) return { error: bad };
            addCard({ checkin_post: 'checkin', topic_propose: 'topic', question_ask: 'question', reformulation_post: 'reformulation', note_post: 'note' }[msg.type],
                msg.type === 'question_ask' ? { answer: null, flagged: false } : {});
            break;
        case 'contribution_post':
            if ((bad = textOk(msg.text))) return { error: bad };
            addCard('contribution', { kind: msg.kind }); break;
        case 'learning_post':
            if ((bad = textOk(msg.text))) return { error: bad };
            addCard('learning', { dimension: msg.dimension }); break;
        case 'action_add':
            if ((bad = textOk(msg.text))) return { error: bad };
            addCard('action', { due: msg.due ?? null }); break;
        case 'action_remove': {
            const card = r.cards.find((c) => c.id === msg.card_id && c.type === 'action' && !c.removed);
            if (!card) return { error: 'unknown_card' };
            card.removed = true; e('card_removed', { card_id: card.id }); break;
        }
        case 'problem_set':
            if ((bad = textOk(msg.text, 4000))) return { error: bad };
            cur().problem = msg.text; e('problem', { consultation: r.consultation, text: msg.text }); break;
        case 'contract_set':
            if ((bad = textOk(msg.text, 4000))) return { error: bad };
            cur().contract = msg.text; cur().acks = []; e('contract', { consultation: r.consultation, text: msg.text }); break;
        case 'contract_ack':
            if (!cur().contract) return { error: 'no_contract' };
            if (cur().acks.includes(me)) return { error: 'already_done' };
            cur().acks.push(me); e('contract_ack', { consultation: r.consultation, member_id: me }); break;
        case 'question_answer': case 'question_flag': {
            const card = r.cards.find((c) => c.id === msg.card_id && c.type === 'question');
            if (!card) return { error: 'unknown_card' };
            if (msg.type === 'question_answer') card.answer = msg.text; else card.flagged = Boolean(msg.flagged);
            e('card_updated', { card }); break;
        }
        case 'mark_set': {
            const card = r.cards.find((c) => c.id === msg.card_id && c.type === 'contribution');
            if (!card) return { error: 'unknown_card' };
            card.marked = Boolean(msg.marked); e('mark', { card_id: card.id, marked: card.marked }, 'client'); break;
        }
        case 'recadrage': cur().recadrages += 1; e('recadrage', { consultation: r.consultation, count: cur().recadrages }, 'clientfac'); break;
        case 'hand_raise': if (r.hands.includes(me)) return { error: 'already_done' }; r.hands.push(me); e('hands', { hands: r.hands.slice() }); break;
        case 'hand_lower': {
            const who = msg.member_id || me;
            if (who !== me && roleOf(g, me) !== 'facilitator') return { error: 'not_facilitator' };
            if (!r.hands.includes(who)) return { error: 'already_done' };
            r.hands = r.hands.filter((x) => x !== who); e('hands', { hands: r.hands.slice() }); break;
        }
        case 'debrief_post': return { error: 'unknown_action' };
        default: return { error: 'unknown_type' };
        }
        return { events: ev };
    }
    function fanout(g, events) {
        for (const c of conns) {
            if (c.g !== g || !c.member) continue;
            const r = g.room;
            const mine = events.filter(({ aud }) => aud === 'all' || aud === c.member
                || (aud === 'client' && r.consultations[r.consultation]?.client === c.member)
                || (aud === 'clientfac' && (r.consultations[r.consultation]?.client === c.member || r.facilitator === c.member)))
                .map(({ msg }) => (msg.type === 'card_added' || msg.type === 'card_updated') ? { ...msg, card: cardFor(g, msg.card, c.member) } : msg);
            if (mine.length === 1) send(c, mine[0]);
            else if (mine.length > 1) send(c, mine); // batched, as the real server may do
        }
    }
    function onCommand(conn, msg) {
        const g = conn.g;
        log.push({ member: conn.member, msg });
        if (typeof msg.id !== 'string' || !msg.id) return send(conn, err('missing_field'));
        const seen = g.room ? g.room.seen.get(`${conn.member}|${msg.id}`) : undefined;
        if (seen !== undefined) return send(conn, { type: 'ack', id: msg.id, seq: seen, duplicate: true });
        const bad = check(g, conn.member, msg);
        if (bad) return send(conn, err(bad, msg.id));
        const res = apply(g, conn.member, msg);
        if (res.error) return send(conn, err(res.error, msg.id));
        if (g.room) g.room.seen.set(`${conn.member}|${msg.id}`, g.room.seq);
        fanout(g, res.events);
        if (!holdAnswers) send(conn, { type: 'ack', id: msg.id, seq: g.room ? g.room.seq : 0 });
    }
    function presence(g, id, online) {
        toGroup(g, (c) => send(c, { type: 'presence', member_id: id, online }));
    }

    // ---- HTTP -----------------------------------------------------------
    async function body(req) {
        let s = '';
        for await (const chunk of req) s += chunk;
        try { return JSON.parse(s || '{}'); } catch { return null; }
    }
    function json(res, status, data) {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' });
        res.end(JSON.stringify(data));
    }
    const httpErr = (res, status, code) => json(res, status, { error: { code, message: code } });
    function auth(req, g) {
        const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
        return m && g.members.find((x) => x.key === m[1] && !x.removed);
    }
    const server = http.createServer(async (req, res) => {
        const url = new URL(req.url, 'http://x');
        const p = url.pathname;
        let m;
        if (p === '/api/health') return json(res, 200, { status: 'ok', version: 'fake' });
        if (p === '/api/groups' && req.method === 'POST') {
            const b = await body(req);
            if (!b || !b.name?.trim() || !b.facilitator_name?.trim()) return httpErr(res, 400, 'bad_field');
            const g = { id: crypto.randomUUID(), name: b.name.trim(), language: b.language || 'fr', format: b.format || 90, invite: secret(), members: [], room: null };
            const f = { id: crypto.randomUUID(), name: b.facilitator_name.trim(), key: secret(), observer: false };
            g.members.push(f); g.facilitator = f.id;
            groups.set(g.id, g);
            return json(res, 201, { group_id: g.id, member_id: f.id, member_key: f.key, invite_code: g.invite });
        }
        if ((m = /^\/api\/groups\/([^/]+)\/members$/.exec(p)) && req.method === 'POST') {
            const g = groups.get(m[1]);
            if (!g) return httpErr(res, 404, 'unknown_group');
            const b = await body(req);
            if (!b || b.invite_code !== g.invite) return httpErr(res, 401, 'bad_invite');
            if (!b.display_name?.trim()) return httpErr(res, 400, 'bad_field');
            const mem = { id: crypto.randomUUID(), name: b.display_name.trim(), key: secret(), observer: false };
            g.members.push(mem);
            toGroup(g, (c) => send(c, { type: 'member_joined', member: memberView(g, mem) }));
            return json(res, 201, { group_id: g.id, member_id: mem.id, member_key: mem.key });
        }
        if ((m = /^\/api\/groups\/([^/]+)\/sessions$/.exec(p)) && req.method === 'POST') {
            const g = groups.get(m[1]);
            if (!g) return httpErr(res, 404, 'unknown_group');
            const who = auth(req, g);
            if (!who) return httpErr(res, 401, 'unauthorized');
            if (who.id !== g.facilitator) return httpErr(res, 403, 'not_facilitator');
            if (g.room && g.room.step !== 'closed') return httpErr(res, 409, 'session_open');
            openRoom(g);
            return json(res, 201, { session_id: g.room.session_id });
        }
        if ((m = /^\/api\/groups\/([^/]+)$/.exec(p)) && req.method === 'GET') {
            const g = groups.get(m[1]);
            if (!g) return httpErr(res, 404, 'unknown_group');
            if (!auth(req, g)) return httpErr(res, 401, 'unauthorized');
            return json(res, 200, { group_id: g.id, name: g.name, language: g.language, format: g.format, facilitator: g.facilitator,
                members: g.members.filter((x) => !x.removed).map((x) => memberView(g, x)),
                session: g.room ? { session_id: g.room.session_id, step: g.room.step } : null });
        }
        if (p.startsWith('/api/')) return httpErr(res, 404, 'not_found');
        const file = path.normalize(path.join(WEB, p === '/' ? 'index.html' : p));
        if (!file.startsWith(WEB)) return httpErr(res, 404, 'not_found');
        try {
            const data = await readFile(file);
            res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream', 'Content-Security-Policy': CSP,
                'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
            res.end(data);
        } catch {
            httpErr(res, 404, 'not_found');
        }
    });

    // ---- WebSocket ------------------------------------------------------
    const wss = new WebSocketServer({ noServer: true, handleProtocols: (ps) => (ps.has('codev.v1') ? 'codev.v1' : false) });
    server.on('upgrade', (req, sock, head) => {
        if (new URL(req.url, 'http://x').pathname !== '/ws') return sock.destroy();
        wss.handleUpgrade(req, sock, head, (ws) => {
            const conn = { ws, g: null, member: null };
            conns.add(conn);
            ws.on('message', (data) => {
                let msg;
                try { msg = JSON.parse(String(data)); } catch { return send(conn, err('bad_json')); }
                if (!conn.member) {
                    if (msg.type !== 'hello') return send(conn, err('hello_required', msg.id));
                    const g = groups.get(msg.group_id);
                    if (!g) return send(conn, err('unknown_group'));
                    const mem = g.members.find((x) => x.key === msg.member_key);
                    if (!mem) return send(conn, err('bad_key'));
                    if (mem.removed) return send(conn, err('member_removed'));
                    const first = ![...conns].some((c) => c.g === g && c.member === mem.id);
                    conn.g = g; conn.member = mem.id;
                    send(conn, { type: 'welcome', protocol: 'codev.v1', server_ms: now(),
                        you: { member_id: mem.id, name: mem.name, role: roleOf(g, mem.id) },
                        group: { id: g.id, name: g.name, language: g.language, format: g.format },
                        room: g.room ? snapshot(g, mem.id) : null });
                    if (first) presence(g, mem.id, true);
                    return undefined;
                }
                if (msg.type === 'hello') return send(conn, err('already_hello'));
                return onCommand(conn, msg);
            });
            ws.on('close', () => {
                conns.delete(conn);
                if (conn.member && ![...conns].some((c) => c.g === conn.g && c.member === conn.member)) presence(conn.g, conn.member, false);
            });
        });
    });
    const ticker = setInterval(() => {
        for (const g of groups.values()) {
            if (g.room && g.room.clock.running) toGroup(g, (c) => send(c, { type: 'tick', clock: clockOf(g.room), server_ms: now() }));
        }
    }, 1000);

    await new Promise((resolve) => server.listen(opts.port || 0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        url: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        log,
        groups,
        /** Commands are applied but their ack is withheld (a lost answer). */
        holdAnswers(on) { holdAnswers = on; },
        /** Closes every WebSocket (a network cut); clients must reconnect. */
        dropAll() { for (const c of conns) c.ws.terminate(); },
        async stop() {
            clearInterval(ticker);
            for (const c of conns) c.ws.terminate();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}

// `node tests/browser/lib/fake-server.mjs [port]` serves it for manual use.
if (import.meta.url === `file://${process.argv[1]}`) {
    startFake({ port: Number(process.argv[2]) || 8099 }).then((s) => console.log(`fake codevd at ${s.url}`));
}
