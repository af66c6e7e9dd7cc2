/*
 * protocol.c - decoding client messages and encoding server messages
 * (see protocol.h and proto/README.md).
 *
 * Invariants:
 *   - The only place that knows a message's JSON shape (STYLE.md 1): the
 *     core hands it structs, the edges hand it bytes and get bytes back.
 *   - Decoding is bounded before any parsing (the message size, then the
 *     nesting depth), and a refusal names the field (struct proto_error).
 *   - What a member may see is never decided here: the room's visibility
 *     functions say which view to encode (proto_room_view_of).
 * Expected load: one decode per client message and one encoding per event
 * (shared by every recipient), per welcome view (cached by the edge) and
 * per tick of a running clock.
 *
 * Why one file of about 1,300 lines: every message of proto/README.md is
 * here, the room snapshot and its parts (cards, consultations, the floor,
 * the balance) most of all, and the hand-written encoder of the hottest
 * events (proto_event_dump, issue 15), which must stay byte-for-byte what
 * the jansson path beside it writes; splitting it by message would scatter
 * the wire names that the schemas and proto tests check against one file.
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "errors.h"
#include "json_flat.h"

/* The fields a command may carry are enum room_cmd_field (room.h); the
 * table below gives each its JSON name and type, and ROOM_CMD_MAP says
 * which each command requires and which it accepts. Decoding is one loop
 * over both. */

enum proto_ftype {
    FT_STRING,
    FT_CARD,
    FT_INT,
    FT_BOOL,
    FT_KIND,
    FT_DIMENSION,
    FT_OUTCOME,
    FT_MODE
};

/* clang-format off */
static const struct {
    enum room_cmd_field flag;
    const char *name;
    enum proto_ftype type;
} field_specs[] = {
    {FLD_TEXT, "text", FT_STRING},        {FLD_DUE, "due", FT_STRING},
    {FLD_MEMBER, "member_id", FT_STRING}, {FLD_DEBRIEF, "debrief_id", FT_STRING},
    {FLD_CARD, "card_id", FT_CARD},       {FLD_SECONDS, "seconds", FT_INT},
    {FLD_KIND, "kind", FT_KIND},          {FLD_DIMENSION, "dimension", FT_DIMENSION},
    {FLD_OUTCOME, "outcome", FT_OUTCOME}, {FLD_FLAGGED, "flagged", FT_BOOL},
    {FLD_MARKED, "marked", FT_BOOL},      {FLD_OBSERVER, "observer", FT_BOOL},
    {FLD_FORCE, "force", FT_BOOL},        {FLD_MODE, "mode", FT_MODE},
    {FLD_FIRST_STEP, "first_step", FT_STRING},
};
/* clang-format on */

static const struct {
    unsigned required;
    unsigned optional;
} cmd_fields[] = {
#define PROTO_CMD_FIELDS(suffix, wire, action, required, optional)                       \
    [CMD_##suffix] = {required, optional},
    ROOM_CMD_MAP(PROTO_CMD_FIELDS)
#undef PROTO_CMD_FIELDS
};
_Static_assert(sizeof(cmd_fields) / sizeof(cmd_fields[0]) == CMD_TYPE_COUNT,
               "every command has a decoder entry");

static int proto_fail(struct proto_error *err, int code, const char *field,
                      const char *text)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    snprintf(err->text, sizeof(err->text), "%s", text ? text : "");
    return code;
}

/* Depth of the deepest array/object, counted without parsing, so that a
 * hostile "[[[[…" is refused before jansson recurses into it (see
 * protocol.h). Brackets inside strings (escapes included) do not count. */
bool proto_json_depth_ok(const char *buf, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false, escaped = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

static int proto_get_field(json_t *root, unsigned flag, bool required,
                           struct proto_msg *msg, struct proto_error *err)
{
    const char *name = NULL;
    enum proto_ftype type = FT_STRING;
    json_t *v;
    int x;

    for (size_t i = 0; i < sizeof(field_specs) / sizeof(field_specs[0]); i++)
        if (field_specs[i].flag == flag) {
            name = field_specs[i].name;
            type = field_specs[i].type;
        }
    v = json_object_get(root, name);
    if (!v || json_is_null(v)) {
        if (required)
            return proto_fail(err, CODEV_E_MISSING_FIELD, name, NULL);
        return 0;
    }
    switch (type) {
    case FT_STRING:
        if (!json_is_string(v))
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "must be a string");
        if (flag == FLD_TEXT)
            msg->cmd.text = json_string_value(v);
        else if (flag == FLD_DUE)
            msg->cmd.due = json_string_length(v) ? json_string_value(v) : NULL;
        else if (flag == FLD_FIRST_STEP)
            msg->cmd.first_step = json_string_length(v) ? json_string_value(v) : NULL;
        else if (flag == FLD_MEMBER)
            msg->cmd.target = json_string_value(v);
        else
            msg->cmd.ref = json_string_value(v);
        return 0;
    case FT_CARD:
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > UINT32_MAX)
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "must be a card id");
        msg->cmd.card = (uint32_t)json_integer_value(v);
        return 0;
    case FT_INT:
        if (!json_is_integer(v))
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "must be an integer");
        msg->cmd.seconds = json_integer_value(v);
        return 0;
    case FT_BOOL:
        if (!json_is_boolean(v))
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "must be true or false");
        msg->cmd.flag = json_is_true(v);
        return 0;
    case FT_KIND:
    case FT_DIMENSION:
    case FT_OUTCOME:
    case FT_MODE:
        if (!json_is_string(v))
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "must be a string");
        x = type == FT_KIND        ? room_kind_from_name(json_string_value(v))
            : type == FT_DIMENSION ? room_dimension_from_name(json_string_value(v))
            : type == FT_MODE      ? room_round_mode_from_name(json_string_value(v))
                                   : room_outcome_from_name(json_string_value(v));
        if (x < 0)
            return proto_fail(err, CODEV_E_BAD_FIELD, name, "unknown value");
        msg->cmd.variant = x;
        return 0;
    }
    return 0;
}

static int proto_decode_hello(json_t *root, struct proto_msg *msg,
                              struct proto_error *err)
{
    json_t *g = json_object_get(root, "group_id");
    json_t *k = json_object_get(root, "member_key");
    json_t *d = json_object_get(root, "display_token");
    json_t *s = json_object_get(root, "last_seq");

