// The group's life between sessions (issue 14, first part; proto/README.md
// 1.1): who next (rotation and rota), the next session as an iCalendar file,
// cases proposed in advance, exposé drafts and debriefs posted in advance.
// Every text is a distinctive random string, so that the byte search of the
// database files (as in retention.test.mjs) can tell where it went.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, joinGroup, createGroup, storeBytes, holds } from './lib/client.mjs';
import { validateHttp } from './lib/schemas.mjs';
import { setupGroup, advance, settle, drainAll, closeAll, assertAllClean } from './lib/scenario.mjs';

const rnd = (label) => `${label}-${randomBytes(8).toString('hex')}`;

/** One call, asserting its status and (for 2xx) its schema. */
async function call(srv, method, p, { key, body, schema, status = 200 } = {}) {
    const res = await api(srv.url, method, p, { key, body, schema });
    assert.equal(res.status, status, `${method} ${p}: ${res.text}`);
    assert.deepEqual(res.schemaErrors, [], `${method} ${p}: schema`);
    return res.body;
}

/** Asserts an error answer with status and code. */
async function refused(srv, method, p, { key, body, rawBody, status, code }) {
    const res = await api(srv.url, method, p, { key, body, rawBody });
    assert.equal(res.status, status, `${method} ${p} ${JSON.stringify(body)}: ${res.text}`);
    assert.deepEqual(res.schemaErrors, []);
    if (code) assert.equal(res.body.error.code, code, `${method} ${p}: ${res.text}`);
    return res;
}

const between = (srv, g, who) => call(srv, 'GET', `/api/groups/${g.groupId}/between`, { key: who.key, schema: 'between' });
const rotation = (srv, g, who) => call(srv, 'GET', `/api/groups/${g.groupId}/rotation`, { key: who.key, schema: 'rotation' });

/** Parses an iCalendar text with Debian's python3-icalendar: one VEVENT as JSON. */
function parseIcs(text) {
    const py = `
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
evs = [c for c in cal.walk() if c.name == 'VEVENT']
out = []
for e in evs:
    out.append({'uid': str(e.get('uid')), 'start': e.decoded('dtstart').isoformat(),
                'end': e.decoded('dtend').isoformat(), 'seq': int(e.get('sequence')),
                'summary': str(e.get('summary')), 'url': str(e.get('url', '')),
                'stamp': e.decoded('dtstamp').isoformat()})
print(json.dumps({'version': str(cal.get('version')), 'events': out}))
`;
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    return JSON.parse(execFileSync(python, ['-c', py], { input: text }).toString());
}

/** Makes session roles: the facilitator, the client, the consultants (everyone else but the observer). */
function roles(g, F, C) {
    g.F = F;
    g.C = C;
    g.K = g.everyone.filter((x) => x !== F && x !== C && x !== g.O);
    g.clientNamed = g.problem = g.contract = false;
}

async function openSession(g) {
    drainAll(g);
    await g.F.ok({ type: 'session_open' });
    await Promise.all(g.everyone.map((c) => c.nextEvent('session_opened')));
    g.step = 'opening';
    if (g.O && !g.O.room.members.find((m) => m.id === g.O.memberId).observer)
        await settle(g, (await g.F.ok({ type: 'role_set', member_id: g.O.memberId, observer: true })).seq);
    drainAll(g);
}

async function closeSession(g) {
    const close = await g.F.ok({ type: 'session_close' });
    await settle(g, close.seq);
    drainAll(g);
}

