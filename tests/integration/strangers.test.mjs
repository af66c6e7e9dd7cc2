// Hostile strangers (issue 10, items 3, 9, 10, 16): what anyone on the
// internet can do with no key or one invite link must not lock real groups
// out. HTTP budgets per client address and for the whole server (429
// rate_limited with Retry-After), exports budgeted per member once the key
// is checked, idle sessions that close by themselves, unused groups that
// expire, a facilitator who deletes a group with all its bytes, removed
// members who no longer count, and database files only codevd can read.
//
// A second client address: loopback is 127.0.0.0/8, and codevd listens on
// every interface by default, so requests made from 127.0.0.2 (node's
// localAddress) come from another address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, rmSync, mkdtempSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup, openSession, getGroup, Client, requestFrom as request, storeBytes, holds } from './lib/client.mjs';
import { connectMember } from './lib/scenario.mjs';

const rnd = (label) => `${label}-${randomBytes(8).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GROUP = { name: 'Managers Lyon', facilitator_name: 'Claire', language: 'fr', format: 90 };

function assertLimited(res, what) {
    assert.equal(res.status, 429, `${what}: HTTP ${res.status} ${res.text}`);
    assert.equal(res.body.error.code, 'rate_limited', what);
    const after = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(after) && after >= 1, `${what}: Retry-After is "${res.headers['retry-after']}"`);
    return after;
}

/** Polls cond (async) until it is true; fails after ms. */
async function until(cond, ms, what) {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50))
        if (await cond()) return;
    assert.fail(`timed out: ${what}`);
}

test('a loop of group creations from one address gets 429 with Retry-After after the burst; another address is still served', async () => {
    const srv = await startServer({ args: ['--set', 'http_create_per_min=3'] });
    try {
        for (let i = 0; i < 3; i++)
            assert.equal((await request(srv, 'POST', '/api/groups', { body: GROUP })).status, 201, `create ${i}`);
        for (let i = 0; i < 20; i++) {
            const after = assertLimited(await request(srv, 'POST', '/api/groups', { body: GROUP }), `create ${3 + i}`);
            assert.ok(after <= 20, `a token comes back within 20 s at 3 a minute (Retry-After ${after})`);
        }
        assert.equal((await request(srv, 'POST', '/api/groups', { body: GROUP, from: '127.0.0.2' })).status, 201,
            'another address creates its group');
    } finally {
        await srv.stop();
    }
});

test('the global creation budget never refuses the members of existing groups: joining and opening still work', async () => {
    const srv = await startServer({ args: ['--set', 'http_create_global_per_min=4'] });
    try {
        const g = await createGroup(srv.url);
        for (let i = 0; i < 3; i++)
            assert.equal((await request(srv, 'POST', '/api/groups', { body: GROUP, from: '127.0.0.2' })).status, 201);
        assertLimited(await request(srv, 'POST', '/api/groups', { body: GROUP, from: '127.0.0.2' }), 'a stranger past the global budget');
        assertLimited(await request(srv, 'POST', '/api/groups', { body: GROUP }), 'creation from another address, same global budget');
        await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        await openSession(srv.url, g.group_id, g.member_key);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        await F.ok({ type: 'hand_raise' }).catch(() => {}); // any command: the room is live
        await F.close();
    } finally {
        await srv.stop();
    }
});

test('keyless calls and wrong keys use a per-address budget; a member with a valid key is still served', async () => {
    const srv = await startServer({ args: ['--set', 'http_anon_per_min=10'] });
    try {
        const g = await createGroup(srv.url);
        const from = '127.0.0.3'; // the stranger: 10 keyless calls a minute
        const join = { invite_code: 'AAAAAAAAAAAAAAAAAAAAAA', display_name: 'Intrus' };
        for (let i = 0; i < 5; i++)
            assert.equal((await request(srv, 'POST', `/api/groups/${g.group_id}/members`, { body: join, from })).status, 403, `bad invite ${i}`);
        const badKey = 'BBBBBBBBBBBBBBBBBBBBBB';
        for (let i = 0; i < 5; i++)
            assert.equal((await request(srv, 'GET', `/api/groups/${g.group_id}`, { key: badKey, from })).status, 401, `bad key ${i}`);
        assertLimited(await request(srv, 'POST', `/api/groups/${g.group_id}/members`, { body: join, from }), 'bad invite past the budget');
        assertLimited(await request(srv, 'GET', `/api/groups/${g.group_id}`, { key: badKey, from }), 'bad key past the budget');
        assertLimited(await request(srv, 'GET', '/api/health', { from }), 'keyless call past the budget');
        assert.equal((await request(srv, 'GET', `/api/groups/${g.group_id}`, { key: g.member_key, from })).status, 200,
            'the facilitator, with a valid key, from the same address');
        assert.equal((await request(srv, 'GET', '/api/health', { from: '127.0.0.2' })).status, 200, 'another address');
    } finally {
        await srv.stop();
    }
});

test('a flood of export requests to a nonexistent group or with a wrong key does not make a real member export 429', async () => {
    const srv = await startServer();
    try {
        const g = await createGroup(srv.url);
        // 300 requests, 50 at a time: more at once would meet the
        // per-address connection cap (connections_per_ip), not the budget.
        for (let round = 0; round < 6; round++) {
            const flood = [];
            for (let i = 0; i < 25; i++) {
                flood.push(api(srv.url, 'GET', `/api/groups/${randomUUID()}/journal`, { key: g.member_key }));
                flood.push(api(srv.url, 'GET', `/api/groups/${g.group_id}/journal`, { key: 'CCCCCCCCCCCCCCCCCCCCCC' }));
            }
            for (const r of await Promise.all(flood)) assert.ok(r.status === 404 || r.status === 401, `flood answered ${r.status}`);
        }
        const res = await api(srv.url, 'GET', `/api/groups/${g.group_id}/journal`, { key: g.member_key, schema: 'journal' });
        assert.equal(res.status, 200, res.text);
    } finally {
        await srv.stop();
    }
});

test('exports are budgeted per member: one member past the budget gets 429 with Retry-After, another member is served', async () => {
    const srv = await startServer({ args: ['--set', 'http_exports_per_min=3'] });
    try {
        const g = await createGroup(srv.url);
        const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        for (let i = 0; i < 3; i++)
            assert.equal((await api(srv.url, 'GET', `/api/groups/${g.group_id}/journal`, { key: k.member_key })).status, 200);
        const res = await request(srv, 'GET', `/api/groups/${g.group_id}/journal`, { key: k.member_key });
        assertLimited(res, 'the fourth export of one member');
        assert.equal((await api(srv.url, 'GET', `/api/groups/${g.group_id}/history`, { key: g.member_key })).status, 200,
            'the facilitator still exports');
    } finally {
        await srv.stop();
    }
});

test('DELETE /api/groups/{id}: only the facilitator; sockets get group_deleted and close 4003; no byte of the group is left on disk', async () => {
    const srv = await startServer();
    try {
        const marker = rnd('delete-marker');
        const g = await createGroup(srv.url, { name: marker.slice(0, 40) });
        await api(srv.url, 'POST', `/api/groups/${g.group_id}/settings`, { key: g.member_key, body: { retention: 'keep' } });
        const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const K = await connectMember(srv, g.group_id, k, 'Léa');
        await F.ok({ type: 'session_open' });
        await K.nextEvent('session_opened');
        const texts = { checkin: rnd('checkin'), note: rnd('note') };
        await K.ok({ type: 'checkin_post', text: texts.checkin });
        await K.ok({ type: 'note_post', text: texts.note });
        await F.ok({ type: 'session_close' });
        await K.nextEvent('closed');
        await F.ok({ type: 'session_open' }); // a second session, open, with text in its journal
        texts.open = rnd('open-session');
        await K.ok({ type: 'checkin_post', text: texts.open });

        const before = storeBytes(srv.dataDir);
        for (const [name, t] of Object.entries({ ...texts, name: marker.slice(0, 40) }))
            assert.ok(holds(before, t), `before the delete, ${name} is on disk`);

        const refused = await api(srv.url, 'DELETE', `/api/groups/${g.group_id}`, { key: k.member_key });
        assert.equal(refused.status, 403, refused.text);
        assert.equal(refused.body.error.code, 'not_facilitator');
        assert.equal((await api(srv.url, 'DELETE', `/api/groups/${g.group_id}`)).status, 401);

        const res = await api(srv.url, 'DELETE', `/api/groups/${g.group_id}`, { key: g.member_key, schema: 'delete_group_response' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.equal(res.body.deleted, g.group_id);
        for (const c of [F, K]) {
            const err = await c.next((m) => m.type === 'error');
            assert.equal(err.code, 'group_deleted');
            assert.equal((await c.closed).code, 4003);
        }
        const after = storeBytes(srv.dataDir);
        for (const [name, t] of Object.entries({ ...texts, name: marker.slice(0, 40), group_id: g.group_id }))
            assert.ok(!holds(after, t), `after the delete, ${name} "${t}" is gone from the database, its WAL and its shm`);

        assert.equal((await api(srv.url, 'GET', `/api/groups/${g.group_id}`, { key: g.member_key })).status, 404);
        const again = await Client.connect(srv.wsUrl);
        assert.equal((await again.hello(g.group_id, k.member_key)).code, 'unknown_group');
        await again.close();

        await srv.stop({ keepData: true });
        const srv2 = await startServer({ dataDir: srv.dataDir });
        try {
            assert.equal((await api(srv2.url, 'GET', `/api/groups/${g.group_id}`, { key: g.member_key })).status, 404,
                'still gone after a restart');
        } finally {
            await srv2.stop();
        }
    } finally {
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('an open session with no command for session_idle_close_s closes by itself: members get the close, retention runs, the slot is free', async () => {
    const srv = await startServer({ args: ['--set', 'session_idle_close_s=2', '--set', 'sessions_max=1'] });
    try {
        const g = await createGroup(srv.url);
        const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const K = await connectMember(srv, g.group_id, k, 'Léa');
        await F.ok({ type: 'session_open' });
        await K.nextEvent('session_opened');
        const text = rnd('idle-checkin');
        await K.ok({ type: 'checkin_post', text });
        assert.ok(holds(storeBytes(srv.dataDir), text), 'the check-in is journaled');

        const other = await createGroup(srv.url);
        const busy = await api(srv.url, 'POST', `/api/groups/${other.group_id}/sessions`, { key: other.member_key, body: {} });
        assert.equal(busy.body?.error?.code, 'too_many_sessions', 'the one session slot is taken');

        // Time itself is under test here: the close comes after 2 s idle.
        const started = Date.now();
        for (const c of [F, K]) assert.equal((await c.nextEvent('closed', () => true, 15000)).type, 'closed');
        assert.ok(Date.now() - started >= 1000, 'not before the session was idle');
        await until(async () => !holds(storeBytes(srv.dataDir), text), 5000, 'personal retention deletes the check-in');
        await openSession(srv.url, other.group_id, other.member_key);
        assert.equal((await getGroup(srv.url, g.group_id, g.member_key)).session?.step ?? 'closed', 'closed');
        await F.close();
        await K.close();
    } finally {
        await srv.stop();
    }
});

test('a group that never opened a session expires after group_idle_expire_s without activity; a group that did is kept', async () => {
    const srv = await startServer({ args: ['--set', 'group_idle_expire_s=2'] });
    try {
        const unused = await createGroup(srv.url);
        const used = await createGroup(srv.url);
        await openSession(srv.url, used.group_id, used.member_key);
        await until(async () => (await api(srv.url, 'GET', `/api/groups/${unused.group_id}`, { key: unused.member_key })).status === 404,
            15000, 'the unused group is deleted');
        assert.equal((await api(srv.url, 'GET', `/api/groups/${used.group_id}`, { key: used.member_key })).status, 200);
        await srv.stop({ keepData: true });
        const srv2 = await startServer({ dataDir: srv.dataDir });
        try {
            assert.equal((await api(srv2.url, 'GET', `/api/groups/${unused.group_id}`, { key: unused.member_key })).status, 404);
        } finally {
            await srv2.stop();
        }
    } finally {
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('groups idle past group_idle_expire_s while codevd was down are deleted at start (clock shifted)', async () => {
    const srv = await startServer();
    const unused = await createGroup(srv.url);
    const opened = await createGroup(srv.url);
    await openSession(srv.url, opened.group_id, opened.member_key);
    await srv.stop({ keepData: true });
    // 31 days later: the default group_idle_expire_s is 30 days, and the
    // default session_idle_close_s (12 h) closes the open session.
    const srv2 = await startServer({ dataDir: srv.dataDir, args: ['--set', `test_time_offset_s=${31 * 86400}`] });
    try {
        assert.equal((await api(srv2.url, 'GET', `/api/groups/${unused.group_id}`, { key: unused.member_key })).status, 404);
        const g = await getGroup(srv2.url, opened.group_id, opened.member_key);
        assert.notEqual(g.session?.step, 'opening', 'the idle session was closed at start');
        await openSession(srv2.url, opened.group_id, opened.member_key);
    } finally {
        await srv2.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('removed members do not count toward the member cap, and a removal kills the invite code', async () => {
    const srv = await startServer({ args: ['--set', 'members_max=2', '--set', 'commands_per_sec=10000', '--set', 'commands_burst=100000'] });
    try {
        const g = await createGroup(srv.url);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        let invite = g.invite_code;
        // More joins and removals than the 64 member slots of the old cap.
        for (let i = 0; i < 70; i++) {
            await F.ok({ type: 'session_open' });
            const m = await joinGroup(srv.url, g.group_id, invite, `Intrus ${i}`);
            const full = await api(srv.url, 'POST', `/api/groups/${g.group_id}/members`, { body: { invite_code: invite, display_name: 'Encore' } });
            assert.equal(full.body?.error?.code, 'group_full', `round ${i}: two current members fill a group of 2`);
            await F.ok({ type: 'member_remove', member_id: m.member_id });
            const dead = await api(srv.url, 'POST', `/api/groups/${g.group_id}/members`, { body: { invite_code: invite, display_name: 'Encore' } });
            assert.equal(dead.status, 403, `round ${i}: the invite died with the removal: ${dead.text}`);
            assert.equal(dead.body.error.code, 'bad_invite');
            await F.ok({ type: 'session_close' });
            invite = (await api(srv.url, 'POST', `/api/groups/${g.group_id}/invite`, { key: g.member_key, body: {} })).body.invite_code;
        }
        await F.ok({ type: 'session_open' });
        const lea = await joinGroup(srv.url, g.group_id, invite, 'Léa');
        await F.ok({ type: 'member_remove', member_id: lea.member_id });
        await F.close();
        // The invite replaced by the removal is saved: the code stays dead after a restart.
        await srv.stop({ keepData: true });
        const srv2 = await startServer({ dataDir: srv.dataDir });
        try {
            const res = await api(srv2.url, 'POST', `/api/groups/${g.group_id}/members`, { body: { invite_code: invite, display_name: 'Ancien' } });
            assert.equal(res.status, 403, res.text);
        } finally {
            await srv2.stop();
        }
    } finally {
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('the database files are 0600 and a data dir codevd creates is 0700', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'codevd-modes-'));
    const dataDir = path.join(parent, 'data');
    const srv = await startServer({ dataDir });
    try {
        const g = await createGroup(srv.url);
        await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa'); // a write, answered after its commit
        assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'data dir');
        for (const f of ['codevd.db', 'codevd.db-wal', 'codevd.db-shm']) {
            const p = path.join(dataDir, f);
            assert.ok(existsSync(p), `${f} exists`);
            assert.equal((statSync(p).mode & 0o777).toString(8), '600', f);
        }
    } finally {
        await srv.stop();
        rmSync(parent, { recursive: true, force: true });
    }
});

test('one address at groups_per_ip and sessions_per_ip is refused; another address creates and opens; the caps hold after a restart', async () => {
    const caps = ['--set', 'groups_per_ip=2', '--set', 'sessions_per_ip=1'];
    const srv = await startServer({ args: caps });
    const { dataDir } = srv;
    let srv2; // the same data dir after a restart
    const create = async (from) => request(srv2 ?? srv, 'POST', '/api/groups', { body: GROUP, from });
    const open = async (g, from) => request(srv2 ?? srv, 'POST', `/api/groups/${g.group_id}/sessions`, { body: {}, key: g.member_key, from });
    try {
        // The squatter, 127.0.0.2: two groups, then too_many_groups.
        const a = await create('127.0.0.2');
        const b = await create('127.0.0.2');
        assert.equal(a.status, 201, a.text);
        assert.equal(b.status, 201, b.text);
        const third = await create('127.0.0.2');
        assert.equal(third.status, 429, third.text);
        assert.equal(third.body.error.code, 'too_many_groups');

        // One session of its groups, then too_many_sessions, whoever opens it.
        assert.equal((await open(a.body, '127.0.0.2')).status, 201);
        for (const from of ['127.0.0.2', '127.0.0.1']) {
            const res = await open(b.body, from);
            assert.equal(res.status, 429, res.text);
            assert.equal(res.body.error.code, 'too_many_sessions', from);
        }

        // A real facilitator from another address is served.
        const real = await create('127.0.0.1');
        assert.equal(real.status, 201, real.text);
        assert.equal((await open(real.body, '127.0.0.1')).status, 201);

        // After a restart the groups remember their creator: same caps.
        await srv.stop({ keepData: true });
        srv2 = await startServer({ dataDir, args: caps });
        const again = await create('127.0.0.2');
        assert.equal(again.status, 429, again.text);
        assert.equal(again.body.error.code, 'too_many_groups');
        const reopen = await open(b.body, '127.0.0.2');
        assert.equal(reopen.status, 429, reopen.text);
        assert.equal(reopen.body.error.code, 'too_many_sessions');
        const other = await create('127.0.0.3');
        assert.equal(other.status, 201, other.text);
        assert.equal((await open(other.body, '127.0.0.3')).status, 201);

        // Deleting a group (its session with it) gives the address room again.
        const del = await request(srv2, 'DELETE', `/api/groups/${a.body.group_id}`, { key: a.body.member_key, from: '127.0.0.2' });
        assert.equal(del.status, 200, del.text);
        assert.equal((await open(b.body, '127.0.0.2')).status, 201);
        assert.equal((await create('127.0.0.2')).status, 201);
    } finally {
        if (srv2) await srv2.stop();
        else await srv.stop();
        rmSync(dataDir, { recursive: true, force: true });
    }
});