    if (!g)
        return proto_fail(err, CODEV_E_MISSING_FIELD, "group_id", NULL);
    if (!json_is_string(g))
        return proto_fail(err, CODEV_E_BAD_FIELD, "group_id", "must be a string");
    if (d && k)
        return proto_fail(err, CODEV_E_BAD_FIELD, "display_token",
                          "a display has no member_key");
    if (d && !json_is_string(d))
        return proto_fail(err, CODEV_E_BAD_FIELD, "display_token", "must be a string");
    if (!k && !d)
        return proto_fail(err, CODEV_E_MISSING_FIELD, "member_key", NULL);
    if (k && !json_is_string(k))
        return proto_fail(err, CODEV_E_BAD_FIELD, "member_key", "must be a string");
    msg->last_seq = -1;
    if (s && !json_is_null(s)) {
        if (!json_is_integer(s) || json_integer_value(s) < 0)
            return proto_fail(err, CODEV_E_BAD_FIELD, "last_seq",
                              "must be a non-negative integer");
        msg->last_seq = json_integer_value(s);
    }
    /* An id that cannot be one is a bad field, not an unknown group. */
    if (!auth_uuid_wellformed(json_string_value(g)))
        return proto_fail(err, CODEV_E_BAD_FIELD, "group_id", "must be a UUID");
    msg->kind = PROTO_HELLO;
    msg->group_id = json_string_value(g);
    msg->member_key = k ? json_string_value(k) : NULL;
    msg->display_token = d ? json_string_value(d) : NULL;
    return 0;
}

int proto_decode(const char *buf, size_t len, const struct proto_limits *lim,
                 struct proto_msg *msg, struct proto_error *err)
{
    json_error_t jerr;
    json_t *root = NULL, *type, *id;
    const char *tname;
    bool id_ok;
    int rc, t;

    memset(msg, 0, sizeof(*msg));
    memset(err, 0, sizeof(*err));
    if (len > lim->max_bytes)
        return proto_fail(err, CODEV_E_TOO_LARGE, NULL, NULL);
    /* The usual flat command without jansson's loader (depth 1: no need to
     * count brackets first); anything else, errors included, is jansson's
     * (json_flat.h), after the depth check. */
    root = lim->max_depth >= 1 ? json_flat_load(buf, len) : NULL;
    if (!root) {
        if (!proto_json_depth_ok(buf, len, lim->max_depth))
            return proto_fail(err, CODEV_E_TOO_DEEP, NULL, NULL);
        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    }
    if (!root)
        return proto_fail(err, CODEV_E_BAD_JSON, NULL, jerr.text);
    if (!json_is_object(root)) {
        rc = proto_fail(err, CODEV_E_BAD_MESSAGE, NULL, "expected a JSON object");
        goto fail;
    }
    id = json_object_get(root, "id");
    id_ok = json_is_string(id) && json_string_length(id) >= 1 &&
            json_string_length(id) <= ROOM_CMD_ID_MAX &&
            room_utf8_chars(json_string_value(id)) <= ROOM_CMD_ID_MAX_CHARS;
    if (id_ok) /* echoed in the error, so the client can match it */
        snprintf(err->id, sizeof(err->id), "%s", json_string_value(id));
    type = json_object_get(root, "type");
    if (!json_is_string(type)) {
        rc = proto_fail(err, CODEV_E_BAD_MESSAGE, "type", "missing or not a string");
        goto fail;
    }
    tname = json_string_value(type);
    if (strcmp(tname, "hello") == 0) {
        rc = proto_decode_hello(root, msg, err);
        if (rc)
            goto fail;
        msg->root = root;
        return 0;
    }
    t = room_cmd_from_name(tname);
    if (t < 0 && strcmp(tname, "session_open") != 0 &&
        strcmp(tname, "facilitator_accept") != 0) {
        rc = proto_fail(err, CODEV_E_UNKNOWN_TYPE, "type", NULL);
        goto fail;
    }
    if (!id) {
        rc = proto_fail(err, CODEV_E_MISSING_FIELD, "id", NULL);
        goto fail;
    }
    if (!id_ok) {
        rc = proto_fail(err, CODEV_E_BAD_FIELD, "id",
                        "must be a string of 1 to 64 characters");
        goto fail;
    }
    msg->id = json_string_value(id);
    if (t < 0) {
        msg->kind = strcmp(tname, "session_open") == 0 ? PROTO_SESSION_OPEN
                                                       : PROTO_FACILITATOR_ACCEPT;
        msg->root = root;
        return 0;
    }
    msg->kind = PROTO_COMMAND;
    msg->cmd.type = (enum room_cmd_type)t;
    memcpy(msg->cmd.id, msg->id, json_string_length(id) + 1);
    for (size_t i = 0; i < sizeof(field_specs) / sizeof(field_specs[0]); i++) {
        unsigned f = field_specs[i].flag;
        if (!((cmd_fields[t].required | cmd_fields[t].optional) & f))
            continue;
        rc = proto_get_field(root, f, (cmd_fields[t].required & f) != 0, msg, err);
        if (rc)
            goto fail;
    }
    /* Every field is there: an id that cannot be one is a bad field, not
     * an unknown member or plan item. */
    if (msg->cmd.target && !auth_uuid_wellformed(msg->cmd.target)) {
        rc = proto_fail(err, CODEV_E_BAD_FIELD, "member_id", "must be a UUID");
        goto fail;
    }
    if (msg->cmd.ref && !auth_uuid_wellformed(msg->cmd.ref)) {
        rc = proto_fail(err, CODEV_E_BAD_FIELD, "debrief_id", "must be a UUID");
        goto fail;
    }
    msg->root = root;
    return 0;
fail:
    json_decref(root);
    memset(msg, 0, sizeof(*msg));
    return rc;
}

void proto_msg_release(struct proto_msg *msg)
{
    json_decref(msg->root);
    msg->root = NULL;
}

json_t *proto_error_code_json(const char *id, int code)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "type", "error", "code",
                          codev_err_name(code), "message", codev_err_message(code));

    if (j && id && *id)
        json_object_set_new(j, "id", json_string(id));
    return j;
}

json_t *proto_error_json(const struct proto_error *err)
{
    json_t *j = proto_error_code_json(err->id, err->code);
    char message[320];

    if (!j || (!err->field[0] && !err->text[0]))
        return j;
    snprintf(message, sizeof(message), "%s (%s%s%s)", codev_err_message(err->code),
             err->field, err->field[0] && err->text[0] ? ": " : "", err->text);
    json_object_set_new(j, "message", json_string(message));
    return j;
}

