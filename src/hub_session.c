/*
 * hub_session.c - the room of each group (see hub.h): opening a session
 * from the group's members and plans, hub_sync after every accepted
 * command (facilitator, observers, removals and debriefs back into the
 * group), the close (the action plans kept, the text-free room under
 * retention "personal"), the closed room rebuilt at start-up, and
 * attaching or replacing a room the store rebuilt.
 *
 * Invariants:
 *   - A group has at most one room that is not closed; open_sessions and
 *     the creator's session count (hub_creator.c) count the groups whose
 *     room is counted (room_counted), and change together.
 *   - At the close, under retention "personal", the room is stripped in
 *     place: card text, problems, contracts, debriefs and the floor balance
 *     are wiped before they are freed, and the room's version moves so that
 *     no view cached before is served.
 *   - A room attached or replaced is sized by the hub's room_limits, as a
 *     room opened here.
 *
 * Expected load: one open and one close per session; hub_sync runs after
 * every accepted command and is O(members + debriefs x plans). ONLY used
 * from the lws service thread (and at start-up, to load).
 */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "hub_internal.h"
#include "util.h"

int hub_session_open(struct hub *h, struct hub_group *g, int64_t now_ms)
{
    char session_id[AUTH_UUID_LEN + 1];
    int64_t budgets[STEP_COUNT];
    struct room *r;

    if (g->room && g->room->step != STEP_CLOSED)
        return CODEV_E_SESSION_OPEN;
    if (h->open_sessions >= h->sessions_max)
        return CODEV_E_TOO_MANY_SESSIONS;
    const struct hub_creator *mine = hub_creator_find(h, g->creator);
    if (mine && mine->sessions >= h->sessions_per_ip)
        return CODEV_E_TOO_MANY_SESSIONS;
    /* The group's template (hub_settings.c): the format's defaults as the
     * facilitator adjusted them. */
    hub_group_budgets_ms(g, budgets);
    auth_uuid_new(session_id);
    r = room_new(session_id, budgets, &h->room_limits, now_ms);
    if (!r)
        return CODEV_E_INTERNAL;
    for (size_t i = 0; i < g->nmembers; i++) {
        const struct hub_member *m = &g->members[i];
        if (m->removed)
            continue;
        int idx = room_member_add(r, m->id, m->name, strcmp(m->id, g->facilitator) == 0,
                                  m->observer);
        if (idx < 0)
            goto fail;
        room_member_form_set(r, idx, m->form);
    }
    for (size_t i = 0; i < g->nplans; i++) {
        const struct hub_plan *p = &g->plans[i];
        if (p->debriefed || room_member_find(r, p->client) < 0)
            continue;
        if (room_debrief_add(r, p->id, p->client, p->text, p->due, p->first_step) < 0)
            goto fail;
    }
    g->opened_once = true;
    g->room_active_ms = now_ms;
    if (hub_session_attach(h, g, r))
        return CODEV_E_SESSION_OPEN; /* checked above: not reached */
    hub_life_session_opened(g);
    return 0;
fail:
    room_free(r);
    return CODEV_E_INTERNAL;
}

static struct hub_member *hub_member_mut(struct hub_group *g, const char *id)
{
    return (struct hub_member *)hub_member_find(g, id);
}

/* Keeps the action plan of every consultation of a closed room. */
static void hub_keep_plans(struct hub_group *g, const struct room *r)
{
    for (size_t i = 0; i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        const struct room_consultation *k;
        struct hub_plan *p;

        if (c->type != CARD_ACTION || c->removed || c->withdrawn || c->consultation < 0)
            continue;
        k = &r->consultations[c->consultation];
        if (k->client < 0)
            continue;
        if (array_grow((void **)&g->plans, &g->plans_cap, g->nplans + 1, sizeof(*p)))
            return;
        p = &g->plans[g->nplans];
        memset(p, 0, sizeof(*p));
        p->text = strdup(c->text);
        p->due = util_strdup_or_null(c->due);
        p->first_step = util_strdup_or_null(c->first_step);
        if (!p->text || (c->due && !p->due) || (c->first_step && !p->first_step)) {
            free(p->text);
            free(p->due);
            free(p->first_step);
            return;
        }
        auth_uuid_new(p->id);
        memcpy(p->client, r->members[k->client].id, AUTH_UUID_LEN + 1);
        memcpy(p->session, r->session_id, sizeof(p->session));
        p->consultation = c->consultation;
        g->nplans++;
    }
}

struct room *hub_closed_room_new(const struct hub_closed *c)
{
    struct room *r = room_new(c->session_id, c->budgets, c->limits, c->opened_ms);

