// The cost of question_check (issue 13), measured end to end: one
// consultant's connection on loopback sends N checks one after the other
// (each waits for its ack: the page sends one per keystroke pause) and
// prints the round trip's p50 / p99 / max in microseconds. A fresh codevd
// on an empty data dir, with question_checks_per_sec and commands_per_sec
// raised so that the rate limits do not pace the run.
//
//   node tests/load/advice-check.mjs [N=1000]   (CODEVD_BIN: another binary)
//
// The question is 300 characters of French advice ("As-tu pensé à…"), the
// length the detector's own budget is stated for (tests/unit/test_advice.c
// measures the detector alone).
import WebSocket from 'ws';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, closeAll } from '../integration/lib/scenario.mjs';

const n = Number(process.argv[2] || 1000);
const base = 'As-tu pensé à en parler à ta directrice avant la réunion de lundi, ou bien à proposer à ton équipe un point hebdomadaire pour que chacun puisse dire ce qui le gêne dans la nouvelle organisation du travail depuis la fusion des deux services ? ';
const text = (base + base).slice(0, 300);

const srv = await startServer({ logLevel: 'warn', args: ['--set', 'question_checks_per_sec=10000', '--set', 'commands_per_sec=10000', '--set', 'commands_burst=10000'] });
try {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const [k] = g.K;
    // A plain socket for the timed loop: the test client's schema checks
    // would be counted in the round trip otherwise.
    const ws = new WebSocket(srv.wsUrl, 'codev.v1', { origin: srv.url });
    await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
    let waiting = null;
    ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        for (const x of Array.isArray(m) ? m : [m]) if (waiting && (x.type === 'welcome' || x.id === waiting.id)) waiting.resolve(x);
    });
    const ask = (msg) => new Promise((resolve) => { waiting = { id: msg.id, resolve }; ws.send(JSON.stringify(msg)); });
    await ask({ type: 'hello', group_id: g.groupId, member_key: k.key });
    const check = (i) => ask({ type: 'question_check', id: `b-${i}`, text });
    for (let i = 0; i < 50; i++) await check(i); // warm-up
    const us = [];
    for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        const ack = await check(i);
        us.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (ack.type !== 'ack' || !ack.advice_like) throw new Error(`unexpected answer ${JSON.stringify(ack)}`);
    }
    ws.close();
    us.sort((a, b) => a - b);
    const at = (q) => us[Math.min(us.length - 1, Math.floor(q * us.length))];
    console.log(`question_check round trip, ${n} checks of ${[...text].length} characters on loopback: ` +
        `p50 ${at(0.5).toFixed(0)} us, p99 ${at(0.99).toFixed(0)} us, max ${us[us.length - 1].toFixed(0)} us`);
    await closeAll(g);
} finally {
    await srv.stop();
}