json_t *proto_ack_json(const char *id, uint64_t seq, bool duplicate)
{
    json_t *j =
        json_pack("{s:s, s:s, s:I}", "type", "ack", "id", id, "seq", (json_int_t)seq);

    if (j && duplicate)
        json_object_set_new(j, "duplicate", json_true());
    return j;
}

json_t *proto_json_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *member_id_or_null(const struct room *r, int idx)
{
    return idx >= 0 && (size_t)idx < r->nmembers ? json_string(r->members[idx].id)
                                                 : json_null();
}

static json_t *proto_clock_json(const struct room *r, int64_t now_ms)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:b, s:I}", "step", step_name(r->step),
                     "budget_ms", (json_int_t)r->clock.budget_ms, "used_ms",
                     (json_int_t)clock_used(&r->clock, now_ms), "remaining_ms",
                     (json_int_t)clock_remaining(&r->clock, now_ms), "running",
                     r->clock.running, "server_ms", (json_int_t)now_ms);
}

static json_t *proto_member_json(const struct room *r, int idx)
{
    const struct room_member *m = &r->members[idx];

    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s}", "id", m->id, "name", m->name,
                     "role", role_name(room_member_role(r, idx)), "observer", m->observer,
                     "online", m->online > 0, "form", room_form_name(m->form));
}

/* The advice verdict's cues: [] or [{"cue", "lang"}]. */
static json_t *proto_cues_json(const char *cue, const char *lang)
{
    json_t *a = json_array();

    if (a && cue)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "cue", cue, "lang", lang ? lang : ""));
    return a;
}

/* viewer: the member the card is encoded for, or -1 for a shared encoding
 * (then the client's private "marked" flag reads false). advice: add a
 * question's advice verdict (the caller checked room_card_advice_visible). */
static json_t *proto_card_json(const struct room *r, const struct room_card *c,
                               int viewer, bool advice)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:o, s:s, s:I, s:s}", "id", (json_int_t)c->id, "type",
        room_card_type_name(c->type), "author", r->members[c->author].id, "consultation",
        c->consultation >= 0 ? json_integer(c->consultation) : json_null(), "step",
        step_name(c->step), "at_ms", (json_int_t)c->created_ms, "text", c->text);

    if (!j)
        return NULL;
    /* Present only when true: a card its author corrected, or withdrew
     * (then its text is "" and its answer or due date null). */
    if (c->edits)
        json_object_set_new(j, "edited", json_true());
    if (c->withdrawn)
        json_object_set_new(j, "withdrawn", json_true());
    switch (c->type) {
    case CARD_CONTRIBUTION:
        /* Always there (a new card is unmarked, the same for everyone);
         * true only for the client of that consultation, who alone sees
         * its marks. */
        json_object_set_new(j, "kind", json_string(room_kind_name(c->variant)));
        json_object_set_new(
            j, "marked",
            json_boolean(viewer >= 0 && c->consultation >= 0 &&
                         r->consultations[c->consultation].client == viewer &&
                         c->marked));
        break;
    case CARD_QUESTION:
        json_object_set_new(j, "answer", proto_json_string_or_null(c->answer));
        json_object_set_new(j, "flagged", json_boolean(c->flagged));
        if (advice) {
            json_object_set_new(j, "advice_like", json_boolean(c->advice_like));
            json_object_set_new(j, "advice_cues",
                                proto_cues_json(c->advice_cue, c->advice_lang));
        }
        break;
    case CARD_NOTE:
        if (c->parked)
            json_object_set_new(j, "parked", json_true());
        break;
    case CARD_ACTION:
        json_object_set_new(j, "due", proto_json_string_or_null(c->due));
        json_object_set_new(j, "first_step", proto_json_string_or_null(c->first_step));
        break;
    case CARD_LEARNING:
        json_object_set_new(j, "dimension", json_string(room_dimension_name(c->variant)));
        break;
    default:
        break;
    }
    return j;
}

static json_t *proto_consultation_json(const struct room *r, int index, int viewer)
{
    const struct room_consultation *k = &r->consultations[index];
    json_t *acks = json_array(), *used = json_object(), *j;

    for (size_t i = 0; i < r->nmembers; i++)
        if (k->acks & (1ULL << i))
            json_array_append_new(acks, json_string(r->members[i].id));
    for (int s = STEP_TOPIC; s <= STEP_LEARNING; s++)
        if (k->step_used_ms[s] > 0)
            json_object_set_new(used, step_name(s), json_integer(k->step_used_ms[s]));
    j = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "index", index, "client",
                  member_id_or_null(r, k->client), "problem",
                  proto_json_string_or_null(k->problem), "contract",
                  proto_json_string_or_null(k->contract), "acks", acks, "step_used_ms",
                  used);
    if (j)
        json_object_set_new(j, "retained", proto_json_string_or_null(k->retained));
    if (j && viewer >= 0 && (viewer == k->client || viewer == r->facilitator)) {
        json_object_set_new(j, "recadrages", json_integer(k->recadrages));
        json_object_set_new(j, "recadrages_seen", json_integer(k->recadrages_seen));
    }
    return j;
}

static json_t *proto_debrief_json(const struct room *r, int index)
{
    const struct room_debrief *d = &r->debriefs[index];

    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", d->id, "client",
                     member_id_or_null(r, d->client), "text", d->text, "due",
                     proto_json_string_or_null(d->due), "first_step",
                     proto_json_string_or_null(d->first_step), "outcome",
                     d->outcome >= 0 ? json_string(room_outcome_name(d->outcome))
                                     : json_null(),
                     "comment", proto_json_string_or_null(d->comment));
}

static json_t *proto_hands_json(const struct room *r)
{
    int hands[ROOM_MEMBERS_HARD_MAX];
    size_t n = room_hands(r, hands, ROOM_MEMBERS_HARD_MAX);
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(r->members[hands[i]].id));
    return a;
}

/* {"member_id", "since_ms"} of whoever has the floor, or null. */
static json_t *proto_floor_json(const struct room *r)
{
    if (r->floor_member < 0)
        return json_null();
    return json_pack("{s:o, s:I}", "member_id", member_id_or_null(r, r->floor_member),
                     "since_ms", (json_int_t)r->floor_since_ms);
}

/* The round of the current step (running, or over and kept until the step
 * changes), or null. */
