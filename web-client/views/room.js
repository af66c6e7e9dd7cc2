// views/room.js - the room page: one connection, one state, and the
// components around the current step's panel. Server messages go through
// state.apply(); the page re-renders once per frame of messages. The step
// panel is rebuilt only when the step, my role, the consultation or the
// language changes; otherwise every component updates in place, so focus,
// caret and drafts survive events, ticks and reconnects.

import { h, setText, fill } from '../dom.js';
import { t, errorText, currentLanguage, loadLanguage } from '../i18n.js';
import { Connection, wsUrl } from '../net.js';
import { createState, apply, myRole, myId, memberName } from '../state.js';
import * as store from '../storage.js';
import { api } from '../api.js';
import { createTopbar, createProgress, createStepInfo } from './header.js';
import { createControls } from './controls.js';
import { createMembers, createHands } from './members.js';
import { createFloorPanel } from './floor.js';
import { createNotes } from './notes.js';
import { createSafetyNet } from './safety.js';
import { createOpening } from './opening.js';
import { createTopic } from './topic.js';
import { createExpose } from './expose.js';
import { createClarification } from './clarification.js';
import { createContract, createPinnedContract } from './contract.js';
import { createConsultation } from './consultation.js';
import { createSynthesis } from './synthesis.js';
import { createLearning } from './learning.js';
import { createClosed } from './closed.js';
import { createNoSession } from './nosession.js';
import { createSettings } from './settings.js';
import { messagePage } from './message.js';
import { announce, showError, clearErrors, settleErrors, dockAlerts } from './feedback.js';

const PANELS = {
    opening: createOpening,
    topic: createTopic,
    expose: createExpose,
    clarification: createClarification,
    contract: createContract,
    consultation: createConsultation,
    synthesis: createSynthesis,
    learning: createLearning,
    closed: createClosed,
};

