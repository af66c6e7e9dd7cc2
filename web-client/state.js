// state.js - the page's copy of the room, changed only by server messages.
//
// - `welcome` and `session_opened` replace the room with the snapshot; the
//   snapshot's seq becomes lastSeq.
// - Events carry seq: one with seq <= lastSeq was already applied (it is in
//   the snapshot, or arrived twice) and is ignored.
// - `tick`, `presence`, `member_joined` carry no seq and are always applied;
//   so does `facilitator_offer` (the edge asks me to stand in for an absent
//   facilitator). `display_welcome` makes this page a display screen.
// - Every applied message may produce "news" (a card from someone else, a
//   step change) that the page announces to screen readers.
// Roles are derived from the room (facilitator id, current client,
// observer flag) so that one event changes everyone's role consistently.
// What a member may do and which limits hold are the server's: `welcome`
// brings the step list, the limits in force and the rules table (generated
// from rules.c, proto/README.md 2.1); `may` reads the table with the
// member's role and step now, so no view re-implements a rule.

export const ROLES = ['facilitator', 'client', 'consultant', 'observer'];
export const KINDS = ['suggestion', 'experience', 'feeling'];
export const DIMENSIONS = ['process', 'content'];
export const OUTCOMES = ['done', 'partly', 'not_done', 'dropped'];

export function createState() {
    return {
        you: null,            // {member_id, name, role, form}
        group: null,          // {id, name, language, format}
        room: null,           // the snapshot, kept up to date
        steps: [],            // the steps in order, from welcome
        limits: {},           // the limits in force, from welcome
        rules: {},            // role -> command -> steps allowed, from welcome
        lastSeq: 0,
        clockAt: 0,           // performance.now() when room.clock was received
        groupMembers: [],     // members when no session is open (HTTP)
        removed: false,       // this member was removed
        offer: null,          // {facilitator} while the edge offers me facilitation
        display: false,       // a display screen (display_welcome): reads only
        version: 0,           // bumps on every applied change
    };
}

function upsert(list, item, key = 'id') {
    const i = list.findIndex((x) => x[key] === item[key]);
    if (i >= 0) list[i] = { ...list[i], ...item };
    else list.push(item);
}

function setClock(s, clock) {
    if (!s.room || !clock) return;
    s.room.clock = clock;
    s.clockAt = performance.now();
}

function normalizeRoom(room) {
    room.members = room.members || [];
    room.cards = room.cards || [];
    room.hands = room.hands || [];
    room.debriefs = room.debriefs || [];
    room.consultations = room.consultations || [];
    for (const c of room.consultations) c.acks = c.acks || [];
    room.floor = room.floor || null;
    room.round = room.round || null;
    room.balance = room.balance || [];
    return room;
}

/**
 * Applies one server message to s. Returns a list of news items:
 * {kind: 'card', card} | {kind: 'step', step} | {kind: 'closed'} |
 * {kind: 'removed'} | {kind: 'session'} | {kind: 'recadrage', count} |
 * {kind: 'facilitator', member, reason}.
 * {kind: 'recadrage_ack', count}.
 */