static json_t *proto_round_json(const struct room *r)
{
    const struct room_round *rd = &r->round;
    json_t *order = json_array();

    if (rd->n == 0) {
        json_decref(order);
        return json_null();
    }
    for (unsigned i = 0; order && i < rd->n; i++)
        json_array_append_new(order,
                              json_pack("{s:o, s:s}", "member_id",
                                        member_id_or_null(r, rd->order[i]), "status",
                                        room_turn_status_name(rd->status[i])));
    return json_pack("{s:b, s:s, s:s, s:o, s:I, s:i, s:o}", "active", rd->active, "step",
                     step_name(rd->step), "mode", room_round_mode_name(rd->mode),
                     "turn_ms", rd->turn_ms ? json_integer(rd->turn_ms) : json_null(),
                     "started_ms", (json_int_t)rd->started_ms, "position", (int)rd->pos,
                     "order", order);
}

/* {"ms", "turns", "passes"} */
static json_t *proto_tally_json(const struct room_floor_tally *t)
{
    return json_pack("{s:I, s:I, s:I}", "ms", (json_int_t)t->ms, "turns",
                     (json_int_t)t->turns, "passes", (json_int_t)t->passes);
}

/* One member's balance: the session's totals and each step where they
 * held the floor (the floor they hold now is not in it: add the time
 * since floor.since_ms). */
static json_t *proto_balance_entry_json(const struct room *r, int m)
{
    struct room_floor_tally total = {0};
    json_t *steps = json_object();

    for (int k = 0; steps && k < STEP_COUNT; k++) {
        const struct room_floor_tally *t = &r->members[m].floor[k];
        if (!t->ms && !t->turns && !t->passes)
            continue;
        total.ms += t->ms;
        total.turns += t->turns;
        total.passes += t->passes;
        json_object_set_new(steps, step_name(k), proto_tally_json(t));
    }
    return json_pack("{s:s, s:I, s:I, s:I, s:o}", "member_id", r->members[m].id, "ms",
                     (json_int_t)total.ms, "turns", (json_int_t)total.turns, "passes",
                     (json_int_t)total.passes, "steps", steps);
}

/* The balance of every member who has held the floor this session. */
static json_t *proto_balance_json(const struct room *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->nmembers; i++) {
        bool any = false;
        for (int k = 0; k < STEP_COUNT; k++)
            any |= r->members[i].floor[k].ms || r->members[i].floor[k].turns ||
                   r->members[i].floor[k].passes;
        if (any)
            json_array_append_new(a, proto_balance_entry_json(r, (int)i));
    }
    return a;
}

/* The snapshot as member sees it; with the clock only when with_clock (the
 * clock changes with time, not with the room's version). */
static json_t *proto_room_build(const struct room *r, int member, int64_t now_ms,
                                bool with_clock)
{
    json_t *members = json_array(), *budgets = json_object(),
           *consultations = json_array();
    json_t *cards = json_array(), *debriefs = json_array(), *j;
    int current = r->nconsultations ? (int)r->nconsultations - 1 : -1;

    for (size_t i = 0; i < r->nmembers; i++)
        if (!r->members[i].removed)
            json_array_append_new(members, proto_member_json(r, (int)i));
    for (int s = STEP_OPENING; s < STEP_CLOSED; s++)
        json_object_set_new(budgets, step_name(s), json_integer(r->budget_ms[s]));
    for (size_t i = 0; i < r->nconsultations; i++)
        json_array_append_new(consultations, proto_consultation_json(r, (int)i, member));
    for (size_t i = 0; i < r->ncards; i++)
        if (!r->cards[i].removed && room_card_visible(r, &r->cards[i], member))
            json_array_append_new(cards, proto_card_json(r, &r->cards[i], member,
                                                         room_card_advice_visible(
                                                             r, &r->cards[i], member)));
    for (size_t i = 0; i < r->ndebriefs; i++)
        json_array_append_new(debriefs, proto_debrief_json(r, (int)i));
    j = json_pack("{s:s, s:I, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                  "session_id", r->session_id, "seq", (json_int_t)r->seq, "step",
                  step_name(r->step), "created_ms", (json_int_t)r->created_ms,
                  "facilitator", member_id_or_null(r, r->facilitator), "members", members,
                  "budgets", budgets, "consultation",
                  current >= 0 ? json_integer(current) : json_null(), "consultations",
                  consultations, "cards", cards, "hands", proto_hands_json(r), "debriefs",
                  debriefs);
    if (j) {
        json_object_set_new(j, "cofacilitator", member_id_or_null(r, r->cofacilitator));
        json_object_set_new(j, "facilitator_away",
                            member_id_or_null(r, r->facilitator_away));
        json_object_set_new(j, "floor", proto_floor_json(r));
        json_object_set_new(j, "round", proto_round_json(r));
    }
    if (j && member >= 0 && member == r->facilitator)
        json_object_set_new(j, "balance", proto_balance_json(r));
    if (j && with_clock)
        json_object_set_new(j, "clock", proto_clock_json(r, now_ms));
    return j;
}

json_t *proto_room_json(const struct room *r, int member, int64_t now_ms)
{
    return proto_room_build(r, member, now_ms, true);
}

json_t *proto_room_view_json(const struct room *r, int viewer)
{
    return proto_room_build(r, viewer, 0, false);
}

json_t *proto_room_clock_json(const struct room *r, int64_t now_ms)
{
    return proto_clock_json(r, now_ms);
}

int proto_room_view_of(const struct room *r, int member)
{
    if (member < 0 || (size_t)member >= r->nmembers || member == r->facilitator)
        return member < 0 ? -1 : member;
    for (size_t i = 0; i < r->nconsultations; i++)
        if (r->consultations[i].client == member)
            return member;
    for (size_t i = 0; i < r->ncards; i++)
        if ((r->cards[i].type == CARD_NOTE || r->cards[i].type == CARD_QUESTION) &&
            r->cards[i].author == member)
            return member;
    return -1;
}

/* The group's session template: {step: minutes} from the opening to the
 * learning (hub_settings.c). */
static json_t *proto_template_json(const struct hub_group *g)
{
    json_t *o = json_object();

    for (int st = 0; o && st < STEP_COUNT; st++)
        if (st != STEP_CLOSED)
            json_object_set_new(o, step_name((enum step)st),
                                json_integer(g->step_min[st]));
    return o;
}

/* The group's ground rules, or null for the default list. */
static json_t *proto_rules_of(const struct hub_group *g)
{
    json_t *a;

    if (!g->rules_set)
        return json_null();
    a = json_array();
    for (size_t i = 0; a && i < g->nrules; i++)
        json_array_append_new(a, json_string(g->rules[i]));
    return a;
}