    if (!r)
        return NULL;
    r->step = STEP_CLOSED;
    r->seq = c->seq;
    r->opening_budget_ms = c->opening_planned_ms;
    r->opening_used_ms = c->opening_used_ms;
    clock_init(&r->clock, 0, 0);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct hub_closed_member *m = &c->members[i];
        int idx = room_member_add(r, m->id, m->name, m->facilitator, m->observer);
        if (idx != (int)i)
            goto fail; /* a duplicate id, or over the limits */
        r->members[idx].removed = m->removed;
    }
    if (c->nconsultations && array_grow((void **)&r->consultations, &r->consultations_cap,
                                        c->nconsultations, sizeof(*r->consultations)))
        goto fail;
    for (size_t i = 0; i < c->nconsultations; i++) {
        struct room_consultation *k = &r->consultations[i];
        memset(k, 0, sizeof(*k));
        k->client = -1;
        for (size_t m = 0; c->consultations[i].client[0] && m < r->nmembers; m++)
            if (strcmp(r->members[m].id, c->consultations[i].client) == 0)
                k->client = (int)m;
        for (int s = STEP_TOPIC; s <= STEP_LEARNING; s++) {
            k->step_budget_ms[s] = c->consultations[i].planned_ms[s];
            k->step_used_ms[s] = c->consultations[i].used_ms[s];
        }
        r->nconsultations++;
    }
    /* Hidden placeholders keep the card ids of the session taken. */
    if (c->ncards &&
        array_grow((void **)&r->cards, &r->cards_cap, c->ncards, sizeof(*r->cards)))
        goto fail;
    for (size_t i = 0; i < c->ncards; i++) {
        struct room_card *k = &r->cards[i];
        memset(k, 0, sizeof(*k));
        k->id = (uint32_t)i + 1;
        k->consultation = -1;
        k->removed = true;
        k->text = calloc(1, 1);
        if (!k->text)
            goto fail;
        r->ncards++;
    }
    return r;
fail:
    room_free(r);
    return NULL;
}

const struct room *hub_room_of(const struct hub_group *g, const char *member_id)
{
    if (!g->room || g->room->step != STEP_CLOSED)
        return g->room;
    return room_member_find(g->room, member_id) >= 0 ? g->room : NULL;
}

/* Overwrites a string's bytes before it is freed: the text leaves the heap
 * too, not only the room. */
static void hub_wipe(char **text)
{
    if (!*text)
        return;
    memset(*text, 0, strlen(*text));
    free(*text);
    *text = NULL;
}

/*
 * Makes g's closed room its text-free version, in place (the same room, so
 * that pointers and member indexes held elsewhere stay valid): cards become
 * hidden placeholders (their ids stay taken), problems, contracts, acks,
 * refocus counts, hands, debriefs and the floor balance go, and the clock is
 * reset, exactly as hub_closed_room_new builds it at start-up.
 */
static void hub_room_strip(struct hub_group *g)
{
    struct room *r = g->room;

    for (size_t i = 0; i < r->ncards; i++) {
        struct room_card *c = &r->cards[i];
        if (c->text)
            memset(c->text, 0, strlen(c->text)); /* an empty text, for who reads it */
        hub_wipe(&c->answer);
        hub_wipe(&c->due);
        hub_wipe(&c->first_step);
        c->removed = true;
        c->flagged = c->marked = false;
    }
    for (size_t i = 0; i < r->nconsultations; i++) {
        struct room_consultation *k = &r->consultations[i];
        hub_wipe(&k->problem);
        hub_wipe(&k->contract);
        hub_wipe(&k->retained);
        k->acks = 0;
        k->recadrages = 0;
        k->last_recadrage_ms = 0;
    }
    for (size_t i = 0; i < r->ndebriefs; i++) {
        hub_wipe(&r->debriefs[i].text);
        hub_wipe(&r->debriefs[i].due);
        hub_wipe(&r->debriefs[i].first_step);
        hub_wipe(&r->debriefs[i].comment);
    }
    r->ndebriefs = 0;
    for (size_t i = 0; i < r->nmembers; i++) {
        r->members[i].hand = 0;
        /* The balance is in the history (session_floor), not the closed room. */
        memset(r->members[i].floor, 0, sizeof(r->members[i].floor));
    }
    clock_init(&r->clock, 0, 0);
    r->version++; /* a view cached before the strip holds the text: never serve it */
}

