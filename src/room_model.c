/*
 * room_model.c - the room outside room_apply(): creating and freeing it,
 * members, presence and roles, earlier action plan items to debrief, who
 * may see which event and card, the queries the edges read, and the wire
 * names of the enums (see room.h, room_internal.h).
 *
 * Invariants: room.c's. Members are never deleted (a removed member keeps
 * its index); membership and presence take no sequence number but change
 * r->version, which keys the edge's snapshot cache. Visibility is decided
 * here and nowhere else: private notes to their author, "à retenir" marks
 * to the client of that consultation, recadrage to that client and the
 * facilitator.
 *
 * Pure: libc only. Expected load: one room_new per session; the queries
 * run per event and per snapshot, O(members + cards) at worst.
 */
#include "room_internal.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"

/* ---- lifecycle, members, debriefs --------------------------------------- */

/* Returns a new room (owned by the caller, freed with room_free) in opening
 * with a stopped clock set to the opening budget, or NULL when limits is
 * NULL or an allocation fails. Budgets are clamped to
 * [0, CLOCK_BUDGET_MAX_MS]; a NULL budget_ms means zero budgets; members_max
 * is clamped to ROOM_MEMBERS_HARD_MAX. session_id is copied (at most
 * ROOM_ID_LEN bytes). */
struct room *room_new(const char *session_id, const int64_t *budget_ms,
                      const struct room_limits *limits, int64_t now_ms)
{
    struct room *r;

    if (!limits)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (session_id) {
        size_t n = strlen(session_id);

        memcpy(r->session_id, session_id, n < ROOM_ID_LEN ? n : ROOM_ID_LEN);
    }
    r->created_ms = now_ms;
    r->step = STEP_OPENING;
    r->facilitator = -1;
    r->cofacilitator = -1;
    r->facilitator_away = -1;
    r->floor_member = -1;
    r->round_seed = -1;
    r->limits = *limits;
    if (r->limits.members_max > ROOM_MEMBERS_HARD_MAX)
        r->limits.members_max = ROOM_MEMBERS_HARD_MAX;
    for (int i = 0; i < STEP_COUNT; i++) {
        int64_t b = budget_ms ? budget_ms[i] : 0;

        r->budget_ms[i] = b < 0 ? 0 : b > CLOCK_BUDGET_MAX_MS ? CLOCK_BUDGET_MAX_MS : b;
    }
    r->opening_budget_ms = r->budget_ms[STEP_OPENING];
    clock_init(&r->clock, r->opening_budget_ms, 0);
    return r;
}

/* Frees r and every string, array and event it owns. NULL is a no-op. */
void room_free(struct room *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nmembers; i++) {
        free(r->members[i].name);
        free(r->members[i].seen);
    }
    for (size_t i = 0; i < r->nconsultations; i++) {
        free(r->consultations[i].problem);
        free(r->consultations[i].contract);
    }
    for (size_t i = 0; i < r->ncards; i++) {
        free(r->cards[i].text);
        free(r->cards[i].answer);
        free(r->cards[i].due);
    }
    for (size_t i = 0; i < r->ndebriefs; i++) {
        free(r->debriefs[i].text);
        free(r->debriefs[i].due);
        free(r->debriefs[i].comment);
    }
    free(r->members);
    free(r->consultations);
    free(r->cards);
    free(r->debriefs);
    free(r->out);
    free(r);
}

/* Adds a member (see room.h). Returns its index; the index of the member
 * already holding member_id (removed or not); CODEV_E_BAD_FIELD for a NULL,
 * empty or over-long id; CODEV_E_GROUP_FULL when the members not removed
 * reach limits.members_max or the indexes reach ROOM_MEMBERS_HARD_MAX; or
 * CODEV_E_INTERNAL. A NULL name is stored as "". */