static json_t *proto_group_info_json(const struct hub_group *g)
{
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:o, s:i, s:o}", "id", g->id, "name",
        g->name, "language", g->language, "format", g->format, "retention",
        hub_retention_name(g->retention), "warn_before_s", g->warn_before_s, "display",
        g->display_set, "budgets", proto_template_json(g), "consultations",
        hub_format_consultations(g->format), "ground_rules", proto_rules_of(g));
}

static const char *proto_group_role(const struct hub_group *g, const struct hub_member *m)
{
    const struct room *r = hub_room_of(g, m->id);

    if (r)
        return role_name(room_member_role(r, room_member_find(r, m->id)));
    if (strcmp(g->facilitator, m->id) == 0)
        return role_name(ROLE_FACILITATOR);
    return role_name(m->observer ? ROLE_OBSERVER : ROLE_CONSULTANT);
}

/* A member object of g's member m as the group sees it (no room of theirs). */
static json_t *proto_group_member_json(const struct hub_group *g,
                                       const struct hub_member *m, bool online)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s}", "id", m->id, "name", m->name,
                     "role", proto_group_role(g, m), "observer", m->observer, "online",
                     online, "form", room_form_name(m->form));
}

json_t *proto_member_joined_json(const struct hub_group *g, const struct hub_member *m)
{
    int idx = g->room ? room_member_find(g->room, m->id) : -1;
    json_t *member =
        idx >= 0 ? proto_member_json(g->room, idx) : proto_group_member_json(g, m, false);

    return json_pack("{s:s, s:o}", "type", "member_joined", "member", member);
}

json_t *proto_member_updated_json(const struct hub_group *g, const struct hub_member *m)
{
    int idx = g->room ? room_member_find(g->room, m->id) : -1;
    json_t *member = idx >= 0 ? proto_member_json(g->room, idx)
                              : proto_group_member_json(g, m, m->online > 0);

    return json_pack("{s:s, s:o}", "type", "member_updated", "member", member);
}

json_t *proto_rules_json(void)
{
    json_t *rules = json_object();

    for (int role = 0; rules && role < ROLE_COUNT; role++) {
        json_t *cmds = json_object();

        for (int t = 0; cmds && t < CMD_TYPE_COUNT; t++) {
            enum rules_action a = room_cmd_rules_action((enum room_cmd_type)t);
            json_t *steps = json_array();

            for (int st = 0; steps && st < STEP_COUNT; st++)
                if (rules_check(a, (enum role)role, (enum step)st) == 0)
                    json_array_append_new(steps, json_string(step_name(st)));
            if (steps && json_array_size(steps) > 0)
                json_object_set_new(cmds, room_cmd_name((enum room_cmd_type)t), steps);
            else
                json_decref(steps);
        }
        json_object_set_new(rules, role_name((enum role)role), cmds);
    }
    return rules;
}

static json_t *proto_steps_json(void)
{
    json_t *a = json_array();

    for (int st = 0; a && st < STEP_COUNT; st++)
        json_array_append_new(a, json_string(step_name(st)));
    return a;
}

/* The limits the page shows and checks before sending (the server checks
 * them again). */
static json_t *proto_limits_json(const struct hub *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "text_max_chars",
                     (json_int_t)h->room_limits.text_max_chars, "long_text_max_chars",
                     (json_int_t)h->room_limits.long_text_max_chars, "name_max_chars",
                     (json_int_t)h->name_max_chars, "cards_per_step",
                     (json_int_t)h->room_limits.cards_per_step, "due_max_chars",
                     (json_int_t)ROOM_DUE_MAX_CHARS, "first_step_max_chars",
                     (json_int_t)ROOM_FIRST_STEP_MAX_CHARS);
}

/* The welcome with room (stolen) as its last member. */
static json_t *proto_welcome_with(const struct hub *h, const struct hub_group *g,
                                  const struct hub_member *m, int64_t now_ms,
                                  json_t *room)
{
    return json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o, s:o}",
                     "type", "welcome", "protocol", PROTO_NAME, "server_ms",
                     (json_int_t)now_ms, "you", "member_id", m->id, "name", m->name,
                     "role", proto_group_role(g, m), "form", room_form_name(m->form),
                     "group", proto_group_info_json(g), "steps", proto_steps_json(),
                     "limits", proto_limits_json(h), "rules", proto_rules_json(), "room",
                     room);
}

json_t *proto_welcome_json(const struct hub *h, const struct hub_group *g,
                           const struct hub_member *m, int64_t now_ms)
{
    const struct room *r = hub_room_of(g, m->id); /* a closed room: its members only */
    json_t *room = json_null();

    if (r)
        room = proto_room_json(r, room_member_find(r, m->id), now_ms);
    return proto_welcome_with(h, g, m, now_ms, room);
}

json_t *proto_welcome_head_json(const struct hub *h, const struct hub_group *g,
                                const struct hub_member *m, int64_t now_ms)
{
    return proto_welcome_with(h, g, m, now_ms,
                              hub_room_of(g, m->id) ? json_string(PROTO_SPLICE_MARK)
                                                    : json_null());
}

/* The wire name of an enum room_handover_reason ("manual" out of range). */
static const char *proto_handover_reason(int reason)
{
    static const char *const names[HANDOVER_REASON_COUNT] = {
        [HANDOVER_MANUAL] = "manual",
        [HANDOVER_AUTO] = "auto",
        [HANDOVER_OFFER] = "offer",
        [HANDOVER_RECLAIM] = "reclaim",
    };

    return reason >= 0 && reason < HANDOVER_REASON_COUNT ? names[reason] : "manual";
}