test('three sessions: rotation suggestions follow the turns, the rota is used up, a proposal becomes the topic, an advance debrief shows at the opening', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false });
        const [claire, karim, lea, julien, sophie] = [g.F, g.C, ...g.K];
        const gid = g.groupId;
        const ids = (list) => list.map((x) => x.memberId);

        // Before any session: nobody was anything; group order (Marc is
        // not an observer yet: the first session makes him one).
        let rot = await rotation(srv, g, lea);
        assert.equal(rot.sessions, 0);
        assert.deepEqual(rot.next_clients, ids([claire, karim, lea, julien, sophie, g.O]));
        assert.deepEqual(rot.next_facilitators, ids([claire, karim, lea, julien, sophie, g.O]));

        // The facilitator sets a rota; members read it; a consultant may not set it.
        const rota = [{ client: karim.memberId, facilitator: claire.memberId },
            { client: lea.memberId, facilitator: julien.memberId },
            { client: sophie.memberId, facilitator: null }];
        assert.deepEqual(validateHttp('rota_request', { rota }), []);
        let b = await call(srv, 'POST', `/api/groups/${gid}/rota`, { key: claire.key, body: { rota }, schema: 'between' });
        assert.equal(b.rota.length, 3);
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: lea.key, body: { rota }, status: 403, code: 'not_facilitator' });
        b = await between(srv, g, sophie);
        assert.deepEqual(b.rota.map((r) => [r.client?.name ?? null, r.facilitator?.name ?? null]),
            [['Karim', 'Claire'], ['Léa', 'Julien'], ['Sophie', null]]);

        // Cases proposed in advance: visible to all, editable and withdrawable by the author only.
        const kTitle = rnd('karim-title'), kText = rnd('karim-text');
        const kOld = rnd('karim-first-title'), kOldText = rnd('karim-first-text');
        const kp = await call(srv, 'POST', `/api/groups/${gid}/proposals`, { key: karim.key, body: { title: kOld, text: kOldText }, schema: 'proposal', status: 201 });
        assert.ok(holds(storeBytes(srv.dataDir), kOldText), 'a proposal is on disk');
        await refused(srv, 'POST', `/api/groups/${gid}/proposals/${kp.id}`, { key: lea.key, body: { title: 'mine now' }, status: 403, code: 'not_author' });
        await refused(srv, 'DELETE', `/api/groups/${gid}/proposals/${kp.id}`, { key: claire.key, status: 403, code: 'not_author' });
        const edited = await call(srv, 'POST', `/api/groups/${gid}/proposals/${kp.id}`, { key: karim.key, body: { title: kTitle, text: kText }, schema: 'proposal' });
        assert.equal(edited.title, kTitle);
        let bytes = storeBytes(srv.dataDir);
        assert.ok(!holds(bytes, kOld) && !holds(bytes, kOldText), 'the text an edit replaced leaves no byte in the database or its WAL');
        const jTitle = rnd('julien'), jText = rnd('julien-text');
        const jp = await call(srv, 'POST', `/api/groups/${gid}/proposals`, { key: julien.key, body: { title: jTitle, text: jText }, schema: 'proposal', status: 201 });
        assert.ok(holds(storeBytes(srv.dataDir), jText));
        await call(srv, 'DELETE', `/api/groups/${gid}/proposals/${jp.id}`, { key: julien.key, schema: 'proposal_withdrawn' });
        bytes = storeBytes(srv.dataDir);
        assert.ok(!holds(bytes, jTitle) && !holds(bytes, jText), 'a withdrawn proposal leaves no byte in the database or its WAL');
        b = await between(srv, g, sophie);
        assert.deepEqual(b.proposals.map((p) => [p.title, p.text, p.author.name, p.chosen]), [[kTitle, kText, 'Karim', false]]);

        // Session 1: Karim's proposal is brought to the topic step and becomes the topic.
        roles(g, claire, karim);
        await openSession(g);
        await refused(srv, 'POST', `/api/groups/${gid}/proposals/${kp.id}/choose`, { key: lea.key, status: 403, code: 'not_author' });
        await advance(g, 'topic');
        const chosen = await call(srv, 'POST', `/api/groups/${gid}/proposals/${kp.id}/choose`, { key: karim.key, schema: 'proposal' });
        assert.equal(chosen.chosen, true);
        await refused(srv, 'POST', `/api/groups/${gid}/proposals/${kp.id}/choose`, { key: karim.key, status: 409, code: 'already_done' });
        await settle(g, (await karim.ok({ type: 'topic_propose', text: `${kTitle}\n${kText}` })).seq);
        assert.ok([...lea.cards.values()].some((c) => c.type === 'topic' && c.text.startsWith(kTitle)), 'the proposal is the topic');
        await advance(g, 'synthesis');
        const action = rnd('action');
        await settle(g, (await karim.ok({ type: 'action_add', text: action })).seq);
        await closeSession(g);

        b = await between(srv, g, lea);
        assert.deepEqual(b.proposals, [], 'the chosen proposal went with the session');
        assert.deepEqual(b.rota.map((r) => r.client?.name ?? null), ['Léa', 'Sophie'], 'the first rota entry is used up');
        rot = await rotation(srv, g, lea);
        assert.equal(rot.sessions, 1);
        assert.equal(rot.members.find((m) => m.id === g.O.memberId).observer, true, 'the observer is listed, never suggested');
        assert.deepEqual(rot.next_clients, ids([claire, lea, julien, sophie, karim]), 'Karim was client: last now');
        assert.deepEqual(rot.next_facilitators, ids([karim, lea, julien, sophie, claire]), 'Claire facilitated: last now');
        const kRow = rot.members.find((m) => m.id === karim.memberId);
        assert.equal(kRow.as_client, 1);
        assert.equal(typeof kRow.last_client_ms, 'number');

        // Karim debriefs in advance; only he may; only he sees his plans.
        b = await between(srv, g, karim);
        assert.equal(b.debriefs.length, 1);
        assert.equal(b.debriefs[0].text, action);
        const planId = b.debriefs[0].plan_id;
        const comment = rnd('advance-comment');
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: lea.key, body: { plan_id: planId, outcome: 'done' }, status: 403, code: 'not_earlier_client' });
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: karim.key, body: { plan_id: planId, outcome: 'finished' }, status: 400, code: 'bad_field' });
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: karim.key, body: { plan_id: planId, outcome: 'done', comment: 'é'.repeat(1001) }, status: 400, code: 'text_too_long' });
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: karim.key, body: { plan_id: planId, outcome: 'done', comment: 42 }, status: 400, code: 'bad_field' });
        b = await call(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: karim.key, body: { plan_id: planId, outcome: 'partly', comment }, schema: 'between' });
        assert.deepEqual([b.debriefs[0].outcome, b.debriefs[0].comment], ['partly', comment]);
        assert.deepEqual((await between(srv, g, lea)).debriefs, []);

        // The observer proposes nothing and drafts nothing.
        await refused(srv, 'POST', `/api/groups/${gid}/proposals`, { key: g.O.key, body: { title: 'observer' }, status: 403, code: 'observer_read_only' });
        await refused(srv, 'POST', `/api/groups/${gid}/draft`, { key: g.O.key, body: { text: 'observer' }, status: 403, code: 'observer_read_only' });

        // Léa proposes her case for session 2.
        const lTitle = rnd('lea-title');
        const lp = await call(srv, 'POST', `/api/groups/${gid}/proposals`, { key: lea.key, body: { title: lTitle }, schema: 'proposal', status: 201 });

        // Session 2: the opening shows Karim's advance debrief, and he completes it live.
        roles(g, claire, lea);
        await openSession(g);
        for (const who of g.everyone) {
            const d = who.room.debriefs.find((x) => x.id === planId);
            assert.ok(d, `${who.name} sees the debrief`);
            assert.deepEqual([d.outcome, d.comment], ['partly', comment], `${who.name} sees it at the opening`);
        }
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: karim.key, body: { plan_id: planId, outcome: 'done' }, status: 404, code: 'unknown_action' });
        const live = rnd('live-comment');
        await settle(g, (await karim.ok({ type: 'debrief_post', debrief_id: planId, outcome: 'done', text: live })).seq);
        // Julien facilitates this one, as the rota says.
        await settle(g, (await claire.ok({ type: 'facilitator_handover', member_id: julien.memberId })).seq);
        roles(g, julien, lea);
        await advance(g, 'topic');
        await call(srv, 'POST', `/api/groups/${gid}/proposals/${lp.id}/choose`, { key: julien.key, schema: 'proposal' });
        await settle(g, (await lea.ok({ type: 'topic_propose', text: lTitle })).seq);
        await advance(g, 'synthesis');
        await closeSession(g);

        rot = await rotation(srv, g, sophie);
        assert.equal(rot.sessions, 2);
        assert.deepEqual(rot.next_clients, ids([claire, julien, sophie, karim, lea]));
        assert.deepEqual(rot.next_facilitators, ids([karim, lea, sophie, claire, julien]));
        b = await between(srv, g, karim);
        assert.deepEqual(b.debriefs, [], 'debriefed in session 2');
        assert.deepEqual(b.rota.map((r) => r.client?.name ?? null), ['Sophie']);

        // Session 3: Sophie is client, Karim facilitates.
        roles(g, julien, sophie);
        await openSession(g);
        await settle(g, (await julien.ok({ type: 'facilitator_handover', member_id: karim.memberId })).seq);
        roles(g, karim, sophie);
        await advance(g, 'synthesis');
        await closeSession(g);
        rot = await rotation(srv, g, claire);
        assert.equal(rot.sessions, 3);
        assert.deepEqual(rot.next_clients, ids([claire, julien, karim, lea, sophie]));
        assert.deepEqual(rot.next_facilitators, ids([lea, sophie, claire, julien, karim]));
        assert.deepEqual((await between(srv, g, claire)).rota, [], 'the rota is used up');

        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});