int room_member_add(struct room *r, const char *member_id, const char *name,
                    bool facilitator, bool observer)
{
    struct room_member *m;
    size_t active = 0, idlen;
    char *copy = NULL;
    int err;

    if (!r || !member_id)
        return CODEV_E_BAD_FIELD;
    idlen = strlen(member_id);
    if (idlen == 0 || idlen > ROOM_ID_LEN)
        return CODEV_E_BAD_FIELD;
    for (size_t i = 0; i < r->nmembers; i++) {
        if (strcmp(r->members[i].id, member_id) == 0)
            return (int)i;
        active += !r->members[i].removed;
    }
    if (active >= r->limits.members_max || r->nmembers >= ROOM_MEMBERS_HARD_MAX)
        return CODEV_E_GROUP_FULL;

    err = CODEV_E_INTERNAL;
    copy = strdup(name ? name : "");
    if (!copy || array_grow((void **)&r->members, &r->members_cap, r->nmembers + 1,
                            sizeof(*r->members)))
        goto out;
    m = &r->members[r->nmembers];
    memset(m, 0, sizeof(*m));
    memcpy(m->id, member_id, idlen + 1);
    m->name = copy;
    m->observer = observer;
    copy = NULL;
    if (facilitator && r->facilitator < 0)
        r->facilitator = (int)r->nmembers;
    err = (int)r->nmembers++;
    r->version++;
out:
    free(copy);
    return err;
}

/* Returns the index of the member with this id that is not removed, or -1
 * (also for a NULL id). */
int room_member_find(const struct room *r, const char *member_id)
{
    if (!r || !member_id)
        return -1;
    for (size_t i = 0; i < r->nmembers; i++)
        if (!r->members[i].removed && strcmp(r->members[i].id, member_id) == 0)
            return (int)i;
    return -1;
}

/* Adds delta to member's count of open connections, never below 0. An
 * index out of range is ignored. */
void room_member_set_online(struct room *r, int member, int delta)
{
    struct room_member *m;
    bool was_online;

    if (!r || member < 0 || (size_t)member >= r->nmembers)
        return;
    m = &r->members[member];
    was_online = m->online > 0;
    m->online = delta < 0 && m->online < -delta ? 0 : m->online + delta;
    if (was_online != (m->online > 0))
        r->version++; /* a snapshot shows online, not the count */
}

/* Returns member's role now: the facilitator; an observer (also a removed
 * member or an index out of range); the client of the current consultation
 * in any step of it but opening and closed; else a consultant. */
enum role room_member_role(const struct room *r, int member)
{
    if (!r || member < 0 || (size_t)member >= r->nmembers || r->members[member].removed)
        return ROLE_OBSERVER;
    if (member == r->facilitator)
        return ROLE_FACILITATOR;
    if (r->members[member].observer)
        return ROLE_OBSERVER;
    if (member == room_client_current(r) && r->step != STEP_OPENING &&
        r->step != STEP_CLOSED)
        return ROLE_CLIENT;
    return ROLE_CONSULTANT;
}

/* Adds an earlier plan item (see room.h). Returns its index,
 * CODEV_E_UNKNOWN_MEMBER when client_id is no member, CODEV_E_BAD_FIELD for a
 * NULL, empty or over-long action_id or a NULL text, or CODEV_E_INTERNAL. An
 * empty due is stored as NULL. */
