// The web client in a cluster (issue 17): two people in Chromium reach
// three codevd nodes through nginx with config/nginx/cluster.conf (their
// socket is /ws?group=). The node holding their group is paused (SIGSTOP)
// while a check-in is being sent; another node takes the group over; when
// the paused node wakes, it refuses the check-in (`moved`) and closes the
// group's sockets with 4009; the pages reconnect at once through nginx to
// the new holder, resend the check-in with its id, and it is shown once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems } from '../browser/lib/browser.mjs';
import { createGroup, join, waitStep, post, seeCard, act } from '../browser/lib/app.mjs';
import { startServer, freePort } from '../lib/server.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { startClusterFront } from '../lib/cluster.mjs';

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });

test('web client: the holder paused mid-send, another node takes over; on 4009 the pages come back at once through nginx and the check-in is shown once', async () => {
    const pg = await startPostgres();
    const nodes = [];
    let front = null;
    try {
        await pg.createDatabase('web');
        const frontPort = await freePort();
        const args = ['--set', 'store=postgresql', '--set', `store_dsn=${pg.dsnFor('web')}`,
            '--set', 'listen=127.0.0.1', '--set', 'trusted_proxies=127.0.0.1', '--set', 'lease_ttl_s=2',
            '--set', `allowed_origins=http://127.0.0.1:${frontPort}`];
        for (let i = 0; i < 3; i++) nodes.push(await startServer({ args: [...args, '--set', `node_id=n${i + 1}`] }));
        front = await startClusterFront(frontPort, nodes.map((n) => n.port));

        const browser = await launch();
        browsers.push(browser);
        const F = await person(browser, 'facilitator');
        const K = await person(browser, 'consultant');
        const invite = await createGroup(F, front.url, { name: 'Grappe', me: 'Anne' });
        await join(K, invite, 'Chloé');
        await act(F, 'session-open');
        await waitStep([F, K], 'opening');
        await post(K, 'checkin', 'Avant la pause.');
        await seeCard([F], 'Avant la pause.');
        const gid = /#\/g\/([0-9a-f-]{36})/.exec(K.url())[1];
        const wsUrls = await K.evaluate(() => window.__sockets.map((ws) => ws.url));
        assert.ok(wsUrls.every((u) => u.endsWith(`/ws?group=${gid}`)), `the page names its group: ${wsUrls}`);
        const holder = pg.psql('web', `COPY (SELECT node_id FROM group_lease WHERE group_id = '${gid}') TO STDOUT`).trim();
        const H = nodes[Number(holder.slice(1)) - 1];
        const T = nodes.find((n) => n !== H);

        // When the socket closes, and when the next one is made.
        await K.evaluate(() => {
            const W = window.WebSocket;
            window.WebSocket = class extends W {
                constructor(...a) { super(...a); this.madeAt = performance.now(); }
            };
            window.__closed = null;
            window.__sockets.at(-1).addEventListener('close', (e) => { window.__closed = { code: e.code, at: performance.now() }; });
        });
        H.child.kill('SIGSTOP');
        try {
            // Sent while the holder sleeps: no answer yet.
            const form = K.locator('form[data-composer-form=checkin]');
            await form.locator('textarea').fill('Pendant la pause.');
            await form.locator('button[type=submit]').click();
            // Another node takes the group once the lease expired (any call
            // for the group does it; this one has no key: 401 once taken).
            for (const end = Date.now() + 20000; ;) {
                const r = await fetch(`${T.url}/api/groups/${gid}`);
                if (r.status !== 503) break;
                if (Date.now() > end) throw new Error('the group was not taken over');
                await new Promise((res) => setTimeout(res, 100));
            }
        } finally {
            H.child.kill('SIGCONT');
        }
        const t0 = Date.now();
        await seeCard([F, K], 'Pendant la pause.');
        const backMs = Date.now() - t0;
        assert.ok(backMs < 5000, `shown ${backMs} ms after the paused node woke`);
        const gap = await K.evaluate(() => {
            const next = window.__sockets.find((ws) => ws.madeAt !== undefined);
            return { code: window.__closed && window.__closed.code, ms: next && window.__closed ? next.madeAt - window.__closed.at : null };
        });
        assert.equal(gap.code, 4009, 'the paused node closed the group\'s socket with 4009 (moved)');
        assert.ok(gap.ms !== null && gap.ms < 200, `reconnected at once (${gap.ms} ms after the close; the backoff waits 250 ms at least)`);
        assert.equal(await F.locator('.card-text', { hasText: 'Pendant la pause.' }).count(), 1, 'shown once');
        assert.equal(await F.locator('.card-text', { hasText: 'Avant la pause.' }).count(), 1);
        const sent = K.sent.map((s) => JSON.parse(s)).filter((m) => m.type === 'checkin_post' && m.text === 'Pendant la pause.');
        assert.ok(sent.length === 2, `sent to the paused node, then to the new holder: ${sent.length}`);
        assert.equal(new Set(sent.map((m) => m.id)).size, 1, 'same id on every send');
        await post(K, 'checkin', 'Après.');
        await seeCard([F], 'Après.');
        const now = pg.psql('web', `COPY (SELECT node_id FROM group_lease WHERE group_id = '${gid}') TO STDOUT`).trim();
        assert.notEqual(now, holder, 'the group stays with its new holder');
        const allowed = [/WebSocket connection to .* failed/, /Failed to load resource/];
        assert.deepEqual(realProblems(K, allowed), []);
        assert.deepEqual(realProblems(F, allowed), []);
        console.log(`# web client: back on the new holder ${backMs} ms after the paused node woke`);
    } finally {
        for (const b of browsers.splice(0)) await b.close();
        if (front) await front.stop().catch(() => {});
        for (const n of nodes) await n.stop().catch(() => {});
        await pg.stop();
    }
});
