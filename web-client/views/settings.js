// views/settings.js - the group's settings page (#/g/<group>/settings,
// proto/README.md 1.2). The facilitator changes what the group keeps
// (retention, with what each choice keeps in plain words), the warning
// before a step ends, the format and each step's minutes (the next
// session's template), the ground rules shown at the opening, the invite
// link, the members (between sessions), and may delete the group after
// typing its name. Everyone else reads the same settings as a summary.
//
// What is shown comes from the group object (welcome, then group_updated:
// live for everyone connected) and the members list; the server checks
// every value and its refusal is shown as it words it (errors.*). The page
// keeps no copy of the server's limits.

import { h, setText, newId } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { isFacilitator, roleOf, myId } from '../state.js';
import { section, copyField, emptyNote } from './common.js';
import { confirmDialog } from './dialog.js';

const FORMATS = ['45', '90', '120', '240'];
const WARNINGS = [0, 30, 60, 120, 300, 600];

/** The ground rules to show: the group's, or the default list in the reader's language. */
export function groundRules(group) {
    if (group && Array.isArray(group.ground_rules)) return group.ground_rules;
    return [t('settings.rule_1'), t('settings.rule_2'), t('settings.rule_3'), t('settings.rule_4')];
}

function warnLabel(s) {
    if (!s) return t('settings.warn_none');
    return s % 60 ? t('settings.warn_s', { n: s }) : t('settings.warn_min', { n: s / 60 });
}

function formatLabel(f) {
    const labels = { 45: t('home.format_45'), 90: t('home.format_90'), 120: t('home.format_120'), 240: t('home.format_240') };
    return labels[f] || String(f);
}

/** Minutes the template plans: the opening, then each consultation's steps. */
function plannedMinutes(group, steps) {
    const per = steps.filter((k) => k !== 'opening').reduce((a, k) => a + (group.budgets[k] || 0), 0);
    return (group.budgets.opening || 0) + per * (group.consultations || 1);
}

function field(label, input, hint, hidden = false) {
    if (!input.id) input.id = newId('set');
    return h('p', { class: 'field' }, h('label', { for: input.id, class: hidden ? 'sr-only' : null, text: label }), input,
        hint ? h('span', { class: 'hint', text: hint }) : null);
}

function radios(name, legend, options, selected) {
    // The section's title says it already: the name is for screen readers.
    const fs = h('fieldset', { class: 'choice settings-choice', 'aria-label': legend });
    for (const o of options) {
        const id = newId(name);
        fs.append(h('span', { class: 'choice-item' },
            h('input', { type: 'radio', id, name, value: o.value, checked: o.value === selected }),
            h('label', { for: id, class: 'choice-label' }, h('strong', { text: o.label }),
                o.text ? h('span', { class: 'choice-text', text: o.text }) : null)));
    }
    return fs;
}

const chosen = (fs) => (fs.querySelector('input:checked') || {}).value;