int room_debrief_add(struct room *r, const char *action_id, const char *client_id,
                     const char *text, const char *due)
{
    struct room_debrief *d;
    char *text_copy = NULL, *due_copy = NULL;
    int client, err;

    if (!r || !action_id || !text || !*action_id || strlen(action_id) > ROOM_ID_LEN)
        return CODEV_E_BAD_FIELD;
    client = room_member_find(r, client_id);
    if (client < 0)
        return CODEV_E_UNKNOWN_MEMBER;

    err = CODEV_E_INTERNAL;
    text_copy = strdup(text);
    if (due && *due)
        due_copy = strdup(due);
    if (!text_copy || (due && *due && !due_copy) ||
        array_grow((void **)&r->debriefs, &r->debriefs_cap, r->ndebriefs + 1,
                   sizeof(*r->debriefs)))
        goto out;
    d = &r->debriefs[r->ndebriefs];
    memset(d, 0, sizeof(*d));
    memcpy(d->id, action_id, strlen(action_id) + 1);
    d->client = client;
    d->text = text_copy;
    d->due = due_copy;
    d->outcome = -1;
    /* Counted, never refused: the plan was within the earlier room's budget. */
    r->bytes += ROOM_CARD_OVERHEAD + room_json_len(text) + room_json_len(due);
    text_copy = due_copy = NULL;
    err = (int)r->ndebriefs++;
    r->version++;
out:
    free(text_copy);
    free(due_copy);
    return err;
}

/* Returns the current consultation (borrowed), or NULL in opening before
 * the first. */
const struct room_consultation *room_consultation_current(const struct room *r)
{
    return r && r->nconsultations ? &r->consultations[r->nconsultations - 1] : NULL;
}

/* Empties the outbox; its memory is kept for the next commands. */
void room_outbox_clear(struct room *r)
{
    if (r)
        r->nout = 0;
}

/* ---- visibility and queries ------------------------------------------- */

/* May member see ev? By the event's audience (all; one member; the client
 * of consultation ev->index and the current facilitator), and for events
 * about a card, only when the member may see the card. ROOM_PUBLIC (a
 * display) sees the events for all, but not those of a card it may not see. */
bool room_event_visible(const struct room *r, const struct room_event *ev, int member)
{
    const struct room_card *card;
    bool audience;

    if (!r || !ev)
        return false;
    if (member == ROOM_PUBLIC) /* a display: what is for all, never a note */
        audience = ev->audience == AUD_ALL;
    else if (member < 0 || (size_t)member >= r->nmembers)
        return false;
    else if (ev->audience == AUD_MEMBER)
        audience = member == ev->member;
    else if (ev->audience == AUD_FACILITATOR)
        audience = member == r->facilitator;
    else if (ev->audience == AUD_CLIENT_FACILITATOR)
        audience = member == r->facilitator ||
                   (ev->index >= 0 && (size_t)ev->index < r->nconsultations &&
                    member == r->consultations[ev->index].client);
    else
        audience = true;
    if (!audience)
        return false;
    card = ev->card ? room_card_get(r, ev->card) : NULL;
    return !card || room_card_visible(r, card, member);
}

/* May member see card c? A private note only its author; every other card
 * everyone. */
bool room_card_visible(const struct room *r, const struct room_card *c, int member)
{
    if (!c)
        return false;
    return c->type != CARD_NOTE || c->author == member;
}

/* May member see c's advice verdict? A question's, its author and the
 * current facilitator only. */
bool room_card_advice_visible(const struct room *r, const struct room_card *c, int member)
{
    if (!r || !c || c->type != CARD_QUESTION || member < 0 ||
        (size_t)member >= r->nmembers)
        return false;
    return member == c->author || member == r->facilitator;
}

/* Returns the card with this id (borrowed), or NULL. */
const struct room_card *room_card_get(const struct room *r, uint32_t id)
{
    if (!r || id == 0 || id > r->ncards)
        return NULL;
    return &r->cards[id - 1];
}

/* Writes up to cap member indexes to out, in the order their hands went up,
 * and returns how many it wrote. O(members^2), members <= 64. */
size_t room_hands(const struct room *r, int *out, size_t cap)
{
    uint64_t last = 0;
    size_t n = 0;

    if (!r || !out)
        return 0;
    while (n < cap) {
        int next = -1;

        for (size_t i = 0; i < r->nmembers; i++) {
            uint64_t h = r->members[i].hand;

            if (h > last && (next < 0 || h < r->members[next].hand))
                next = (int)i;
        }
        if (next < 0)
            break;
        out[n++] = next;
        last = r->members[next].hand;
    }
    return n;
}