export function apply(s, msg) {
    const news = [];
    const t = msg.type;
    if (t === 'welcome') {
        s.you = msg.you || s.you;
        s.group = msg.group || s.group;
        s.steps = msg.steps || s.steps;
        s.limits = msg.limits || s.limits;
        s.rules = msg.rules || s.rules;
        s.room = msg.room ? normalizeRoom(msg.room) : null;
        s.lastSeq = s.room ? (s.room.seq || 0) : 0;
        if (s.room) s.clockAt = performance.now();
        s.version += 1;
        return news;
    }
    if (t === 'display_welcome') {
        // A display screen: no "you", no rules; the room as everyone sees it.
        s.display = true;
        s.you = null;
        s.group = msg.group || s.group;
        s.steps = msg.steps || s.steps;
        s.room = msg.room ? normalizeRoom(msg.room) : null;
        s.lastSeq = s.room ? (s.room.seq || 0) : 0;
        if (s.room) s.clockAt = performance.now();
        s.version += 1;
        return news;
    }
    if (t === 'facilitator_offer') {
        s.offer = msg.open ? { facilitator: msg.facilitator } : null;
        s.version += 1;
        return news;
    }
    if (t === 'session_opened') {
        s.room = normalizeRoom(msg.room);
        s.lastSeq = s.room.seq || 0;
        s.clockAt = performance.now();
        s.version += 1;
        news.push({ kind: 'session' });
        return news;
    }
    if (t === 'tick') {
        setClock(s, msg.clock);
        s.version += 1;
        return news;
    }
    if (t === 'presence') {
        const list = s.room ? s.room.members : s.groupMembers;
        const m = list.find((x) => x.id === msg.member_id);
        if (m) m.online = Boolean(msg.online);
        s.version += 1;
        return news;
    }
    if (t === 'group_updated') {
        s.group = { ...s.group, ...msg.group };
        s.version += 1;
        return news;
    }
    if (t === 'member_updated') {
        // A member's own settings (the form of their role labels).
        if (msg.member) {
            const keep = (list) => { const m = list.find((x) => x.id === msg.member.id); if (m) Object.assign(m, { form: msg.member.form }); };
            keep(s.groupMembers);
            if (s.room) keep(s.room.members);
            if (s.you && s.you.member_id === msg.member.id) s.you = { ...s.you, form: msg.member.form };
        }
        s.version += 1;
        return news;
    }
    if (t === 'group_member_removed') {
        // Removed between sessions (no seq): gone from the group's list.
        s.groupMembers = s.groupMembers.filter((m) => m.id !== msg.member_id);
        if (s.you && msg.member_id === s.you.member_id) {
            s.removed = true;
            news.push({ kind: 'removed' });
        }
        s.version += 1;
        return news;
    }
    if (t === 'member_joined') {
        if (msg.member) {
            upsert(s.groupMembers, { online: false, observer: false, ...msg.member });
            if (s.room) upsert(s.room.members, { online: false, observer: false, ...msg.member });
        }
        s.version += 1;
        return news;
    }
    if (typeof msg.seq !== 'number' || t === 'ack' || t === 'error') return news;
    // An event.
    if (!s.room) return news;
    if (msg.seq <= s.lastSeq) return news;
    s.lastSeq = msg.seq;
    const r = s.room;
    r.seq = msg.seq;
    switch (t) {
    case 'step':
        r.step = msg.step;
        if (msg.consultation !== undefined) r.consultation = msg.consultation;
        setClock(s, msg.clock);
        news.push({ kind: 'step', step: msg.step });
        if (msg.step === 'closed') news.push({ kind: 'closed' });
        break;
    case 'clock':
        setClock(s, msg.clock);
        break;
    case 'consultation': {
        const c = { acks: [], ...msg.consultation };
        const i = r.consultations.findIndex((x) => x.index === c.index);
        if (i >= 0) r.consultations[i] = { ...r.consultations[i], ...c };
        else r.consultations.push(c);
        r.consultations.sort((a, b) => a.index - b.index);
        break;
    }
    case 'client': {
        const c = consultationAt(r, msg.consultation);
        if (c) c.client = msg.member_id;
        break;
    }
    case 'facilitator':
        r.facilitator = msg.member_id;
        r.facilitator_away = msg.facilitator_away ?? null;
        if (r.cofacilitator === msg.member_id) r.cofacilitator = null;
        s.offer = null;
        news.push({ kind: 'facilitator', member: msg.member_id, reason: msg.reason });
        break;
    case 'cofacilitator':
        r.cofacilitator = msg.member_id ?? null;
        break;
    case 'role':
        if (msg.member) upsert(r.members, msg.member);
        break;
    case 'member_removed':
        r.members = r.members.filter((m) => m.id !== msg.member_id);
        r.hands = r.hands.filter((id) => id !== msg.member_id);
        s.groupMembers = s.groupMembers.filter((m) => m.id !== msg.member_id);
        if (s.you && msg.member_id === s.you.member_id) {
            s.removed = true;
            news.push({ kind: 'removed' });
        }
        break;
    case 'card_added':
        if (msg.card && !r.cards.some((c) => c.id === msg.card.id)) {
            r.cards.push(msg.card);
            news.push({ kind: 'card', card: msg.card });
        }
        break;
    case 'card_updated':
        // Edited or withdrawn by its author, or a question answered or
        // flagged. The event is encoded once for everyone, so its `marked`
        // is false: the client keeps its own mark (a withdrawn card has
        // none). Flags absent from the event are false.
        if (msg.card) {
            const old = r.cards.find((c) => c.id === msg.card.id);
            const card = { edited: false, withdrawn: false, ...msg.card };
            if (old && old.marked && card.type === 'contribution' && !card.withdrawn) card.marked = true;
            upsert(r.cards, card);
        }
        break;
    case 'card_removed':
        r.cards = r.cards.filter((c) => c.id !== msg.card_id);
        break;
    case 'problem': {
        const c = consultationAt(r, msg.consultation);
        if (c) c.problem = msg.text;
        break;
    }
    case 'retained': {
        const c = consultationAt(r, msg.consultation);
        if (c) c.retained = msg.text;
        break;
    }
    case 'contract': {
        const c = consultationAt(r, msg.consultation);
        if (c) { c.contract = msg.text; c.acks = []; }
        break;
    }
    case 'contract_ack': {
        const c = consultationAt(r, msg.consultation);
        if (c && !c.acks.includes(msg.member_id)) c.acks.push(msg.member_id);
        break;
    }
    case 'mark': {
        const card = r.cards.find((c) => c.id === msg.card_id);
        if (card) card.marked = Boolean(msg.marked);
        break;
    }
    case 'recadrage': {
        const c = consultationAt(r, msg.consultation);
        if (c) c.recadrages = msg.count;
        news.push({ kind: 'recadrage', count: msg.count });
        break;
    }
    case 'recadrage_ack': {
        const c = consultationAt(r, msg.consultation);
        if (c) c.recadrages_seen = msg.count;
        news.push({ kind: 'recadrage_ack', count: msg.count });
        break;
    }
    case 'hands':
        r.hands = msg.hands || [];
        break;
    case 'debrief':
        if (msg.debrief) upsert(r.debriefs, msg.debrief);
        break;
    case 'floor': {
        const was = r.floor ? r.floor.member_id : null;
        r.floor = msg.floor || null;
        r.round = msg.round || null;
        if (r.floor && r.floor.member_id !== was) news.push({ kind: 'floor', member: r.floor.member_id });
        break;
    }
    case 'balance': {
        if (!msg.balance) break;
        const i = r.balance.findIndex((b) => b.member_id === msg.balance.member_id);
        if (i >= 0) r.balance[i] = msg.balance;
        else r.balance.push(msg.balance);
        break;
    }
    case 'closed':
        if (r.step !== 'closed') news.push({ kind: 'step', step: 'closed' }, { kind: 'closed' });
        r.step = 'closed';
        if (r.clock) r.clock = { ...r.clock, running: false };
        break;
    default:
        break;
    }
    s.version += 1;
    return news;
}