/* One event; advice: with the advice verdict of its question card. */
static json_t *proto_event_build(const struct room *r, const struct room_event *ev,
                                 int64_t now_ms, bool advice)
{
    json_t *j = json_pack("{s:s, s:I, s:I}", "type", room_event_name(ev->type), "seq",
                          (json_int_t)ev->seq, "at_ms", (json_int_t)ev->at_ms);
    int current = r->nconsultations ? (int)r->nconsultations - 1 : -1;
    const struct room_card *c = ev->card ? room_card_get(r, ev->card) : NULL;
    json_t *cons = current >= 0 ? json_integer(current) : json_null();

    if (!j) {
        json_decref(cons);
        return NULL;
    }
    switch (ev->type) {
    case EV_STEP:
        json_object_set_new(j, "step", json_string(step_name(r->step)));
        json_object_set(j, "consultation", cons);
        json_object_set_new(j, "clock", proto_clock_json(r, now_ms));
        break;
    case EV_CLOCK:
        json_object_set_new(j, "clock", proto_clock_json(r, now_ms));
        break;
    case EV_CONSULTATION:
        json_object_set_new(j, "consultation", proto_consultation_json(r, ev->index, -1));
        break;
    case EV_CLIENT:
        json_object_set_new(j, "consultation", json_integer(ev->index));
        json_object_set_new(j, "member_id", member_id_or_null(r, ev->member));
        break;
    case EV_FACILITATOR:
        json_object_set_new(j, "member_id", member_id_or_null(r, ev->member));
        json_object_set_new(j, "reason", json_string(proto_handover_reason(ev->index)));
        json_object_set_new(j, "facilitator_away",
                            member_id_or_null(r, r->facilitator_away));
        break;
    case EV_MEMBER_REMOVED:
    case EV_COFACILITATOR:
        json_object_set_new(j, "member_id", member_id_or_null(r, ev->member));
        break;
    case EV_ROLE:
        json_object_set_new(j, "member", proto_member_json(r, ev->member));
        break;
    case EV_CARD_ADDED:
    case EV_CARD_UPDATED:
        if (c)
            json_object_set_new(j, "card", proto_card_json(r, c, -1, advice));
        break;
    case EV_CARD_REMOVED:
        json_object_set_new(j, "card_id", json_integer(ev->card));
        break;
    case EV_RETAINED:
        json_object_set_new(j, "consultation", json_integer(ev->index));
        json_object_set_new(
            j, "text", proto_json_string_or_null(r->consultations[ev->index].retained));
        break;
    case EV_PROBLEM:
    case EV_CONTRACT: {
        const struct room_consultation *k = &r->consultations[current];
        json_object_set(j, "consultation", cons);
        json_object_set_new(
            j, "text",
            proto_json_string_or_null(ev->type == EV_PROBLEM ? k->problem : k->contract));
        break;
    }
    case EV_CONTRACT_ACK:
        json_object_set(j, "consultation", cons);
        json_object_set_new(j, "member_id", member_id_or_null(r, ev->member));
        break;
    case EV_MARK:
        json_object_set_new(j, "card_id", json_integer(ev->card));
        json_object_set_new(j, "marked", json_boolean(c && c->marked));
        break;
    case EV_RECADRAGE:
        json_object_set_new(j, "consultation", json_integer(ev->index));
        json_object_set_new(j, "count",
                            json_integer(r->consultations[ev->index].recadrages));
        break;
    case EV_RECADRAGE_ACK:
        json_object_set_new(j, "consultation", json_integer(ev->index));
        json_object_set_new(j, "count",
                            json_integer(r->consultations[ev->index].recadrages_seen));
        break;
    case EV_HANDS:
        json_object_set_new(j, "hands", proto_hands_json(r));
        break;
    case EV_DEBRIEF:
        json_object_set_new(j, "debrief", proto_debrief_json(r, ev->index));
        break;
    case EV_FLOOR:
        json_object_set_new(j, "floor", proto_floor_json(r));
        json_object_set_new(j, "round", proto_round_json(r));
        break;
    case EV_BALANCE:
        json_object_set_new(j, "balance", proto_balance_entry_json(r, ev->member));
        break;
    case EV_CLOSED:
    case EV_TYPE_COUNT:
        break;
    }
    json_decref(cons);
    return j;
}

json_t *proto_event_json(const struct room *r, const struct room_event *ev,
                         int64_t now_ms)
{
    return proto_event_build(r, ev, now_ms, false);
}

json_t *proto_event_advice_json(const struct room *r, const struct room_event *ev,
                                int64_t now_ms)
{
    const struct room_card *c = ev->card ? room_card_get(r, ev->card) : NULL;

    if (!c || c->type != CARD_QUESTION ||
        (ev->type != EV_CARD_ADDED && ev->type != EV_CARD_UPDATED))
        return NULL;
    return proto_event_build(r, ev, now_ms, true);
}

json_t *proto_check_ack_json(const char *id, const struct advice_result *res)
{
    return json_pack("{s:s, s:s, s:b, s:o}", "type", "ack", "id", id, "advice_like",
                     res->advice_like, "cues", proto_cues_json(res->cue, res->lang));
}

/* The floor as of now_ms for a tick: who, since when, for how long, and
 * with a turn budget the remaining turn time (negative once over). */
static json_t *proto_floor_now_json(const struct room *r, int64_t now_ms)
{
    json_t *j;

    if (r->floor_member < 0)
        return json_null();
    j = json_pack("{s:o, s:I, s:I}", "member_id", member_id_or_null(r, r->floor_member),
                  "since_ms", (json_int_t)r->floor_since_ms, "elapsed_ms",
                  (json_int_t)(now_ms - r->floor_since_ms));
    if (j && r->round.active && r->round.turn_ms > 0) {
        json_object_set_new(j, "turn_ms", json_integer(r->round.turn_ms));
        json_object_set_new(
            j, "remaining_ms",
            json_integer(r->round.turn_ms - (now_ms - r->floor_since_ms)));
    }
    return j;
}

json_t *proto_tick_json(const struct room *r, int64_t now_ms)
{
    return json_pack("{s:s, s:I, s:o, s:o}", "type", "tick", "server_ms",
                     (json_int_t)now_ms, "clock", proto_clock_json(r, now_ms), "floor",
                     proto_floor_now_json(r, now_ms));
}

json_t *proto_display_welcome_json(const struct hub_group *g, int64_t now_ms)
{
    const struct room *r = g->room && g->room->step != STEP_CLOSED ? g->room : NULL;

    return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "type", "display_welcome",
                     "protocol", PROTO_NAME, "server_ms", (json_int_t)now_ms, "group",
                     proto_group_info_json(g), "steps", proto_steps_json(), "room",
                     r ? proto_room_json(r, ROOM_PUBLIC, now_ms) : json_null());
}

json_t *proto_facilitator_offer_json(const char *facilitator_id, bool open)
{
    return json_pack("{s:s, s:s, s:b}", "type", "facilitator_offer", "facilitator",
                     facilitator_id, "open", open);
}

json_t *proto_presence_json(const char *member_id, bool online)
{
    return json_pack("{s:s, s:s, s:b}", "type", "presence", "member_id", member_id,
                     "online", online);
}

json_t *proto_session_opened_json(const struct room *r, int member, int64_t now_ms)
{
    return json_pack("{s:s, s:o}", "type", "session_opened", "room",
                     proto_room_json(r, member, now_ms));
}

json_t *proto_group_member_removed_json(const char *member_id)
{
    return json_pack("{s:s, s:s}", "type", "group_member_removed", "member_id",
                     member_id);
}