test('next session: set by the facilitator, an RFC 5545 file every member downloads, parsed by python3-icalendar; stable UID per slot', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false });
        const gid = g.groupId;
        const secret = rnd('proposal');
        await call(srv, 'POST', `/api/groups/${gid}/proposals`, { key: g.C.key, body: { title: secret, text: secret }, schema: 'proposal', status: 201 });
        await call(srv, 'POST', `/api/groups/${gid}/draft`, { key: g.C.key, body: { text: rnd('draft') }, schema: 'between' });

        await refused(srv, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.K[0].key, status: 404, code: 'no_next_session' });
        const body = { date: '2031-03-14', time: '18:30', duration_min: 90, link: 'https://meet.example.org/codev-lyon?room=a,b;c', time_zone: 'Europe/Paris' };
        assert.deepEqual((await api(srv.url, 'GET', '/api/health')).status, 200);
        await refused(srv, 'POST', `/api/groups/${gid}/next-session`, { key: g.K[0].key, body, status: 403, code: 'not_facilitator' });
        let b = await call(srv, 'POST', `/api/groups/${gid}/next-session`, { key: g.F.key, body, schema: 'between' });
        assert.equal(b.time_zone, 'Europe/Paris');
        assert.equal(b.next_session.start_ms, Date.UTC(2031, 2, 14, 17, 30));
        b = await between(srv, g, g.O);
        assert.equal(b.next_session.link, body.link, 'every member sees it');

        const res = await api(srv.url, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.O.key });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('content-type'), 'text/calendar; charset=utf-8');
        assert.match(res.headers.get('content-disposition') || '', /attachment; filename="codev-next-session\.ics"/);
        const raw = res.text;
        assert.ok(raw.split('\r\n').slice(0, -1).every((l) => Buffer.byteLength(l) <= 75), 'lines folded at 75 octets');
        assert.ok(!/[^\r]\n/.test(raw), 'every line ends in CRLF');
        assert.ok(!raw.includes(secret), 'no case text in the file');
        const cal = parseIcs(raw);
        assert.equal(cal.version, '2.0');
        assert.equal(cal.events.length, 1);
        const ev = cal.events[0];
        assert.equal(ev.start, '2031-03-14T17:30:00+00:00');
        assert.equal(ev.end, '2031-03-14T19:00:00+00:00');
        assert.equal(ev.summary, 'Managers Lyon');
        assert.equal(ev.url, body.link);
        assert.match(ev.uid, new RegExp(`^${gid}-0@codevd$`));

        // Summer time, a date past the zone file's transitions (its TZ rule), another zone.
        for (const [date, time, tz, utc] of [['2031-07-01', '18:30', 'Europe/Paris', '2031-07-01T16:30:00+00:00'],
            ['2045-07-01', '09:00', 'Europe/Paris', '2045-07-01T07:00:00+00:00'],
            ['2045-12-01', '09:00', 'Europe/Paris', '2045-12-01T08:00:00+00:00'],
            ['2031-11-02', '01:30', 'America/New_York', '2031-11-02T05:30:00+00:00'],
            ['2031-01-10', '10:00', 'Australia/Sydney', '2031-01-09T23:00:00+00:00'],
            ['2031-06-10', '10:00', 'UTC', '2031-06-10T10:00:00+00:00']]) {
            await call(srv, 'POST', `/api/groups/${gid}/next-session`, { key: g.F.key, body: { date, time, duration_min: 60, time_zone: tz }, schema: 'between' });
            const again = parseIcs((await api(srv.url, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.K[1].key })).text);
            assert.equal(again.events[0].start, utc, `${date} ${time} ${tz}`);
            assert.equal(again.events[0].uid, ev.uid, 'the same slot keeps its UID');
            assert.ok(again.events[0].seq > ev.seq, 'SEQUENCE grows with every change');
        }
        // Kept across a restart.
        await closeAll(g);
        await srv.stop({ keepData: true });
        const srv2 = await startServer({ dataDir: srv.dataDir });
        try {
            b = await between(srv2, g, g.K[0]);
            assert.equal(b.next_session.time_zone, 'UTC');
            assert.equal(b.next_session.date, '2031-06-10');
            // A session opens: the slot is used; the next one gets another UID.
            await call(srv2, 'POST', `/api/groups/${gid}/sessions`, { key: g.F.key, body: {}, schema: 'open_session_response', status: 201 });
            b = await between(srv2, g, g.K[0]);
            assert.equal(b.next_session, null);
            await refused(srv2, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.K[0].key, status: 404, code: 'no_next_session' });
            await call(srv2, 'POST', `/api/groups/${gid}/next-session`, { key: g.F.key, body: { date: '2031-09-01', time: '18:00', duration_min: 120 }, schema: 'between' });
            const next = parseIcs((await api(srv2.url, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.K[0].key })).text);
            assert.equal(next.events[0].uid, `${gid}-1@codevd`);
            assert.equal(next.events[0].start, '2031-09-01T18:00:00+00:00', 'the group kept UTC as its zone');
            await call(srv2, 'DELETE', `/api/groups/${gid}/next-session`, { key: g.F.key, schema: 'between' });
            await refused(srv2, 'GET', `/api/groups/${gid}/next-session.ics`, { key: g.K[0].key, status: 404, code: 'no_next_session' });
        } finally {
            await srv2.stop();
        }
    } finally {
        await srv.stop().catch(() => {});
    }
});