export function createSettings(ctx) {
    const status = h('p', { class: 'form-status', role: 'status', 'data-settings-status': '' });
    const body = h('div', { class: 'settings-body' });
    const lead = h('p', { class: 'lead' });
    const el = h('div', { class: 'step-panel settings-page', 'data-view': 'settings' },
        h('p', {}, h('a', { href: ctx.roomLink(), class: 'btn btn-quiet', 'data-action': 'settings-back', text: `← ${t('settings.back')}` })),
        h('h1', { class: 'now-title', tabindex: '-1', text: t('settings.title') }),
        lead, status, body);
    let signature = '';
    let newInvite = '';

    /** Runs an API call; the answer's group (if any) is shown at once, before its group_updated. */
    async function run(fn, done) {
        setText(status, '');
        try {
            const res = await fn();
            if (res && res.group) ctx.s.group = { ...ctx.s.group, ...res.group };
            setText(status, done || t('settings.saved'));
            signature = '';
            update();
        } catch (err) {
            setText(status, ctx.errorText(err.code || 'internal'));
        }
    }
    const save = (fields) => run(() => api.settings(ctx.groupId, ctx.memberKey, fields));

    function retentionBlock(g, fac) {
        const opts = [
            { value: 'personal', label: t('settings.retention_personal'), text: t('settings.retention_personal_text') },
            { value: 'keep', label: t('settings.retention_keep'), text: t('settings.retention_keep_text') },
        ];
        if (!fac) {
            return section(t('settings.retention_title'),
                ...opts.map((o) => h('div', { class: ['settings-option', o.value === g.retention ? 'is-current' : null], 'data-retention': o.value },
                    h('p', {}, h('strong', { text: o.label }), o.value === g.retention ? ` ${t('settings.current')}` : ''),
                    h('p', { class: 'hint', text: o.text }))),
                h('p', { class: 'hint', text: t('settings.retention_when') }));
        }
        const fs = radios('retention', t('settings.retention_title'), opts, g.retention);
        const form = h('form', { 'data-form': 'retention' }, fs, h('p', { class: 'hint', text: t('settings.retention_when') }),
            h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'retention-save', text: t('settings.save') }));
        form.addEventListener('submit', (e) => { e.preventDefault(); save({ retention: chosen(fs) }); });
        return section(t('settings.retention_title'), form);
    }

    function warnBlock(g, fac) {
        if (!fac) return section(t('settings.warn_title'), h('p', { 'data-setting': 'warn', text: warnLabel(g.warn_before_s) }));
        const known = WARNINGS.includes(g.warn_before_s) ? WARNINGS : [...WARNINGS, g.warn_before_s].sort((a, b) => a - b);
        const select = h('select', {}, ...known.map((n) => h('option', { value: String(n), text: warnLabel(n), selected: n === g.warn_before_s })));
        const form = h('form', { 'data-form': 'warn' }, field(t('settings.warn_title'), select, t('settings.warn_hint'), true),
            h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'warn-save', text: t('settings.save') }));
        form.addEventListener('submit', (e) => { e.preventDefault(); save({ warn_before_s: Number(select.value) }); });
        return section(t('settings.warn_title'), form);
    }

    function templateBlock(g, fac) {
        const steps = (ctx.s.steps || []).filter((k) => g.budgets && k in g.budgets);
        const total = h('p', { class: 'settings-total', 'data-setting': 'total', text: t('settings.budgets_total', { n: plannedMinutes(g, steps) }) });
        const twice = g.consultations > 1 ? h('p', { class: 'hint', text: t('settings.budgets_twice') }) : null;
        if (!fac) {
            return section(t('settings.format_title'),
                h('p', { 'data-setting': 'format', text: formatLabel(g.format) }),
                h('table', { class: 'settings-budgets' }, h('tbody', {}, ...steps.map((k) => h('tr', { 'data-step': k },
                    h('th', { scope: 'row', text: t(`steps.${k}.label`) }),
                    h('td', { text: t('settings.minutes', { n: g.budgets[k] }) }))))),
                total, twice);
        }
        const fs = radios('format', t('settings.format_title'), FORMATS.map((f) => ({ value: f, label: formatLabel(f) })), String(g.format));
        const formatForm = h('form', { 'data-form': 'format' }, fs, h('p', { class: 'hint', text: t('settings.format_hint') }),
            h('button', { type: 'submit', class: 'btn', 'data-action': 'format-apply', text: t('settings.format_apply') }));
        formatForm.addEventListener('submit', (e) => { e.preventDefault(); save({ format: Number(chosen(fs)) }); });
        const inputs = steps.map((k) => h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', required: true,
            value: String(g.budgets[k]), 'data-step': k, class: 'input-minutes' }));
        const recount = () => {
            const b = Object.fromEntries(inputs.map((i) => [i.dataset.step, Number(i.value) || 0]));
            setText(total, t('settings.budgets_total', { n: plannedMinutes({ ...g, budgets: b }, steps) }));
        };
        for (const i of inputs) i.addEventListener('input', recount);
        const budgetForm = h('form', { 'data-form': 'budgets' },
            h('fieldset', { class: 'settings-budgets' }, h('legend', { text: t('settings.budgets_legend') }),
                ...inputs.map((i) => field(t(`steps.${i.dataset.step}.label`), i))),
            total, twice,
            h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'budgets-save', text: t('settings.budgets_save') }));
        budgetForm.addEventListener('submit', (e) => {
            e.preventDefault();
            save({ budgets: Object.fromEntries(inputs.map((i) => [i.dataset.step, Number(i.value)])) });
        });
        return section(t('settings.format_title'), formatForm, budgetForm);
    }

    function rulesBlock(g, fac) {
        const rules = groundRules(g);
        const note = g.ground_rules === null ? h('p', { class: 'hint', text: t('settings.rules_default_note') }) : null;
        const shown = rules.length ? h('ol', { class: 'ground-rules', 'data-list': 'settings-rules' }, ...rules.map((r) => h('li', { text: r })))
            : emptyNote(t('opening.rules_none'));
        if (!fac) return section(t('settings.rules_title'), h('p', { class: 'hint', text: t('settings.rules_hint') }), shown, note);
        const text = h('textarea', { rows: 6, 'data-input': 'rules' });
        text.value = rules.join('\n');
        const form = h('form', { 'data-form': 'rules' }, field(t('settings.rules_label'), text),
            h('p', { class: 'inline-form' },
                h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'rules-save', text: t('settings.rules_save') }),
                g.ground_rules === null ? null : h('button', { type: 'button', class: 'btn', 'data-action': 'rules-reset', text: t('settings.rules_reset'),
                    onclick: () => save({ ground_rules: null }) })));
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            save({ ground_rules: text.value.split('\n').map((r) => r.trim()).filter(Boolean) });
        });
        return section(t('settings.rules_title'), h('p', { class: 'hint', text: t('settings.rules_hint') }), shown, note, form);
    }

    function inviteBlock() {
        const link = newInvite ? `${location.origin}/#/join/${ctx.groupId}/${newInvite}` : '';
        const copy = link ? copyField(ctx.copy, { label: t('menu.invite_link'), value: link, button: t('menu.copy'), action: 'copy-new-invite' }).el : null;
        return section(t('settings.invite_title'), h('p', { class: 'hint', text: t('settings.invite_hint') }),
            h('button', { type: 'button', class: 'btn', 'data-action': 'invite-reset', text: t('settings.invite_reset'),
                onclick: () => run(async () => {
                    const res = await api.inviteRotate(ctx.groupId, ctx.memberKey);
                    newInvite = res.invite_code;
                    ctx.rememberInvite(res.invite_code);
                }, t('settings.invite_done')) }),
            copy);
    }

    function membersBlock(fac) {
        const s = ctx.s;
        const open = Boolean(s.room && s.room.step !== 'closed');
        const list = open ? s.room.members : s.groupMembers;
        const items = list.map((m) => {
            const lead = roleOf(s, m.id) === 'facilitator';
            const remove = fac && !open && !lead && m.id !== myId(s)
                ? h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'data-action': 'member-remove',
                    text: t('settings.remove', { name: m.name }),
                    onclick: async () => {
                        const yes = await confirmDialog({ title: t('settings.remove_title', { name: m.name }), text: t('settings.remove_text'),
                            ok: t('settings.remove_ok'), danger: true });
                        if (yes) run(() => api.memberRemove(ctx.groupId, ctx.memberKey, m.id), t('settings.removed', { name: m.name }));
                    } })
                : null;
            return h('li', { 'data-member': m.id }, h('span', { text: lead ? t('settings.member_facilitator', { name: m.name }) : m.name }), ' ', remove);
        });
        return section(t('settings.members_title'),
            fac ? h('p', { class: 'hint', text: open ? t('settings.members_in_session') : t('settings.members_hint') }) : null,
            h('ul', { class: 'settings-members', 'data-list': 'settings-members' }, ...items));
    }

    function deleteBlock(g) {
        const input = h('input', { type: 'text', autocomplete: 'off', 'data-input': 'delete-name' });
        const btn = h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'group-delete', disabled: true, text: t('settings.delete_button') });
        input.addEventListener('input', () => { btn.disabled = input.value.trim() !== g.name; });
        const form = h('form', { 'data-form': 'delete' }, h('p', { text: t('settings.delete_text') }),
            field(t('settings.delete_label', { name: g.name }), input), h('p', {}, btn));
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            if (input.value.trim() !== g.name) return;
            btn.disabled = true;
            try {
                await api.deleteGroup(ctx.groupId, ctx.memberKey);
                ctx.groupDeleted();
            } catch (err) {
                setText(status, ctx.errorText(err.code || 'internal'));
                btn.disabled = false;
            }
        });
        const sec = section(t('settings.delete_title'), form);
        sec.classList.add('settings-danger');
        return sec;
    }

    function update() {
        const s = ctx.s;
        const g = s.group;
        if (!g || !g.budgets) return;
        const fac = isFacilitator(s);
        const list = s.room && s.room.step !== 'closed' ? s.room.members : s.groupMembers;
        // Rebuilt only when what it shows changed (not at every presence or tick).
        const sig = JSON.stringify([g, fac, s.room ? s.room.step : null, list.map((m) => [m.id, m.name]), newInvite]);
        if (sig === signature) return;
        signature = sig;
        const focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.dataset.action : null;
        setText(lead, fac ? t('settings.lead_fac') : t('settings.lead'));
        body.replaceChildren(retentionBlock(g, fac), warnBlock(g, fac), templateBlock(g, fac), rulesBlock(g, fac),
            fac ? inviteBlock() : '', membersBlock(fac), fac ? deleteBlock(g) : '');
        if (focused) {
            const again = body.querySelector(`[data-action="${focused}"]`);
            if (again) again.focus();
        }
    }

    ctx.refreshMembers();
    update();
    return { el, update };
}