json_t *proto_group_updated_json(const struct hub_group *g)
{
    return json_pack("{s:s, s:o}", "type", "group_updated", "group",
                     proto_group_info_json(g));
}

json_t *proto_group_json(const struct hub_group *g)
{
    json_t *members = json_array(), *session = json_null();

    for (size_t i = 0; i < g->nmembers; i++) {
        const struct hub_member *m = &g->members[i];
        if (m->removed)
            continue;
        json_array_append_new(members, proto_group_member_json(g, m, m->online > 0));
    }
    if (g->room)
        session = json_pack("{s:s, s:s}", "session_id", g->room->session_id, "step",
                            step_name(g->room->step));
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:o, s:o}", "group_id", g->id,
                     "name", g->name, "language", g->language, "format", g->format,
                     "retention", hub_retention_name(g->retention), "warn_before_s",
                     g->warn_before_s, "facilitator", g->facilitator, "members", members,
                     "session", session);
}

/* {"id", "name"} of a member of g, or null for "" or an unknown id. */
static json_t *between_person(const struct hub_group *g, const char *id)
{
    const struct hub_member *m = id && id[0] ? hub_member_find(g, id) : NULL;

    if (!m)
        return json_null();
    return json_pack("{s:s, s:s}", "id", m->id, "name", m->name);
}

json_t *proto_proposal_json(const struct hub_group *g, const struct hub_proposal *p)
{
    bool chosen = p->chosen[0] && g->room && strcmp(p->chosen, g->room->session_id) == 0;

    return json_pack("{s:s, s:o, s:s, s:o, s:I, s:I, s:b}", "id", p->id, "author",
                     between_person(g, p->author), "title", p->title, "text",
                     proto_json_string_or_null(p->text), "created_ms",
                     (json_int_t)p->created_ms, "updated_ms", (json_int_t)p->updated_ms,
                     "chosen", chosen);
}

json_t *proto_between_json(const struct hub_group *g, const char *member_id)
{
    json_t *rota = json_array(), *proposals = json_array(), *debriefs = json_array();
    json_t *next = json_null(), *draft = json_null();
    const struct hub_next *n = &g->next_session;
    const struct hub_draft *d = hub_draft_find(g, member_id);

    for (size_t i = 0; rota && i < g->nrota; i++)
        json_array_append_new(
            rota, json_pack("{s:o, s:o}", "client", between_person(g, g->rota[i].client),
                            "facilitator", between_person(g, g->rota[i].facilitator)));
    for (size_t i = 0; proposals && i < g->nproposals; i++)
        json_array_append_new(proposals, proto_proposal_json(g, &g->proposals[i]));
    for (size_t i = 0; debriefs && i < g->nplans; i++) {
        const struct hub_plan *p = &g->plans[i];
        if (!hub_plan_waiting(p) || strcmp(p->client, member_id) != 0)
            continue;
        json_array_append_new(
            debriefs,
            json_pack(
                "{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "plan_id", p->id, "text", p->text,
                "due", proto_json_string_or_null(p->due), "first_step",
                proto_json_string_or_null(p->first_step), "session_id",
                proto_json_string_or_null(p->session[0] ? p->session : NULL), "outcome",
                p->pre_debriefed
                    ? proto_json_string_or_null(room_outcome_name(p->pre_outcome))
                    : json_null(),
                "comment",
                proto_json_string_or_null(p->pre_debriefed ? p->pre_comment : NULL)));
    }
    if (n->set)
        next = json_pack("{s:s, s:s, s:i, s:o, s:I, s:s}", "date", n->date, "time",
                         n->time, "duration_min", n->duration_min, "link",
                         proto_json_string_or_null(n->link), "start_ms",
                         (json_int_t)n->start_ms, "time_zone",
                         g->time_zone[0] ? g->time_zone : "UTC");
    if (d)
        draft = json_pack("{s:s, s:I}", "text", d->text, "updated_ms",
                          (json_int_t)d->updated_ms);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "group_id", g->id,
                     "time_zone", g->time_zone[0] ? g->time_zone : "UTC", "rota", rota,
                     "next_session", next, "proposals", proposals, "draft", draft,
                     "debriefs", debriefs);
}

/* Growing output of proto_dump. */
struct dump_buf {
    unsigned char *p;
    size_t len, cap; /* len counts the headroom */
};

static int dump_append(const char *data, size_t n, void *arg)
{
    struct dump_buf *d = arg;

    if (d->len + n + 1 > d->cap) {
        size_t ncap = d->cap * 2;
        unsigned char *np;
        while (ncap < d->len + n + 1)
            ncap *= 2;
        np = realloc(d->p, ncap);
        if (!np)
            return -1;
        d->p = np;
        d->cap = ncap;
    }
    memcpy(d->p + d->len, data, n);
    d->len += n;
    return 0;
}

/* One pass (json_dumpb would need two: one to size, one to write). */
unsigned char *proto_dump(const json_t *j, size_t headroom, size_t *len)
{
    struct dump_buf d = {.len = headroom, .cap = headroom + 256};

    d.p = malloc(d.cap);
    if (!d.p)
        return NULL;
    if (json_dump_callback(j, dump_append, &d, JSON_COMPACT) || d.len == headroom) {
        free(d.p);
        return NULL;
    }
    d.p[d.len] = '\0';
    *len = d.len - headroom;
    return d.p;
}

/* ---- direct encoding of the hot events ----------------------------------- */

/* Growing output of the direct encoder: a pbuf that failed to grow stays
 * failed (ok false) and every later append is a no-op. */
struct pbuf {
    unsigned char *p;
    size_t len, cap; /* len counts the headroom */
    bool ok;
};