/* Counts the code points of valid UTF-8: every byte that is not a
 * continuation byte (10xxxxxx) starts one. NULL counts 0. */
size_t room_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* ---- names ---------------------------------------------------------- */

/* One name per line, as the enum reads. */
/* clang-format off */
static const char *const card_type_names[CARD_TYPE_COUNT] = {
    [CARD_CHECKIN] = "checkin",
    [CARD_TOPIC] = "topic",
    [CARD_QUESTION] = "question",
    [CARD_REFORMULATION] = "reformulation",
    [CARD_CONTRIBUTION] = "contribution",
    [CARD_ACTION] = "action",
    [CARD_LEARNING] = "learning",
    [CARD_NOTE] = "note",
};
/* clang-format on */

static const char *const kind_names[KIND_COUNT] = {
    [KIND_SUGGESTION] = "suggestion",
    [KIND_EXPERIENCE] = "experience",
    [KIND_FEELING] = "feeling",
};

static const char *const dimension_names[DIM_COUNT] = {
    [DIM_PROCESS] = "process",
    [DIM_CONTENT] = "content",
};

static const char *const outcome_names[OUTCOME_COUNT] = {
    [OUTCOME_DONE] = "done",
    [OUTCOME_PARTLY] = "partly",
    [OUTCOME_NOT_DONE] = "not_done",
    [OUTCOME_DROPPED] = "dropped",
};

static const char *const event_names[] = {
#define ROOM_EVENT_WIRE(suffix, wire) [EV_##suffix] = wire,
    ROOM_EVENT_MAP(ROOM_EVENT_WIRE)
#undef ROOM_EVENT_WIRE
};
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == EV_TYPE_COUNT,
               "every event has a wire name");

/* The wire names of proto/README.md section 2.3: ROOM_CMD_MAP's. */
static const char *const cmd_names[] = {
#define ROOM_CMD_WIRE(suffix, wire, action, required, optional) [CMD_##suffix] = wire,
    ROOM_CMD_MAP(ROOM_CMD_WIRE)
#undef ROOM_CMD_WIRE
};
_Static_assert(sizeof(cmd_names) / sizeof(cmd_names[0]) == CMD_TYPE_COUNT,
               "every command has a wire name");

/* Returns names[i] for 0 <= i < count, else NULL. */
static const char *room_name_at(const char *const *names, int count, int i)
{
    return i >= 0 && i < count ? names[i] : NULL;
}

/* Returns the index of name in names (count entries), or -1. */
static int room_name_find(const char *const *names, int count, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *room_card_type_name(enum room_card_type t)
{
    return room_name_at(card_type_names, CARD_TYPE_COUNT, (int)t);
}

const char *room_kind_name(int kind)
{
    return room_name_at(kind_names, KIND_COUNT, kind);
}

const char *room_dimension_name(int dim)
{
    return room_name_at(dimension_names, DIM_COUNT, dim);
}

const char *room_outcome_name(int outcome)
{
    return room_name_at(outcome_names, OUTCOME_COUNT, outcome);
}

const char *room_event_name(enum room_event_type t)
{
    return room_name_at(event_names, EV_TYPE_COUNT, (int)t);
}

const char *room_cmd_name(enum room_cmd_type t)
{
    return room_name_at(cmd_names, CMD_TYPE_COUNT, (int)t);
}

int room_kind_from_name(const char *name)
{
    return room_name_find(kind_names, KIND_COUNT, name);
}

int room_dimension_from_name(const char *name)
{
    return room_name_find(dimension_names, DIM_COUNT, name);
}

int room_outcome_from_name(const char *name)
{
    return room_name_find(outcome_names, OUTCOME_COUNT, name);
}

int room_cmd_from_name(const char *name)
{
    return room_name_find(cmd_names, CMD_TYPE_COUNT, name);
}