test('the iCalendar file of a group named with , ; \\ and accents, and a 480-byte link: escaped, folded at 75 octets without cutting a character, parsed back exactly', async () => {
    const srv = await startServer();
    try {
        // At most name_max_chars (60), 2- and 3-byte characters, every TEXT special but the newline (a name has
        // none); the SUMMARY line's 76th octet is inside the final "…", so a fold at 75 octets must back up.
        const name = 'Équipe « Nord, Sud ; Est \\ Ouest » — gestionnaires de Lyon…';
        assert.ok([...name].length <= 60);
        const line = Buffer.from(`SUMMARY:${name.replace(/[\\;,]/g, (c) => `\\${c}`)}`);
        assert.ok(line.length > 75 && (line[75] & 0xc0) === 0x80, 'the premise: a naive fold would cut a character');
        const created = await createGroup(srv.url, { name });
        const gid = created.group_id;
        const key = created.member_key;
        let link = 'https://meet.example.org/r?a=1,2;3&b=';
        while (link.length < 480) link += 'abcdefghij';
        await call(srv, 'POST', `/api/groups/${gid}/next-session`, { key, body: { date: '2031-03-14', time: '18:30', duration_min: 90, link, time_zone: 'Europe/Paris' }, schema: 'between' });
        // The octets as sent (fetch's text() would hide a cut character behind U+FFFD).
        const res = await fetch(`${srv.url}/api/groups/${gid}/next-session.ics`, { headers: { Authorization: `Bearer ${key}` } });
        assert.equal(res.status, 200);
        const raw = Buffer.from(await res.arrayBuffer());
        const text = raw.toString('utf8');
        assert.ok(text.endsWith('END:VCALENDAR\r\n'));
        assert.ok(!/[^\r]\n|\r[^\n]/.test(text), 'only CRLF line ends');
        const dec = new TextDecoder('utf-8', { fatal: true });
        let folded = 0;
        for (let at = 0; at < raw.length;) {
            const end = raw.indexOf('\r\n', at);
            const bytes = raw.subarray(at, end);
            const l = bytes.toString('utf8');
            at = end + 2;
            assert.ok(bytes.length <= 75, `${bytes.length} octets: ${l}`);
            dec.decode(bytes); // throws if a line starts or ends inside a character
            folded += l.startsWith(' ');
        }
        assert.ok(folded >= 8, `the long lines fold (${folded} continuations)`);
        const flat = text.replace(/\r\n /g, '');
        assert.match(flat, /\r\nSUMMARY:Équipe « Nord\\, Sud \\; Est \\\\ Ouest » — gestionnaires de Lyon…\r\n/);
        assert.ok(flat.includes(`\r\nURL:${link}\r\n`));
        assert.match(flat, /\r\nDTSTAMP:\d{8}T\d{6}Z\r\n/);
        const cal = parseIcs(text);
        assert.equal(cal.events.length, 1);
        assert.equal(cal.events[0].summary, name, 'the parser gets the name back');
        assert.equal(cal.events[0].url, link);
        assert.equal(cal.events[0].start, '2031-03-14T17:30:00+00:00');
        assert.equal(cal.events[0].uid, `${gid}-0@codevd`);
    } finally {
        await srv.stop();
    }
});