static void pb_raw(struct pbuf *b, const char *s, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap * 2;
        unsigned char *np;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        np = realloc(b->p, ncap);
        if (!np) {
            b->ok = false;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

#define PB_LIT(b, lit) pb_raw((b), (lit), sizeof(lit) - 1)

static void pb_int(struct pbuf *b, long long v)
{
    char t[24];
    char *e = t + sizeof(t), *q = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    pb_raw(b, q, (size_t)(e - q));
}

/* A JSON string as jansson's compact dump writes it (no JSON_ENSURE_ASCII,
 * no JSON_ESCAPE_SLASH): '"' and '\\' escaped, the controls as \b \f \n \r
 * \t or \u00XX (upper-case hex), everything else as is. s is valid UTF-8
 * (the room only holds validated text). */
static void pb_str(struct pbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *run = p;

    PB_LIT(b, "\"");
    for (; *p; p++) {
        char esc[7];
        size_t n = 2;

        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        pb_raw(b, (const char *)run, (size_t)(p - run));
        run = p + 1;
        esc[0] = '\\';
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            n = 6;
            break;
        }
        pb_raw(b, esc, n);
    }
    pb_raw(b, (const char *)run, (size_t)(p - run));
    PB_LIT(b, "\"");
}

unsigned char *proto_event_dump(const struct room *r, const struct room_event *ev,
                                size_t headroom, size_t *len)
{
    const struct room_card *c = ev->card ? room_card_get(r, ev->card) : NULL;
    struct pbuf b = {.len = headroom, .cap = headroom + 256, .ok = true};

    /* The hot events only: a contribution card added or updated (what a
     * consultation is made of). Anything else goes through jansson. */
    if ((ev->type != EV_CARD_ADDED && ev->type != EV_CARD_UPDATED) || !c ||
        c->type != CARD_CONTRIBUTION || !c->text || c->author < 0 ||
        (size_t)c->author >= r->nmembers || !room_kind_name(c->variant) ||
        !step_name(c->step))
        return NULL;
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    /* The keys in proto_event_build's and proto_card_json's order. */
    PB_LIT(&b, "{\"type\":");
    pb_str(&b, room_event_name(ev->type));
    PB_LIT(&b, ",\"seq\":");
    pb_int(&b, (long long)ev->seq);
    PB_LIT(&b, ",\"at_ms\":");
    pb_int(&b, (long long)ev->at_ms);
    PB_LIT(&b, ",\"card\":{\"id\":");
    pb_int(&b, (long long)c->id);
    PB_LIT(&b, ",\"type\":");
    pb_str(&b, room_card_type_name(c->type));
    PB_LIT(&b, ",\"author\":");
    pb_str(&b, r->members[c->author].id);
    PB_LIT(&b, ",\"consultation\":");
    if (c->consultation >= 0)
        pb_int(&b, c->consultation);
    else
        PB_LIT(&b, "null");
    PB_LIT(&b, ",\"step\":");
    pb_str(&b, step_name(c->step));
    PB_LIT(&b, ",\"at_ms\":");
    pb_int(&b, (long long)c->created_ms);
    PB_LIT(&b, ",\"text\":");
    pb_str(&b, c->text);
    if (c->edits)
        PB_LIT(&b, ",\"edited\":true");
    if (c->withdrawn)
        PB_LIT(&b, ",\"withdrawn\":true");
    PB_LIT(&b, ",\"kind\":");
    pb_str(&b, room_kind_name(c->variant));
    /* An event goes to everyone (viewer -1): "marked" is false in it. */
    PB_LIT(&b, ",\"marked\":false}}");
    if (!b.ok) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    *len = b.len - headroom;
    return b.p;
}

unsigned char *proto_tick_dump(const struct room *r, int64_t now_ms, size_t headroom,
                               size_t *len)
{
    struct pbuf b = {.len = headroom, .cap = headroom + 256, .ok = true};
    const char *step = step_name(r->step);

    if (!step)
        return NULL;
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    /* The keys in proto_tick_json's, proto_clock_json's and
     * proto_floor_now_json's order. */
    PB_LIT(&b, "{\"type\":\"tick\",\"server_ms\":");
    pb_int(&b, (long long)now_ms);
    PB_LIT(&b, ",\"clock\":{\"step\":");
    pb_str(&b, step);
    PB_LIT(&b, ",\"budget_ms\":");
    pb_int(&b, (long long)r->clock.budget_ms);
    PB_LIT(&b, ",\"used_ms\":");
    pb_int(&b, (long long)clock_used(&r->clock, now_ms));
    PB_LIT(&b, ",\"remaining_ms\":");
    pb_int(&b, (long long)clock_remaining(&r->clock, now_ms));
    if (r->clock.running)
        PB_LIT(&b, ",\"running\":true");
    else
        PB_LIT(&b, ",\"running\":false");
    PB_LIT(&b, ",\"server_ms\":");
    pb_int(&b, (long long)now_ms);
    PB_LIT(&b, "},\"floor\":");
    if (r->floor_member < 0) {
        PB_LIT(&b, "null}");
    } else {
        PB_LIT(&b, "{\"member_id\":");
        if ((size_t)r->floor_member < r->nmembers)
            pb_str(&b, r->members[r->floor_member].id);
        else
            PB_LIT(&b, "null");
        PB_LIT(&b, ",\"since_ms\":");
        pb_int(&b, (long long)r->floor_since_ms);
        PB_LIT(&b, ",\"elapsed_ms\":");
        pb_int(&b, (long long)(now_ms - r->floor_since_ms));
        if (r->round.active && r->round.turn_ms > 0) {
            PB_LIT(&b, ",\"turn_ms\":");
            pb_int(&b, (long long)r->round.turn_ms);
            PB_LIT(&b, ",\"remaining_ms\":");
            pb_int(&b, (long long)(r->round.turn_ms - (now_ms - r->floor_since_ms)));
        }
        PB_LIT(&b, "}}");
    }
    if (!b.ok) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    *len = b.len - headroom;
    return b.p;
}

unsigned char *proto_ack_dump(const json_t *ack, size_t headroom, size_t *len)
{
    static const char *const keys[] = {"type", "id", "seq", "duplicate"};
    struct pbuf b = {.len = headroom, .cap = headroom + 128, .ok = true};
    const json_t *v[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;

    /* Only proto_ack_json's shape, its keys in its order; anything else
     * (a question_check's ack, say) goes through jansson. */
    for (void *it = json_object_iter((json_t *)ack); it;
         it = json_object_iter_next((json_t *)ack, it)) {
        if (n == 4 || strcmp(json_object_iter_key(it), keys[n]) != 0)
            return NULL;
        v[n++] = json_object_iter_value(it);
    }
    if (n < 3 || !json_is_string(v[0]) || strcmp(json_string_value(v[0]), "ack") != 0 ||
        !json_is_string(v[1]) ||
        strlen(json_string_value(v[1])) != json_string_length(v[1]) ||
        !json_is_integer(v[2]) || (n == 4 && !json_is_true(v[3])))
        return NULL;
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    PB_LIT(&b, "{\"type\":\"ack\",\"id\":");
    pb_str(&b, json_string_value(v[1]));
    PB_LIT(&b, ",\"seq\":");
    pb_int(&b, (long long)json_integer_value(v[2]));
    if (n == 4)
        PB_LIT(&b, ",\"duplicate\":true");
    PB_LIT(&b, "}");
    if (!b.ok) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    *len = b.len - headroom;
    return b.p;
}
