// views/home.js - the front page: the groups this browser belongs to, and
// the form that creates a group (its creator becomes the facilitator and
// lands in the group, with the invite link to share).

import { h, newId } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { api } from '../api.js';
import * as store from '../storage.js';
import { preconnect, wsUrl } from '../early.js';
import { choice, choiceValue, languageButton, formChoice } from './common.js';

function field(label, input, hint) {
    return h('p', { class: 'field' }, h('label', { for: input.id, text: label }), input,
        hint ? h('span', { class: 'hint', text: hint }) : null);
}

export function topbarSimple(app) {
    return h('header', { class: 'topbar' },
        h('a', { class: 'brand', href: '#/', text: t('app.name') }),
        h('span', { class: 'topbar-group' }),
        h('span', { class: 'topbar-actions' },
            languageButton(() => app.switchLanguage())));
}

// The name fields come before any welcome: their limit comes from
// GET /api/health (limits.name_max_chars). Until it answers the fields take
// any length; the server still refuses a name that is too long, with
// bad_field, which the form shows.
function nameLimit(inputs) {
    api.health().then((res) => {
        const n = res && res.limits && res.limits.name_max_chars;
        if (Number.isInteger(n) && n > 0) for (const i of inputs) i.maxLength = n;
    }).catch(() => {});
}

export function homePage(app) {
    const name = h('input', { id: newId('name'), name: 'group', type: 'text', required: true, autocomplete: 'off' });
    const me = h('input', { id: newId('me'), name: 'facilitator', type: 'text', required: true, autocomplete: 'name' });
    nameLimit([name, me]);
    const lang = h('select', { id: newId('lang'), name: 'language' },
        h('option', { value: 'fr', text: t('home.lang_fr'), selected: app.language() === 'fr' }),
        h('option', { value: 'en', text: t('home.lang_en'), selected: app.language() === 'en' }));
    const format = choice('format', t('home.format'), [
        { value: '90', label: t('home.format_90') },
        { value: '120', label: t('home.format_120') },
        { value: '45', label: t('home.format_45') },
        { value: '240', label: t('home.format_240') },
    ], '90');
    const form_ = formChoice('n');
    const status = h('p', { class: 'form-status', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-big', text: t('home.create') });
    const form = h('form', { class: 'card-form', 'data-form': 'create' },
        h('h2', { text: t('home.create_title') }),
        field(t('home.group_name'), name, t('home.group_name_hint')),
        field(t('home.your_name'), me, t('home.your_name_hint')),
        form_,
        field(t('home.language'), lang),
        format,
        h('p', {}, submit), status);
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        status.textContent = '';
        submit.disabled = true;
        try {
            const res = await api.createGroup({
                name: name.value.trim(), facilitator_name: me.value.trim(),
                language: lang.value, format: Number(choiceValue(format) || 90),
                form: choiceValue(form_) || 'n',
            });
            store.rememberGroup(res.group_id, {
                member_key: res.member_key, member_id: res.member_id, invite_code: res.invite_code,
                name: me.value.trim(), group_name: name.value.trim(),
            });
            location.hash = `#/g/${res.group_id}`;
        } catch (err) {
            status.textContent = errorText(err.code || 'internal');
            submit.disabled = false;
        }
    });

    const mine = Object.entries(store.groups())
        .filter(([, g]) => g.member_key)
        .sort((a, b) => (b[1].seen_ms || 0) - (a[1].seen_ms || 0));
    const groups = mine.length ? h('section', { class: 'card-form' },
        h('h2', { text: t('home.your_groups') }),
        h('ul', { class: 'group-list' }, mine.map(([id, g]) => h('li', {},
            h('a', { href: `#/g/${id}`, text: g.group_name || t('home.unnamed') }),
            g.name ? h('span', { class: 'hint', text: ` · ${g.name}` }) : null)))) : null;

    return h('div', { class: 'page-wrap' },
        topbarSimple(app),
        h('main', { class: 'page home', id: 'main' },
            h('h1', { text: t('home.title') }),
            h('p', { class: 'lead', text: t('home.lead') }),
            groups,
            form,
            h('p', { class: 'hint', text: t('home.privacy') })));
}

export function joinPage(app, groupId, inviteCode) {
    const me = h('input', { id: newId('me'), name: 'display_name', type: 'text', required: true, autocomplete: 'name' });
    nameLimit([me]);
    const status = h('p', { class: 'form-status', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-big', text: t('join.submit') });
    const form_ = formChoice('n');
    const form = h('form', { class: 'card-form', 'data-form': 'join' },
        field(t('join.your_name'), me, t('join.your_name_hint')), form_, h('p', {}, submit), status);
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        status.textContent = '';
        submit.disabled = true;
        preconnect(wsUrl(groupId)); // the room's socket opens while the join is answered
        try {
            const res = await api.join(groupId, inviteCode, me.value.trim(), choiceValue(form_) || 'n');
            store.rememberGroup(res.group_id || groupId, {
                member_key: res.member_key, member_id: res.member_id, invite_code: inviteCode, name: me.value.trim(),
            });
            location.hash = `#/g/${res.group_id || groupId}`;
        } catch (err) {
            status.textContent = errorText(err.code || 'internal');
            submit.disabled = false;
        }
    });
    // The group and its facilitator, named before anyone types a name
    // (GET …/preview with the invite code; a wrong code keeps the plain lead).
    const title = h('h1', { text: t('join.title') });
    const lead = h('p', { class: 'lead', 'data-join': 'lead', text: t('join.lead') });
    api.preview(groupId, inviteCode).then((p) => {
        title.textContent = p.name;
        lead.textContent = t('join.lead_named', { facilitator: p.facilitator_name, group: p.name });
        lead.dataset.named = 'yes';
        document.title = `${p.name} · ${t('join.title')}`;
    }).catch((err) => {
        if (err.code === 'bad_invite' || err.code === 'unknown_group') status.textContent = errorText(err.code);
    });
    return h('div', { class: 'page-wrap' },
        topbarSimple(app),
        h('main', { class: 'page join', id: 'main' },
            title,
            lead,
            form,
            h('p', { class: 'hint', text: t('join.privacy') })));
}