test('hostile input between sessions: every field bounded, clear errors, no key, wrong method, body size, the write budget', async () => {
    const srv = await startServer({ args: ['--set', 'http_writes_per_min=40'] });
    try {
        const g = await setupGroup(srv, { open: false });
        const gid = g.groupId;
        const F = g.F.key, K = g.K[0].key;
        const next = (over) => ({ date: '2031-03-14', time: '18:30', duration_min: 90, ...over });
        for (const body of [next({ date: '2031-02-29' }), next({ date: '31-03-14' }), next({ date: '2031-13-01' }),
            next({ time: '24:00' }), next({ time: '18h30' }), next({ duration_min: 5 }), next({ duration_min: 721 }),
            next({ duration_min: '90' }), next({ link: 'javascript:alert(1)' }), next({ link: 'https://a b' }),
            next({ link: 'https://' }), next({ link: `https://x.org/${'a'.repeat(490)}` }), next({ link: 'https://x.org/"><script>' }),
            next({ time_zone: '../../../etc/passwd' }), next({ time_zone: 'Europe/Nowhere' }), next({ time_zone: '/etc/localtime' }),
            next({ time_zone: 'Europe/../../etc' }), next({ time_zone: 42 }), next({ date: 20310314 })])
            await refused(srv, 'POST', `/api/groups/${gid}/next-session`, { key: F, body, status: 400, code: 'bad_field' });
        await refused(srv, 'POST', `/api/groups/${gid}/next-session`, { key: F, body: { date: '2031-03-14', time: '18:30' }, status: 400, code: 'missing_field' });

        const me = g.K[0].memberId;
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: F, body: { rota: Array(13).fill({ client: me }) }, status: 400, code: 'bad_field' });
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: F, body: { rota: [{ client: '00000000-0000-4000-8000-000000000000' }] }, status: 400, code: 'unknown_member' });
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: F, body: { rota: [{ client: 7 }] }, status: 400, code: 'bad_field' });
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: F, body: { rota: 'all' }, status: 400, code: 'bad_field' });
        await refused(srv, 'POST', `/api/groups/${gid}/rota`, { key: F, body: {}, status: 400, code: 'missing_field' });

        const P = `/api/groups/${gid}/proposals`;
        await refused(srv, 'POST', P, { key: K, body: { title: 'é'.repeat(121) }, status: 400, code: 'text_too_long' });
        await refused(srv, 'POST', P, { key: K, body: { title: 'ok', text: 'x'.repeat(1001) }, status: 400, code: 'text_too_long' });
        await refused(srv, 'POST', P, { key: K, body: { title: ' \n\t' }, status: 400, code: 'text_empty' });
        await refused(srv, 'POST', P, { key: K, body: {}, status: 400, code: 'missing_field' });
        await refused(srv, 'POST', P, { key: K, body: { title: ['x'] }, status: 400, code: 'bad_field' });
        for (let i = 0; i < 3; i++) await call(srv, 'POST', P, { key: K, body: { title: `case ${i}`, text: 'é'.repeat(1000) }, status: 201, schema: 'proposal' });
        await refused(srv, 'POST', P, { key: K, body: { title: 'one more' }, status: 429, code: 'too_many_proposals' });
        await refused(srv, 'POST', `${P}/00000000-0000-4000-8000-000000000000`, { key: K, body: { title: 'x' }, status: 404, code: 'not_found' });
        await refused(srv, 'POST', `${P}/not-a-uuid`, { key: K, body: { title: 'x' }, status: 404, code: 'not_found' });
        const [pid] = (await between(srv, g, g.K[1])).proposals.map((p) => p.id);
        await refused(srv, 'POST', `${P}/${pid}/choose`, { key: K, status: 409, code: 'no_session' });
        await refused(srv, 'PUT', P, { key: K, body: { title: 'x' }, status: 405, code: 'method_not_allowed' });
        await refused(srv, 'GET', P, { key: K, status: 405, code: 'method_not_allowed' });
        await refused(srv, 'POST', P, { body: { title: 'x' }, status: 401, code: 'unauthorized' });
        await refused(srv, 'POST', P, { key: 'A'.repeat(22), body: { title: 'x' }, status: 401, code: 'unauthorized' });
        await refused(srv, 'GET', `/api/groups/${gid}/between`, { status: 401, code: 'unauthorized' });
        await refused(srv, 'GET', `/api/groups/${gid}/rotation`, { status: 401, code: 'unauthorized' });
        await refused(srv, 'GET', `/api/groups/${gid}/rotation?format=md`, { key: K, status: 400, code: 'bad_field' });
        await refused(srv, 'GET', `/api/groups/${gid}/next-session.ics`, { status: 401, code: 'unauthorized' });
        await refused(srv, 'POST', P, { key: K, rawBody: '{"title": "x"', status: 400, code: 'bad_json' });
        await refused(srv, 'POST', P, { key: K, rawBody: '{"title": [[[["x"]]]]}', status: 400, code: 'too_deep' });
        await refused(srv, 'POST', P, { key: K, rawBody: JSON.stringify({ title: 'x', text: 'y'.repeat(17000) }), status: 413, code: 'too_large' });

        // Every other member fills the group up to its 24 proposals.
        const more = [];
        for (let i = 0; i < 6; i++) more.push(await joinGroup(srv.url, gid, g.invite, `Extra ${i}`));
        let made = 3 + 0;
        for (const m of [g.F, g.C, g.K[1], g.K[2], ...more.map((x) => ({ key: x.member_key }))])
            for (let i = 0; i < 3 && made < 24; i++, made++)
                await call(srv, 'POST', P, { key: m.key, body: { title: `more ${made}` }, status: 201, schema: 'proposal' });
        await refused(srv, 'POST', P, { key: more[5].member_key, body: { title: 'the 25th' }, status: 429, code: 'too_many_proposals' });

        const D = `/api/groups/${gid}/draft`;
        await refused(srv, 'POST', D, { key: K, body: { text: 'x'.repeat(4001) }, status: 400, code: 'text_too_long' });
        await refused(srv, 'POST', D, { key: K, body: { text: '' }, status: 400, code: 'text_empty' });
        await refused(srv, 'DELETE', D, { key: K, status: 404, code: 'not_found' });
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: K, body: { plan_id: '00000000-0000-4000-8000-000000000000', outcome: 'done' }, status: 404, code: 'unknown_action' });
        await refused(srv, 'POST', `/api/groups/${gid}/debriefs`, { key: K, body: { outcome: 'done' }, status: 400, code: 'missing_field' });

        // The write budget: 40 a minute for one member, then 429 with Retry-After.
        let limited;
        for (let i = 0; i < 60 && !limited; i++) {
            const res = await api(srv.url, 'POST', D, { key: g.K[2].key, body: { text: `draft ${i}` } });
            if (res.status === 429) limited = res;
            else assert.equal(res.status, 200, res.text);
        }
        assert.ok(limited, 'the write budget ends');
        assert.equal(limited.body.error.code, 'rate_limited');
        assert.ok(Number(limited.headers.get('retry-after')) >= 1);
        // Reads are not charged; another member still writes.
        await between(srv, g, g.K[2]);
        await call(srv, 'POST', D, { key: g.K[1].key, body: { text: 'mine' }, schema: 'between' });
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});