// ---- selectors ----------------------------------------------------------

export function consultationAt(room, index) {
    if (!room || index === null || index === undefined) return null;
    return room.consultations.find((c) => c.index === index) || null;
}

export function currentConsultation(room) {
    return room ? consultationAt(room, room.consultation) : null;
}

export function member(s, id) {
    const list = s.room ? s.room.members : s.groupMembers;
    return list.find((m) => m.id === id) || s.groupMembers.find((m) => m.id === id) || null;
}

export function memberName(s, id, fallback = '?') {
    const m = member(s, id);
    return m ? m.name : fallback;
}

/** A member's role now, derived from the room. */
export function roleOf(s, id) {
    const r = s.room;
    if (!r) {
        const m = s.groupMembers.find((x) => x.id === id);
        if (s.you && id === s.you.member_id && s.you.role) return s.you.role;
        return (m && m.role) || 'consultant';
    }
    const m = r.members.find((x) => x.id === id);
    if (id === r.facilitator) return 'facilitator';
    if (m && m.observer) return 'observer';
    const c = currentConsultation(r);
    if (c && c.client === id && r.step !== 'closed') return 'client';
    return 'consultant';
}

/** The grammatical form a member chose for their role labels: 'f', 'm' or
 * 'n' (neutral, also when unknown). */