/** Mounts the room of group groupId into root. Returns {unmount}. */
export function mountRoom(root, groupId, entry, app, initialView = 'room') {
    const s = createState();
    const drafts = store.createDrafts(groupId);
    let parts = null;
    let panel = null;
    let panelKey = '';
    let scheduled = false;
    let fatal = null;
    let languageSettled = Boolean(store.languageChoice());
    let view = initialView; // 'room' or 'settings' (#/g/<id>/settings)

    const ctx = {
        s,
        drafts,
        status: 'connecting',
        errorText,
        announce,
        send: (type, fields) => conn.send(type, fields),
        // A read-only query (question_check): its answer or refusal goes
        // to the caller only.
        query: (type, fields) => conn.send(type, fields, { quiet: true }),
        act: (type, fields) => { conn.send(type, fields).catch(() => { /* shown by onMessage */ }); },
        openNotes: () => parts && parts.notes.open(),
        switchLanguage: () => app.switchLanguage(),
        copy: app.copy,
        inviteLink: () => {
            const e = store.group(groupId);
            return e && e.invite_code ? `${location.origin}/#/join/${groupId}/${e.invite_code}` : null;
        },
        personalLink: () => `${location.origin}/#/g/${groupId}/${entry.member_key}`,
        keepRecord: (rec) => store.saveRecord(groupId, rec),
        loadRecord: () => store.loadRecord(groupId),
        groupId,
        memberKey: entry.member_key,
        refresh: () => schedule(),
        settingsLink: () => `#/g/${groupId}/settings`,
        roomLink: () => `#/g/${groupId}`,
        // The group was deleted from its settings page: this browser forgets it.
        groupDeleted: () => { conn.stop(); store.forgetGroup(groupId); location.hash = '#/'; },
        // The invite code the settings page just made.
        rememberInvite: (code) => store.rememberGroup(groupId, { invite_code: code }),
        refreshMembers: () => refreshGroupMembers(),
    };

    const conn = new Connection({
        url: wsUrl(groupId),
        hello: () => ({ type: 'hello', group_id: groupId, member_key: entry.member_key,
            ...(s.room ? { last_seq: s.lastSeq } : {}) }),
        onMessage,
        onStatus: (status, detail) => {
            const was = ctx.status;
            ctx.status = status;
            if (status === 'open' && was === 'lost') announce(t('conn.back'));
            if (status === 'lost' && was === 'open') announce(t('conn.lost_announce'));
            if (status === 'fatal') fatal = detail.code;
            schedule();
        },
        expectTicks: () => Boolean(s.room && ((s.room.clock && s.room.clock.running) || s.room.floor)),
    });

    function onMessage(msg) {
        if (msg.type === 'error') {
            // Removed between sessions while connected: the socket closes.
            if (msg.id === undefined && msg.code === 'member_removed' && s.you) {
                fatal = 'member_removed';
                conn.stop();
                schedule();
                return;
            }
            // A refused hello or a removal notice: the full-page message says it.
            if (msg.id === undefined && ['bad_key', 'unknown_group', 'member_removed'].includes(msg.code)) return;
            showError(msg.code);
            return;
        }
        if (msg.type === 'ack') return;
        const news = apply(s, msg);
        if (msg.type === 'tick') {
            // Only the clock changes: no need to redraw the room.
            if (parts && !scheduled) { parts.info.tick(); parts.floor.tick(); }
            return;
        }
        if (typeof msg.seq === 'number') settleErrors(msg.type);
        if (msg.type === 'welcome') onWelcome();
        if (msg.type === 'session_opened') announce(t('announce.session_opened'));
        for (const n of news) {
            if (n.kind === 'card' && n.card.author !== myId(s) && n.card.type !== 'note') {
                announce(t('announce.card', { name: memberName(s, n.card.author), what: t(`announce.types.${n.card.type}`), text: n.card.text.slice(0, 200) }));
            } else if (n.kind === 'step') {
                announce(t('announce.step', { step: t(`steps.${n.step}.label`) }));
            } else if (n.kind === 'facilitator' && (n.reason === 'auto' || n.reason === 'offer')) {
                announce(t('safety.announce_auto', { name: memberName(s, n.member) }));
            } else if (n.kind === 'facilitator' && n.reason === 'reclaim') {
                announce(t('safety.announce_reclaim', { name: memberName(s, n.member) }));
            } else if (n.kind === 'removed') {
                fatal = 'member_removed';
                conn.stop();
            }
        }
        schedule();
    }

    async function onWelcome() {
        store.rememberGroup(groupId, { member_id: s.you.member_id, name: s.you.name, group_name: s.group.name });
        if (!languageSettled) {
            languageSettled = true;
            if (s.group.language && s.group.language !== currentLanguage()) {
                await loadLanguage(s.group.language);
                remount();
            }
        }
        if (!s.room) refreshGroupMembers();
    }

    async function refreshGroupMembers() {
        try {
            const g = await api.group(groupId, entry.member_key);
            s.groupMembers = (g.members || []).map((m) => ({ ...m, id: m.id || m.member_id }));
            schedule();
        } catch { /* the panel shows what the socket told us */ }
    }

    function schedule() {
        if (scheduled) return;
        scheduled = true;
        queueMicrotask(() => { scheduled = false; render(); });
    }

    function build() {
        destroyParts();
        document.body.classList.remove('notes-open');
        const banner = h('div', { class: 'banner', role: 'status', hidden: true });
        const panelSlot = h('div', { class: 'panel', id: 'panel' });
        parts = {
            topbar: createTopbar(ctx),
            progress: createProgress(ctx),
            info: createStepInfo(ctx),
            controls: createControls(ctx),
            pinned: createPinnedContract(ctx),
            hands: createHands(ctx),
            floor: createFloorPanel(ctx),
            members: createMembers(ctx),
            notes: createNotes(ctx),
            safety: createSafetyNet(ctx),
            banner,
            panelSlot,
        };
        const retry = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'reconnect', onclick: () => conn.reconnectNow() });
        parts.retry = retry;
        parts.bannerText = h('span');
        banner.append(parts.bannerText, ' ', retry);
        // Issue 12: the sticky bar first, then what the role works on (the
        // step's panel), then the rest: the facilitator's other tools, the
        // steps of the session, hands and members.
        fill(root,
            parts.topbar.el,
            banner,
            parts.main = h('main', { class: 'room', id: 'main' },
                parts.info.el,
                parts.grid = h('div', { class: 'room-grid' },
                    parts.safety.el, parts.info.help, parts.pinned.el,
                    panelSlot,
                    parts.controls.el,
                    parts.progress.el,
                    h('div', { class: 'room-side' }, parts.floor.el, parts.hands.el, parts.members.el))),
            parts.notes.el);
        panel = null;
        panelKey = '';
    }

    function destroyParts() {
        dockAlerts(null);
        if (parts && parts.info.destroy) parts.info.destroy();
        if (panel && panel.destroy) panel.destroy();
        parts = null;
        panel = null;
    }

    function remount() {
        build();
        render();
    }

    function render() {
        if (fatal) {
            destroyParts();
            const removed = fatal === 'member_removed';
            fill(root, messagePage({
                title: removed ? t('fatal.removed_title') : t('fatal.key_title'),
                text: removed ? t('fatal.removed_text') : errorText(fatal),
                actions: [h('a', { class: 'btn', href: '#/', text: t('menu.my_groups') }),
                    h('button', { type: 'button', class: 'btn btn-danger-quiet', text: t('fatal.forget'), onclick: () => { store.forgetGroup(groupId); location.hash = '#/'; } })],
            }));
            return;
        }
        if (!parts) build();
        document.title = s.group ? `${s.group.name} · ${t('app.name')}` : t('app.name');
        // Connection banner.
        const lost = ctx.status === 'lost';
        parts.banner.hidden = !lost;
        setText(parts.bannerText, conn.pendingCount ? t('conn.lost_pending', { n: conn.pendingCount }) : t('conn.lost_text'));
        setText(parts.retry, t('conn.retry'));
        if (!s.you) {
            fill(parts.panelSlot, h('p', { class: 'empty loading', text: t(`conn.${ctx.status}`) }));
            parts.topbar.update();
            return;
        }
        const key = view === 'settings' ? `settings|${myRole(s)}`
            : `${s.room ? s.room.step : 'none'}|${myRole(s)}|${s.room ? s.room.consultation : ''}|${s.room ? s.room.session_id : ''}`;
        if (key !== panelKey) {
            if (panel && panel.destroy) panel.destroy();
            const create = view === 'settings' ? createSettings : s.room ? PANELS[s.room.step] : createNoSession;
            panel = create ? create(ctx) : null;
            panelKey = key;
            fill(parts.panelSlot, panel ? panel.el : null);
            parts.panelSlot.dataset.step = s.room ? s.room.step : 'none';
            parts.grid.dataset.step = parts.panelSlot.dataset.step;
            parts.main.dataset.roomView = view;
            clearErrors();
        } else if (panel) {
            panel.update();
        }
        for (const name of ['topbar', 'progress', 'info', 'controls', 'pinned', 'hands', 'floor', 'members', 'notes', 'safety']) parts[name].update();
        // Errors at the foot of the sticky bar while it shows (feedback.js).
        dockAlerts(parts.info.el.hidden ? null : parts.info.el);
    }

    build();
    render();
    conn.start();
    return {
        unmount() {
            conn.stop();
            destroyParts();
        },
        remount,
        /** Shows the room or the group's settings page, on the same connection. */
        setView(v) {
            if (v === view) return;
            view = v;
            schedule();
            window.scrollTo(0, 0);
        },
        connection: conn,
    };
}
