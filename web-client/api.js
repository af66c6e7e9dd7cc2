// api.js - the HTTP half of the contract (proto/README.md section 1).
// Answers are JSON; failures throw an ApiError carrying the server's code.

export class ApiError extends Error {
    constructor(code, status, message) {
        super(message || code);
        this.code = code;
        this.status = status;
    }
}

async function call(method, path, body, key, as = 'json', auth = null) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (key) headers.Authorization = `Bearer ${key}`;
    // The join page's preview carries the invite code, never in the URL.
    if (auth) headers.Authorization = auth;
    let r;
    try {
        r = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            cache: 'no-store',
            credentials: 'omit',
        });
    } catch {
        throw new ApiError('network', 0);
    }
    if (r.ok && as === 'text') return r.text();
    let data = null;
    try {
        data = await r.json();
    } catch {
        data = null;
    }
    if (!r.ok) {
        const e = data && data.error;
        throw new ApiError((e && e.code) || 'internal', r.status, e && e.message);
    }
    return data;
}

const enc = encodeURIComponent;

export const api = {
    /** Status, and the limits the front page needs before any group exists. */
    health: () => call('GET', '/api/health'),
    createGroup: (fields) => call('POST', '/api/groups', fields),
    join: (groupId, inviteCode, displayName, form) =>
        call('POST', `/api/groups/${enc(groupId)}/members`,
            { invite_code: inviteCode, display_name: displayName, form: form || 'n' }),
    /** My own settings: {form} of my role labels. Answers {member}. */
    memberMe: (groupId, key, fields) => call('POST', `/api/groups/${enc(groupId)}/members/me`, fields, key),
    openSession: (groupId, key) => call('POST', `/api/groups/${enc(groupId)}/sessions`, {}, key),
    group: (groupId, key) => call('GET', `/api/groups/${enc(groupId)}`, undefined, key),
    // The group's settings page (proto/README.md 1.2).
    /** {retention?, warn_before_s?, format?, budgets?, ground_rules?}: resolves {group}. */
    settings: (groupId, key, fields) => call('POST', `/api/groups/${enc(groupId)}/settings`, fields, key),
    /** A new invite code (the old one stops working): {invite_code}. */
    inviteRotate: (groupId, key) => call('POST', `/api/groups/${enc(groupId)}/invite`, {}, key),
    memberRemove: (groupId, key, memberId) =>
        call('DELETE', `/api/groups/${enc(groupId)}/members/${enc(memberId)}`, undefined, key),
    deleteGroup: (groupId, key) => call('DELETE', `/api/groups/${enc(groupId)}`, undefined, key),
    /** What the join page shows before a name is typed: {name, facilitator_name}. */
    preview: (groupId, inviteCode) =>
        call('GET', `/api/groups/${enc(groupId)}/preview`, undefined, null, 'json', `Invite ${inviteCode}`),
    /** The facilitator makes (or replaces) the group's display link: {display_token}. */
    displayCreate: (groupId, key) => call('POST', `/api/groups/${enc(groupId)}/display`, {}, key),
    displayRevoke: (groupId, key) => call('DELETE', `/api/groups/${enc(groupId)}/display`, undefined, key),
    /** My journal of every closed session, as Markdown or printable HTML text. */
    journal: (groupId, key, format) =>
        call('GET', `/api/groups/${enc(groupId)}/journal?format=${enc(format)}`, undefined, key, 'text'),
    // Between sessions (proto/README.md 1.1).
    between: (groupId, key) => call('GET', `/api/groups/${enc(groupId)}/between`, undefined, key),
    rotation: (groupId, key) => call('GET', `/api/groups/${enc(groupId)}/rotation`, undefined, key),
    rotaSet: (groupId, key, rota) => call('POST', `/api/groups/${enc(groupId)}/rota`, { rota }, key),
    nextSet: (groupId, key, fields) => call('POST', `/api/groups/${enc(groupId)}/next-session`, fields, key),
    nextClear: (groupId, key) => call('DELETE', `/api/groups/${enc(groupId)}/next-session`, undefined, key),
    /** The next session as an iCalendar text. */
    nextIcs: (groupId, key) => call('GET', `/api/groups/${enc(groupId)}/next-session.ics`, undefined, key, 'text'),
    propose: (groupId, key, title, text) =>
        call('POST', `/api/groups/${enc(groupId)}/proposals`, { title, text: text || null }, key),
    proposalEdit: (groupId, key, id, title, text) =>
        call('POST', `/api/groups/${enc(groupId)}/proposals/${enc(id)}`, { title, text: text || null }, key),
    proposalWithdraw: (groupId, key, id) => call('DELETE', `/api/groups/${enc(groupId)}/proposals/${enc(id)}`, undefined, key),
    proposalChoose: (groupId, key, id) => call('POST', `/api/groups/${enc(groupId)}/proposals/${enc(id)}/choose`, {}, key),
    draftSet: (groupId, key, text) => call('POST', `/api/groups/${enc(groupId)}/draft`, { text }, key),
    draftDelete: (groupId, key) => call('DELETE', `/api/groups/${enc(groupId)}/draft`, undefined, key),
    debriefAdvance: (groupId, key, planId, outcome, comment) =>
        call('POST', `/api/groups/${enc(groupId)}/debriefs`, { plan_id: planId, outcome, comment: comment || null }, key),
};