export function formOf(s, id) {
    if (s.you && id === s.you.member_id && s.you.form) return s.you.form;
    const m = member(s, id);
    return m && ['f', 'm', 'n'].includes(m.form) ? m.form : 'n';
}

export function myId(s) {
    return s.you ? s.you.member_id : null;
}

export function myRole(s) {
    return roleOf(s, myId(s));
}

/** True when the member may send the command cmd now, by the server's
 * rules table (welcome.rules) for its role in the room's step. */
export function may(s, cmd) {
    if (!s.room) return false;
    const allowed = (s.rules[myRole(s)] || {})[cmd];
    return Boolean(allowed && allowed.includes(s.room.step));
}

/** A limit in force on the server (welcome.limits), e.g. 'text_max_chars'. */
export function limit(s, name) {
    return s.limits[name];
}

/** The steps a session goes through, 'closed' left out (the step bar). */
export function sessionSteps(s) {
    return s.steps.filter((x) => x !== 'closed');
}

export function isFacilitator(s) {
    return myRole(s) === 'facilitator';
}

/** Cards of the current consultation (or of opening), by type, oldest first. */
export function cardsOf(s, type, consultation = s.room ? s.room.consultation : null) {
    if (!s.room) return [];
    return s.room.cards
        .filter((c) => c.type === type && (type === 'note' || type === 'checkin'
            || (c.consultation ?? null) === (consultation ?? null)))
        .sort((a, b) => a.id - b.id);
}

/** Is the step untimed (the facilitator set it to 0: budget 0)? Then the
 * clock counts the time spent and never overruns (proto 2.3, timer_set). */
export function untimed(s) {
    const c = s.room && s.room.clock;
    return Boolean(c) && c.budget_ms === 0;
}

/** Ms spent on the step clock now, from the last server clock state. */
export function usedMs(s, now = performance.now()) {
    const c = s.room && s.room.clock;
    if (!c) return null;
    return c.used_ms + (c.running ? Math.max(0, now - s.clockAt) : 0);
}

/** Remaining ms on the step clock now, from the last server clock state. */
export function remainingMs(s, now = performance.now()) {
    const c = s.room && s.room.clock;
    if (!c) return null;
    let rem = typeof c.remaining_ms === 'number' ? c.remaining_ms : (c.budget_ms - c.used_ms);
    if (c.running) rem -= Math.max(0, now - s.clockAt);
    return rem;
}

/** The server's time now, as the last clock it sent says. */
export function serverNow(s, now = performance.now()) {
    const c = s.room && s.room.clock;
    if (!c || typeof c.server_ms !== 'number') return null;
    return c.server_ms + Math.max(0, now - s.clockAt);
}

/**
 * The floor now: {member, elapsed, remaining} (remaining null without a
 * turn budget, negative once over), or null when nobody has it.
 */
export function floorNow(s, now = performance.now()) {
    const r = s.room;
    if (!r || !r.floor) return null;
    const at = serverNow(s, now);
    const elapsed = at === null ? 0 : Math.max(0, at - r.floor.since_ms);
    const budget = r.round && r.round.active && r.round.turn_ms ? r.round.turn_ms : null;
    return { member: r.floor.member_id, elapsed, remaining: budget === null ? null : budget - elapsed };
}

/** Consultants now (excluding facilitator, client and observers). */
export function consultants(s) {
    if (!s.room) return [];
    return s.room.members.filter((m) => roleOf(s, m.id) === 'consultant');
}