void hub_sync(struct hub *h, struct hub_group *g)
{
    struct room *r = g->room;

    if (!r)
        return;
    if (r->facilitator >= 0)
        memcpy(g->facilitator, r->members[r->facilitator].id, AUTH_UUID_LEN + 1);
    for (size_t i = 0; i < r->nmembers; i++) {
        struct hub_member *m = hub_member_mut(g, r->members[i].id);
        if (!m)
            continue;
        m->observer = r->members[i].observer;
        if (r->members[i].removed && !m->removed) {
            char invite[AUTH_SECRET_LEN + 1];
            m->removed = true;
            /* The removed member may still hold the invite: it dies with
             * their key. Should the generator fail, the old hash stays
             * (hub_invite_rotate leaves it), as after a failed POST /invite. */
            if (!hub_invite_rotate(g, invite))
                g->invite_rotated = true;
        }
    }
    for (size_t i = 0; i < r->ndebriefs; i++) {
        if (r->debriefs[i].outcome < 0)
            continue;
        for (size_t j = 0; j < g->nplans; j++) {
            struct hub_plan *p = &g->plans[j];
            if (strcmp(p->id, r->debriefs[i].id) != 0)
                continue;
            p->debriefed = true;
            /* The room's debrief is the one kept now (with the plan, at the
             * close): the copy posted in advance goes. */
            if (p->pre_comment) {
                memset(p->pre_comment, 0, strlen(p->pre_comment));
                free(p->pre_comment);
                p->pre_comment = NULL;
            }
            p->pre_debriefed = false;
        }
    }
    if (r->step == STEP_CLOSED && g->room_counted) {
        g->room_counted = false;
        h->open_sessions--;
        hub_creator_count(h, g->creator, 0, -1);
        hub_keep_plans(g, r);
        hub_life_session_closed(g);
        if (g->retention == HUB_RETENTION_PERSONAL)
            hub_room_strip(g);
    }
}

void hub_room_forms_sync(struct hub_group *g)
{
    struct room *r = g->room;

    for (size_t i = 0; r && i < r->nmembers; i++) {
        const struct hub_member *m = hub_member_find(g, r->members[i].id);
        if (m)
            room_member_form_set(r, (int)i, m->form);
    }
}

int hub_session_attach(struct hub *h, struct hub_group *g, struct room *r)
{
    if (g->room && g->room->step != STEP_CLOSED) {
        room_free(r);
        return CODEV_E_SESSION_OPEN;
    }
    room_free(g->room);
    /* A rebuilt room was replayed without the session budget (the journal
     * keeps the limits that shape commands, not the budget): it holds from
     * here on, counted over everything replayed. */
    r->limits.items_max = h->room_limits.items_max;
    r->limits.bytes_max = h->room_limits.bytes_max;
    r->limits.rewrites_max = h->room_limits.rewrites_max;
    r->limits.journal_bytes_max = h->room_limits.journal_bytes_max;
    r->limits.member_share = h->room_limits.member_share;
    /* The group's memory of its last round (a rebuilt room knows its own
     * rounds; the group's is as recent or more). */
    if (g->round_last[0])
        room_round_seed_set(r, g->round_last);
    g->room = r;
    hub_room_forms_sync(g);
    g->opened_once = true;
    g->room_counted = true;
    h->open_sessions++;
    hub_creator_count(h, g->creator, 0, 1);
    return 0;
}

int hub_session_replace(struct hub *h, struct hub_group *g, struct room *r)
{
    char sid[ROOM_ID_LEN + 1] = "";
    int rc;

    if (g->room) {
        memcpy(sid, g->room->session_id, sizeof(sid));
        if (g->room_counted) {
            g->room_counted = false;
            h->open_sessions--;
            hub_creator_count(h, g->creator, 0, -1);
        }
        room_free(g->room);
        g->room = NULL;
    }
    /* Plans kept by a close that did not commit. */
    for (size_t i = 0; sid[0] && i < g->nplans;) {
        if (strcmp(g->plans[i].session, sid) != 0) {
            i++;
            continue;
        }
        free(g->plans[i].text);
        free(g->plans[i].due);
        free(g->plans[i].first_step);
        memmove(&g->plans[i], &g->plans[i + 1], (g->nplans - i - 1) * sizeof(*g->plans));
        g->nplans--;
    }
    if (!r)
        return 0;
    rc = hub_session_attach(h, g, r);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->nmembers; i++) {
        struct hub_member *m = hub_member_mut(g, r->members[i].id);
        if (m && m->removed && !r->members[i].removed)
            m->removed = false;
    }
    /* Debriefs that did not commit: the plan waits for its debrief again. */
    for (size_t i = 0; i < r->ndebriefs; i++)
        for (size_t j = 0; r->debriefs[i].outcome < 0 && j < g->nplans; j++)
            if (strcmp(g->plans[j].id, r->debriefs[i].id) == 0)
                g->plans[j].debriefed = false;
    hub_sync(h, g);
    return 0;
}
