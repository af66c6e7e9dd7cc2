// Builds the people of a codev group on a running server and drives its
// room to a step, so that each test starts where its behaviour happens.
//
//   const g = await setupGroup(srv);           // F, C, K[0..2], O connected, session open
//   await advance(g, 'consultation');          // client named, problem, contract, acks
//   g.F, g.C, g.K, g.O, g.everyone             // Clients with .memberId, .key
import assert from 'node:assert/strict';
import { Client, createGroup, joinGroup } from './client.mjs';

export const TEXT = {
    problem: "Depuis la réorganisation, mon équipe ne se parle plus qu'à travers les tickets et deux personnes pensent partir.",
    contract: "J'aimerais que vous m'aidiez à trouver deux ou trois façons concrètes de recréer des échanges directs dans l'équipe.",
};

/** Connects a member (a Client labelled with its name) and says hello. */
export async function connectMember(srv, groupId, member, name, lastSeq) {
    const c = await Client.connect(srv.wsUrl, { name });
    c.memberId = member.member_id;
    c.key = member.member_key;
    c.displayName = name;
    c.groupId = groupId;
    const w = await c.hello(groupId, member.member_key, lastSeq);
    assert.equal(w.type, 'welcome', `${name}: hello refused: ${JSON.stringify(w)}`);
    assert.equal(w.you.member_id, member.member_id);
    return c;
}

/** Opens a new connection for the same member as c (a second tab or a reconnect). */
export function reconnect(srv, c, lastSeq) {
    return connectMember(srv, c.groupId, { member_id: c.memberId, member_key: c.key }, c.displayName, lastSeq);
}

/**
 * Creates a group (facilitator "Claire"), joins the client, the consultants
 * and the observer, connects everyone and, unless open is false, opens a
 * session over the WebSocket and makes the observer an observer. Inboxes
 * are drained on return.
 */
export async function setupGroup(srv, { consultants = ['Léa', 'Julien', 'Sophie'], client = 'Karim', observer = 'Marc', open = true, format = 90 } = {}) {
    const created = await createGroup(srv.url, { format });
    const gid = created.group_id;
    const members = [];
    for (const name of [client, ...consultants, ...(observer ? [observer] : [])].filter(Boolean))
        members.push({ name, ...(await joinGroup(srv.url, gid, created.invite_code, name)) });
    const F = await connectMember(srv, gid, created, 'Claire');
    const people = [];
    for (const m of members) people.push(await connectMember(srv, gid, m, m.name));
    const C = client ? people.shift() : null;
    const O = observer ? people.pop() : null;
    const g = { srv, group: created, groupId: gid, invite: created.invite_code, F, C, K: people, O, step: null };
    g.everyone = [F, ...(C ? [C] : []), ...people, ...(O ? [O] : [])];
    if (open) {
        await F.ok({ type: 'session_open' });
        await Promise.all(g.everyone.map((c) => c.nextEvent('session_opened')));
        g.step = 'opening';
        if (O) await settle(g, (await F.ok({ type: 'role_set', member_id: O.memberId, observer: true })).seq);
    }
    drainAll(g);
    return g;
}

/** Waits until every client (default: everyone) has seen the event seq. */
export async function settle(g, seq, clients = g.everyone) {
    await Promise.all(clients.map((c) => c.waitSeq(seq)));
}

export function drainAll(g) {
    for (const c of g.everyone) c.drain();
}

/**
 * Drives the room forward from g.step to target with the facilitator's
 * step_next, doing on the way what each step needs to be left: name the
 * client, write the problem, write the contract and acknowledge it.
 */
export async function advance(g, target) {
    // The steps in order, as the server says in welcome ('closed' is not a step_next away).
    const steps = g.F.welcome.steps.filter((x) => x !== 'closed');
    assert.ok(steps.includes(target), `unknown step ${target}`);
    assert.ok(steps.indexOf(target) >= steps.indexOf(g.step), `cannot advance from ${g.step} back to ${target}`);
    while (g.step !== target) {
        if (g.step === 'topic' && !g.clientNamed) {
            await settle(g, (await g.F.ok({ type: 'client_assign', member_id: g.C.memberId })).seq);
            g.clientNamed = true;
        }
        if (g.step === 'expose' && !g.problem) {
            await settle(g, (await g.C.ok({ type: 'problem_set', text: TEXT.problem })).seq);
            g.problem = true;
        }
        if (g.step === 'contract' && !g.contract) {
            await g.C.ok({ type: 'contract_set', text: TEXT.contract });
            let last;
            for (const k of g.K) last = await k.ok({ type: 'contract_ack' });
            await settle(g, last.seq);
            g.contract = true;
        }
        const ack = await g.F.ok({ type: 'step_next' });
        await settle(g, ack.seq);
        g.step = steps[steps.indexOf(g.step) + 1];
    }
    drainAll(g);
}

/** Closes every connection of the group. */
export async function closeAll(g, extra = []) {
    await Promise.all([...g.everyone, ...extra].map((c) => c.close()));
}

/** Asserts that no client recorded a protocol violation. */
export function assertAllClean(g, extra = []) {
    for (const c of [...g.everyone, ...extra]) c.assertClean();
}
