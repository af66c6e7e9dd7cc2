// views/message.js - a full-page message (removed, unknown key, no key on
// this device) with a way out.

import { h } from '../dom.js';
import { t } from '../i18n.js';

export function messagePage({ title, text, actions = [] }) {
    return h('main', { class: 'page message', id: 'main' },
        h('p', {}, h('a', { class: 'brand', href: '#/', text: t('app.name') })),
        h('h1', { text: title }),
        h('p', { text }),
        h('p', { class: 'message-actions' }, actions));
}