test('the exposé draft is its author\'s alone, offered when they are client, and gone once used; deleting it leaves no byte', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false });
        const gid = g.groupId;
        const draft = rnd('draft');
        await call(srv, 'POST', `/api/groups/${gid}/draft`, { key: g.C.key, body: { text: draft }, schema: 'between' });
        assert.equal((await between(srv, g, g.C)).draft.text, draft);
        for (const who of [g.F, ...g.K, g.O]) {
            const res = await api(srv.url, 'GET', `/api/groups/${gid}/between`, { key: who.key });
            assert.equal(res.body.draft, null, `${who.name} sees no draft`);
            assert.ok(!res.text.includes(draft), `${who.name}'s answer never holds it`);
            const grp = await api(srv.url, 'GET', `/api/groups/${gid}`, { key: who.key });
            assert.ok(!grp.text.includes(draft));
        }
        assert.ok(holds(storeBytes(srv.dataDir), draft), 'kept on disk while it is a draft');

        // A second draft, deleted: its bytes go.
        const other = rnd('other-draft');
        await call(srv, 'POST', `/api/groups/${gid}/draft`, { key: g.K[0].key, body: { text: other }, schema: 'between' });
        assert.ok(holds(storeBytes(srv.dataDir), other));
        await call(srv, 'DELETE', `/api/groups/${gid}/draft`, { key: g.K[0].key, schema: 'between' });
        assert.ok(!holds(storeBytes(srv.dataDir), other), 'a deleted draft leaves no byte in the database or its WAL');

        // Karim is client: he publishes an edited version; nobody saw the draft over the socket.
        roles(g, g.F, g.C);
        await openSession(g);
        await advance(g, 'expose');
        const published = rnd('published');
        await settle(g, (await g.C.ok({ type: 'problem_set', text: published })).seq);
        g.problem = true;
        for (const who of g.everyone)
            assert.ok(!who.received().some((m) => JSON.stringify(m).includes(draft)), `${who.name} never got the draft`);
        await advance(g, 'synthesis');
        await closeSession(g);
        assert.equal((await between(srv, g, g.C)).draft, null, 'used: gone');
        const bytes = storeBytes(srv.dataDir);
        assert.ok(!holds(bytes, draft), 'the used draft is gone from the database and its WAL');
        assert.ok(holds(bytes, published), 'the published exposé is in the client\'s record');
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});

