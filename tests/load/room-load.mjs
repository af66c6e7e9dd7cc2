// A small load script (not a test): R rooms x M members driven to the
// consultation step, consultants posting contributions at a fixed rate, every
// member measuring post-to-receive latency of every card it receives.
// Prints connections, events delivered, latency percentiles, server RSS/CPU.
//
//   node tests/load/room-load.mjs [--rooms 100] [--members 8] [--seconds 10] [--rate 2]
//
// --rate is contributions per room per second. Starts its own codevd
// (build/src/codevd) unless --url http://127.0.0.1:PORT --pid PID is given.
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';

const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const ROOMS = Number(args.rooms || 100);
const MEMBERS = Number(args.members || 8);
const SECONDS = Number(args.seconds || 10);
const RATE = Number(args.rate || 2);

let srv = null, base, wsUrl, pid;
if (args.url) {
    base = args.url; wsUrl = base.replace('http', 'ws') + '/ws'; pid = Number(args.pid);
} else {
    /* Every member connects from 127.0.0.1, ten rooms at once: lift the
     * per-address caps meant for strangers. */
    srv = await startServer({ logLevel: 'warn', args: ['--set', 'unauth_per_ip=1000000', '--set', 'connections_per_ip=1000000'] });
    base = srv.url; wsUrl = srv.wsUrl; pid = srv.child.pid;
}

function procStat(p) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]);
    return { rssKb: rss, cpuTicks: ticks };
}

async function post(path, body, key) {
    const r = await fetch(base + path, {
        method: 'POST', body: JSON.stringify(body),
        headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
}

const latencies = [];
const ackLatencies = [];
let delivered = 0, seqErrors = 0;

class Member {
    constructor(group, key) { this.group = group; this.key = key; this.n = 0; this.pending = new Map(); this.sentAt = new Map(); this.lastSeq = 0; }
    connect() {
        return new Promise((resolve, reject) => {
            this.ws = new WebSocket(wsUrl, 'codev.v1');
            this.ws.on('error', reject);
            this.ws.on('message', (data) => {
                const now = performance.now();
                let msgs = JSON.parse(data.toString());
                if (!Array.isArray(msgs)) msgs = [msgs];
                for (const m of msgs) {
                    delivered++;
                    if (m.type === 'welcome') { this.me = m.you.member_id; resolve(this); }
                    if (m.seq !== undefined && m.type !== 'ack') {
                        if (m.seq <= this.lastSeq) seqErrors++;
                        this.lastSeq = m.seq;
                    }
                    if (m.type === 'card_added' && m.card.type === 'contribution') {
                        const t = Number(m.card.text.split('@')[1]);
                        latencies.push(now - t);
                    }
                    if ((m.type === 'ack' || m.type === 'error') && this.pending.has(m.id)) {
                        if (this.sentAt.has(m.id)) {
                            ackLatencies.push(now - this.sentAt.get(m.id));
                            this.sentAt.delete(m.id);
                        }
                        this.pending.get(m.id)(m);
                        this.pending.delete(m.id);
                    }
                }
            });
            this.ws.on('open', () => this.ws.send(JSON.stringify({ type: 'hello', group_id: this.group, member_key: this.key })));
        });
    }
    cmd(type, fields = {}) {
        const id = `c${++this.n}`;
        return new Promise((resolve) => {
            this.pending.set(id, resolve);
            this.sentAt.set(id, performance.now());
            this.ws.send(JSON.stringify({ type, id, ...fields }));
        });
    }
}

async function setupRoom() {
    const g = await post('/api/groups', { name: 'Load', facilitator_name: 'F', language: 'fr', format: 90 });
    const members = [new Member(g.group_id, g.member_key)];
    for (let i = 1; i < MEMBERS; i++) {
        const j = await post(`/api/groups/${g.group_id}/members`, { invite_code: g.invite_code, display_name: `M${i}` });
        members.push(new Member(g.group_id, j.member_key));
    }
    await post(`/api/groups/${g.group_id}/sessions`, {}, g.member_key);
    await Promise.all(members.map((m) => m.connect()));
    const [f, client, ...consultants] = members;
    const must = async (p) => { const r = await p; if (r.type !== 'ack') throw new Error(JSON.stringify(r)); };
    await must(f.cmd('step_next'));
    await must(f.cmd('client_assign', { member_id: client.me }));
    await must(f.cmd('step_next'));
    await must(client.cmd('problem_set', { text: 'problème' }));
    await must(f.cmd('step_next'));
    await must(f.cmd('step_next'));
    await must(client.cmd('contract_set', { text: "j'aimerais que vous m'aidiez à" }));
    await must(f.cmd('step_next', { force: true }));
    return { f, client, consultants };
}

const t0 = performance.now();
const rooms = [];
for (let i = 0; i < ROOMS; i += 10)
    rooms.push(...(await Promise.all(Array.from({ length: Math.min(10, ROOMS - i) }, setupRoom))));
const setupS = (performance.now() - t0) / 1000;
const before = procStat(pid);
latencies.length = 0;
ackLatencies.length = 0;
const d0 = delivered;
const start = performance.now();
let posted = 0, refused = 0;
const interval = 1000 / RATE;
const timers = rooms.map((room, i) => {
    let k = 0;
    return setTimeout(function tick() {
        const c = room.consultants[k++ % room.consultants.length];
        posted++;
        c.cmd('contribution_post', { kind: 'suggestion', text: `idée @${performance.now()}` })
            .then((r) => { if (r.type !== 'ack') refused++; });
        timers[i] = setTimeout(tick, interval);
    }, (i * interval) / rooms.length);
});
await new Promise((r) => setTimeout(r, SECONDS * 1000));
timers.forEach(clearTimeout);
await new Promise((r) => setTimeout(r, 500));
const elapsed = (performance.now() - start) / 1000;
const after = procStat(pid);
latencies.sort((a, b) => a - b);
ackLatencies.sort((a, b) => a - b);
const pctOf = (arr) => (p) => arr.length ? arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))].toFixed(2) : 'n/a';
const pct = pctOf(latencies), ackPct = pctOf(ackLatencies);
const hz = 100; // USER_HZ
console.log(`rooms ${ROOMS} x members ${MEMBERS} = ${ROOMS * MEMBERS} connections (set up in ${setupS.toFixed(1)} s)`);
console.log(`contributions posted ${posted} (${(posted / elapsed).toFixed(0)}/s), refused ${refused}`);
console.log(`messages delivered ${delivered - d0} (${((delivered - d0) / elapsed).toFixed(0)}/s), seq errors ${seqErrors}`);
console.log(`card latency ms: p50 ${pct(50)} p90 ${pct(90)} p99 ${pct(99)} max ${pct(100)} (n=${latencies.length})`);
console.log(`ack latency ms (journal committed): p50 ${ackPct(50)} p90 ${ackPct(90)} p99 ${ackPct(99)} max ${ackPct(100)} (n=${ackLatencies.length})`);
console.log(`server RSS ${after.rssKb} KiB (${(after.rssKb / (ROOMS * MEMBERS)).toFixed(1)} KiB per connection incl. baseline), CPU ${(((after.cpuTicks - before.cpuTicks) / hz) / elapsed * 100).toFixed(1)}% of one core`);
for (const room of rooms) for (const m of [room.f, room.client, ...room.consultants]) m.ws.close();
if (srv) await srv.stop();
process.exit(seqErrors || refused ? 1 : 0);