test('retention of proposals: under personal one never chosen goes at the close of the next session (not one made during it); under keep it stays; all survive a restart', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false });
        const gid = g.groupId;
        const P = `/api/groups/${gid}/proposals`;
        const unchosen = rnd('unchosen'), unchosenText = rnd('unchosen-text');
        await call(srv, 'POST', P, { key: g.K[0].key, body: { title: unchosen, text: unchosenText }, status: 201, schema: 'proposal' });
        await closeAll(g);
        await srv.stop({ keepData: true });
        let s = await startServer({ dataDir: srv.dataDir });
        try {
            assert.deepEqual((await api(s.url, 'GET', `/api/groups/${gid}/between`, { key: g.K[1].key })).body.proposals.map((p) => p.title), [unchosen], 'kept across a restart');
            const F = g.F.key;
            await call(s, 'POST', `/api/groups/${gid}/sessions`, { key: F, body: {}, status: 201, schema: 'open_session_response' });
            const during = rnd('during');
            await call(s, 'POST', P, { key: g.K[1].key, body: { title: during }, status: 201, schema: 'proposal' });
            assert.ok(holds(storeBytes(s.dataDir), unchosenText));
            // Close over the socket, as the facilitator.
            const { connectMember } = await import('./lib/scenario.mjs');
            const f = await connectMember(s, gid, { member_id: g.F.memberId, member_key: F }, 'Claire');
            await f.ok({ type: 'session_close' });
            await f.nextEvent('closed');
            const bytes = storeBytes(s.dataDir);
            assert.ok(!holds(bytes, unchosen) && !holds(bytes, unchosenText), 'the unchosen proposal is gone from the database and its WAL');
            assert.deepEqual((await api(s.url, 'GET', `/api/groups/${gid}/between`, { key: F })).body.proposals.map((p) => p.title), [during],
                'the one made during the session is for the next one');

            // Under keep, an unchosen proposal stays for the session after.
            await call(s, 'POST', `/api/groups/${gid}/settings`, { key: F, body: { retention: 'keep' }, schema: 'settings_response' });
            await f.ok({ type: 'session_open' });
            await f.nextEvent('session_opened');
            await f.ok({ type: 'session_close' });
            await f.nextEvent('closed');
            assert.deepEqual((await api(s.url, 'GET', `/api/groups/${gid}/between`, { key: F })).body.proposals.map((p) => p.title), [during]);
            assert.ok(holds(storeBytes(s.dataDir), during));
            await f.close();
        } finally {
            await s.stop();
        }
    } finally {
        await srv.stop().catch(() => {});
    }
});
