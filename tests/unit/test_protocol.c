/*
 * test_protocol.c - the client message decoder, case by case, and the
 * encoders' visibility filtering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "hub.h"
#include "json_flat.h"
#include "protocol.h"
#include "test_helpers.h"

static const struct proto_limits limits = {.max_bytes = 65536, .max_depth = 8};

struct bad_case {
    const char *name;
    const char *json;
    int code;
    const char *field; /* expected err.field, or NULL to skip */
    const char *id;    /* expected err.id, or NULL for "" */
};

static const struct bad_case bad_cases[] = {
    {"not json", "hello", CODEV_E_BAD_JSON, NULL, NULL},
    {"truncated", "{\"type\":\"hello\"", CODEV_E_BAD_JSON, NULL, NULL},
    {"empty", "", CODEV_E_BAD_JSON, NULL, NULL},
    {"array", "[{\"type\":\"hello\"}]", CODEV_E_BAD_MESSAGE, NULL, NULL},
    {"string", "\"hello\"", CODEV_E_BAD_MESSAGE, NULL, NULL},
    {"number", "42", CODEV_E_BAD_MESSAGE, NULL, NULL},
    {"no type", "{\"id\":\"a\"}", CODEV_E_BAD_MESSAGE, "type", "a"},
    {"type not string", "{\"type\":3,\"id\":\"a\"}", CODEV_E_BAD_MESSAGE, "type", "a"},
    {"unknown type", "{\"type\":\"vote\",\"id\":\"a\"}", CODEV_E_UNKNOWN_TYPE, "type",
     "a"},
    {"duplicate keys", "{\"type\":\"hand_raise\",\"id\":\"a\",\"id\":\"b\"}",
     CODEV_E_BAD_JSON, NULL, NULL},
    {"nul in string", "{\"type\":\"note_post\",\"id\":\"a\",\"text\":\"x\\u0000y\"}",
     CODEV_E_BAD_JSON, NULL, NULL},
    {"invalid utf8", "{\"type\":\"note_post\",\"id\":\"a\",\"text\":\"\xc3\x28\"}",
     CODEV_E_BAD_JSON, NULL, NULL},
    {"too deep", "{\"type\":\"note_post\",\"id\":\"a\",\"x\":[[[[[[[[[1]]]]]]]]]}",
     CODEV_E_TOO_DEEP, NULL, NULL},
    {"hello without group", "{\"type\":\"hello\",\"member_key\":\"k\"}",
     CODEV_E_MISSING_FIELD, "group_id", NULL},
    {"hello group not string", "{\"type\":\"hello\",\"group_id\":1,\"member_key\":\"k\"}",
     CODEV_E_BAD_FIELD, "group_id", NULL},
    {"hello with a group id that is not a UUID",
     "{\"type\":\"hello\",\"group_id\":\"g\",\"member_key\":\"k\"}", CODEV_E_BAD_FIELD,
     "group_id", NULL},
    {"member id that is not a UUID",
     "{\"type\":\"member_remove\",\"id\":\"a\",\"member_id\":\"' OR 1=1\"}",
     CODEV_E_BAD_FIELD, "member_id", "a"},
    {"debrief id that is not a UUID",
     "{\"type\":\"debrief_post\",\"id\":\"a\",\"debrief_id\":\"7\",\"outcome\":\"done\"}",
     CODEV_E_BAD_FIELD, "debrief_id", "a"},
    {"hello without key", "{\"type\":\"hello\",\"group_id\":\"g\"}",
     CODEV_E_MISSING_FIELD, "member_key", NULL},
    {"hello negative last_seq",
     "{\"type\":\"hello\",\"group_id\":\"g\",\"member_key\":\"k\",\"last_seq\":-1}",
     CODEV_E_BAD_FIELD, "last_seq", NULL},
    {"hello last_seq string",
     "{\"type\":\"hello\",\"group_id\":\"g\",\"member_key\":\"k\",\"last_seq\":\"3\"}",
     CODEV_E_BAD_FIELD, "last_seq", NULL},
    {"command without id", "{\"type\":\"hand_raise\"}", CODEV_E_MISSING_FIELD, "id",
     NULL},
    {"id not string", "{\"type\":\"hand_raise\",\"id\":5}", CODEV_E_BAD_FIELD, "id",
     NULL},
    {"id empty", "{\"type\":\"hand_raise\",\"id\":\"\"}", CODEV_E_BAD_FIELD, "id", NULL},
    {"id too long",
     "{\"type\":\"hand_raise\",\"id\":"
     "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
     CODEV_E_BAD_FIELD, "id", NULL},
    {"id of 65 two-byte characters",
     "{\"type\":\"hand_raise\",\"id\":"
     "\"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"}",
     CODEV_E_BAD_FIELD, "id", NULL},
    {"text missing", "{\"type\":\"note_post\",\"id\":\"a\"}", CODEV_E_MISSING_FIELD,
     "text", "a"},
    {"text null", "{\"type\":\"note_post\",\"id\":\"a\",\"text\":null}",
     CODEV_E_MISSING_FIELD, "text", "a"},
    {"text number", "{\"type\":\"note_post\",\"id\":\"a\",\"text\":12}",
     CODEV_E_BAD_FIELD, "text", "a"},
    {"kind unknown",
     "{\"type\":\"contribution_post\",\"id\":\"a\",\"kind\":\"vote\",\"text\":\"x\"}",
     CODEV_E_BAD_FIELD, "kind", "a"},
    {"kind missing", "{\"type\":\"contribution_post\",\"id\":\"a\",\"text\":\"x\"}",
     CODEV_E_MISSING_FIELD, "kind", "a"},
    {"dimension unknown",
     "{\"type\":\"learning_post\",\"id\":\"a\",\"dimension\":\"both\",\"text\":\"x\"}",
     CODEV_E_BAD_FIELD, "dimension", "a"},
    {"outcome unknown",
     "{\"type\":\"debrief_post\",\"id\":\"a\",\"debrief_id\":\"d\",\"outcome\":"
     "\"maybe\"}",
     CODEV_E_BAD_FIELD, "outcome", "a"},
    {"card_id zero", "{\"type\":\"mark_set\",\"id\":\"a\",\"card_id\":0,\"marked\":true}",
     CODEV_E_BAD_FIELD, "card_id", "a"},
    {"card_id huge",
     "{\"type\":\"mark_set\",\"id\":\"a\",\"card_id\":99999999999,\"marked\":true}",
     CODEV_E_BAD_FIELD, "card_id", "a"},
    {"card_id float",
     "{\"type\":\"mark_set\",\"id\":\"a\",\"card_id\":1.5,\"marked\":true}",
     CODEV_E_BAD_FIELD, "card_id", "a"},
    {"integer overflow", "{\"type\":\"timer_add\",\"id\":\"a\",\"seconds\":1e999}",
     CODEV_E_BAD_JSON, NULL, NULL},
    {"bigint",
     "{\"type\":\"timer_add\",\"id\":\"a\",\"seconds\":123456789012345678901234567890}",
     CODEV_E_BAD_JSON, NULL, NULL},
    {"seconds string", "{\"type\":\"timer_add\",\"id\":\"a\",\"seconds\":\"60\"}",
     CODEV_E_BAD_FIELD, "seconds", "a"},
    {"marked not bool", "{\"type\":\"mark_set\",\"id\":\"a\",\"card_id\":1,\"marked\":1}",
     CODEV_E_BAD_FIELD, "marked", "a"},
    {"member_id missing", "{\"type\":\"client_assign\",\"id\":\"a\"}",
     CODEV_E_MISSING_FIELD, "member_id", "a"},
    {"observer missing", "{\"type\":\"role_set\",\"id\":\"a\",\"member_id\":\"m\"}",
     CODEV_E_MISSING_FIELD, "observer", "a"},
    {"force not bool", "{\"type\":\"step_next\",\"id\":\"a\",\"force\":\"yes\"}",
     CODEV_E_BAD_FIELD, "force", "a"},
    {"due not string",
     "{\"type\":\"action_add\",\"id\":\"a\",\"text\":\"x\",\"due\":20260101}",
     CODEV_E_BAD_FIELD, "due", "a"},
    {"session_open without id", "{\"type\":\"session_open\"}", CODEV_E_MISSING_FIELD,
     "id", NULL},
};

static void every_bad_message_gets_its_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct proto_msg msg;
        struct proto_error err;
        int rc = proto_decode(c->json, strlen(c->json), &limits, &msg, &err);

        if (rc != c->code)
            fail_msg("case \"%s\": got %s, want %s", c->name, codev_err_name(rc),
                     codev_err_name(c->code));
        assert_int_equal(err.code, c->code);
        if (c->field && strcmp(err.field, c->field) != 0)
            fail_msg("case \"%s\": field \"%s\", want \"%s\"", c->name, err.field,
                     c->field);
        if (strcmp(err.id, c->id ? c->id : "") != 0)
            fail_msg("case \"%s\": id \"%s\", want \"%s\"", c->name, err.id,
                     c->id ? c->id : "");
        assert_null(msg.root);
    }
}

static void oversized_message_is_refused_before_parsing(void **state)
{
    struct proto_limits small = {.max_bytes = 16, .max_depth = 8};
    const char *j = "{\"type\":\"hand_raise\",\"id\":\"a\"}";
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    assert_int_equal(proto_decode(j, strlen(j), &small, &msg, &err), CODEV_E_TOO_LARGE);
}

static void brackets_inside_strings_do_not_count_as_depth(void **state)
{
    const char *j =
        "{\"type\":\"note_post\",\"id\":\"a\",\"text\":\"[[[[[[[[[[[[[[[[\\\"[[[[\"}";
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    assert_int_equal(proto_decode(j, strlen(j), &limits, &msg, &err), 0);
    assert_string_equal(msg.cmd.text, "[[[[[[[[[[[[[[[[\"[[[[");
    proto_msg_release(&msg);
}

static void hello_decodes_its_fields(void **state)
{
    const char *j = "{\"type\":\"hello\",\"group_id\":\"11111111-2222-4333-8444-"
                    "555555555555\",\"member_key\":\"k1\","
                    "\"last_seq\":41}";
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    assert_int_equal(proto_decode(j, strlen(j), &limits, &msg, &err), 0);
    assert_int_equal(msg.kind, PROTO_HELLO);
    assert_string_equal(msg.group_id, "11111111-2222-4333-8444-555555555555");
    assert_string_equal(msg.member_key, "k1");
    assert_int_equal(msg.last_seq, 41);
    proto_msg_release(&msg);
}

static void commands_decode_into_room_commands(void **state)
{
    struct {
        const char *json;
        enum room_cmd_type type;
    } cases[] = {
        {"{\"type\":\"contribution_post\",\"id\":\"c1\",\"kind\":\"feeling\",\"text\":"
         "\"Je ressens\"}",
         CMD_CONTRIBUTION_POST},
        {"{\"type\":\"mark_set\",\"id\":\"c2\",\"card_id\":7,\"marked\":true}",
         CMD_MARK_SET},
        {"{\"type\":\"timer_add\",\"id\":\"c3\",\"seconds\":-60}", CMD_TIMER_ADD},
        {"{\"type\":\"debrief_post\",\"id\":\"c4\",\"debrief_id\":\"66666666-7777-4888-"
         "8999-aaaaaaaaaaaa\","
         "\"outcome\":\"partly\"}",
         CMD_DEBRIEF_POST},
        {"{\"type\":\"action_add\",\"id\":\"c5\",\"text\":\"Appeler\",\"due\":\"\"}",
         CMD_ACTION_ADD},
        {"{\"type\":\"hand_lower\",\"id\":\"c6\",\"extra\":true}", CMD_HAND_LOWER},
        {"{\"type\":\"card_edit\",\"id\":\"c7\",\"card_id\":9,\"text\":\"Corrigé\"}",
         CMD_CARD_EDIT},
        {"{\"type\":\"card_withdraw\",\"id\":\"c8\",\"card_id\":9}", CMD_CARD_WITHDRAW},
    };
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            proto_decode(cases[i].json, strlen(cases[i].json), &limits, &msg, &err), 0);
        assert_int_equal(msg.kind, PROTO_COMMAND);
        assert_int_equal(msg.cmd.type, cases[i].type);
        switch (cases[i].type) {
        case CMD_CONTRIBUTION_POST:
            assert_int_equal(msg.cmd.variant, KIND_FEELING);
            assert_string_equal(msg.cmd.text, "Je ressens");
            assert_string_equal(msg.cmd.id, "c1");
            break;
        case CMD_MARK_SET:
            assert_int_equal(msg.cmd.card, 7);
            assert_true(msg.cmd.flag);
            break;
        case CMD_TIMER_ADD:
            assert_int_equal(msg.cmd.seconds, -60);
            break;
        case CMD_DEBRIEF_POST:
            assert_int_equal(msg.cmd.variant, OUTCOME_PARTLY);
            assert_string_equal(msg.cmd.ref, "66666666-7777-4888-8999-aaaaaaaaaaaa");
            assert_null(msg.cmd.text);
            break;
        case CMD_ACTION_ADD:
            assert_null(msg.cmd.due); /* an empty "by when" is none */
            break;
        case CMD_CARD_EDIT:
            assert_int_equal(msg.cmd.card, 9);
            assert_string_equal(msg.cmd.text, "Corrigé");
            break;
        case CMD_CARD_WITHDRAW:
            assert_int_equal(msg.cmd.card, 9);
            assert_null(msg.cmd.text);
            break;
        default:
            break;
        }
        proto_msg_release(&msg);
    }
}

/* Every command of ROOM_CMD_MAP has a decoder entry that can succeed: sent
 * bare, it decodes or names the first missing field; supplying that field
 * (from a value table that knows every field of proto/README.md 2.3) and
 * sending again converges on a decoded command of the same type. */
static void every_command_decodes_once_its_fields_are_there(void **state)
{
    static const struct {
        const char *name;
        const char *json; /* the field as it appears inside the object */
    } values[] = {
        {"text", "\"text\":\"t\""},
        {"due", "\"due\":\"demain\""},
        {"member_id", "\"member_id\":\"66666666-7777-4888-8999-aaaaaaaaaaaa\""},
        {"debrief_id", "\"debrief_id\":\"66666666-7777-4888-8999-aaaaaaaaaaab\""},
        {"card_id", "\"card_id\":1"},
        {"seconds", "\"seconds\":60"},
        {"kind", "\"kind\":\"suggestion\""},
        {"dimension", "\"dimension\":\"process\""},
        {"outcome", "\"outcome\":\"done\""},
        {"flagged", "\"flagged\":true"},
        {"marked", "\"marked\":true"},
        {"observer", "\"observer\":true"},
        {"force", "\"force\":true"},
    };
    const size_t nvalues = sizeof(values) / sizeof(values[0]);
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    for (int t = 0; t < CMD_TYPE_COUNT; t++) {
        char fields[1024] = "";
        char json[1200];
        size_t added = 0;
        int rc;

        for (;;) {
            snprintf(json, sizeof(json), "{\"type\":\"%s\",\"id\":\"c\"%s}",
                     room_cmd_name((enum room_cmd_type)t), fields);
            rc = proto_decode(json, strlen(json), &limits, &msg, &err);
            if (rc != CODEV_E_MISSING_FIELD)
                break;
            size_t v = 0;
            while (v < nvalues && strcmp(values[v].name, err.field) != 0)
                v++;
            if (v == nvalues || ++added > nvalues)
                fail_msg("%s: cannot supply field \"%s\"",
                         room_cmd_name((enum room_cmd_type)t), err.field);
            strcat(fields, ",");
            strcat(fields, values[v].json);
        }
        if (rc != 0)
            fail_msg("%s: %s (%s)", json, codev_err_name(rc), err.text);
        assert_int_equal(msg.kind, PROTO_COMMAND);
        assert_int_equal(msg.cmd.type, t);
        proto_msg_release(&msg);
    }
}

static void session_open_is_its_own_kind(void **state)
{
    const char *j = "{\"type\":\"session_open\",\"id\":\"o1\"}";
    struct proto_msg msg;
    struct proto_error err;

    (void)state;
    assert_int_equal(proto_decode(j, strlen(j), &limits, &msg, &err), 0);
    assert_int_equal(msg.kind, PROTO_SESSION_OPEN);
    assert_string_equal(msg.id, "o1");
    proto_msg_release(&msg);
}

static void error_json_carries_code_id_and_detail(void **state)
{
    struct proto_error err = {.code = CODEV_E_MISSING_FIELD, .id = "x9", .field = "text"};
    json_t *j = proto_error_json(&err);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "missing_field");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "x9");
    assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "text"));
    json_decref(j);
    j = proto_error_code_json(NULL, CODEV_E_CLIENT_MUTED);
    assert_null(json_object_get(j, "id"));
    assert_string_equal(json_string_value(json_object_get(j, "code")), "client_muted");
    json_decref(j);
}

static void error_names_round_trip(void **state)
{
    (void)state;
    for (int e = CODEV_ERR_BASE_ + 1; e < CODEV_ERR_END_; e++)
        assert_int_equal(codev_err_from_name(codev_err_name(e)), e);
    assert_string_equal(codev_err_name(12345), "internal");
    assert_int_equal(codev_err_from_name("no_such_code"), 0);
}

/* Serialises j compactly into a new NUL-terminated string (caller frees). */
static char *dump(json_t *j)
{
    size_t len;
    unsigned char *b = proto_dump(j, 0, &len);

    json_decref(j);
    assert_non_null(b);
    return (char *)b;
}

/* The edge splices a welcome from the member's head, a shared room view
 * and the clock (dispatch.c conn_send_welcome): the result must be the whole
 * welcome, for the facilitator, a member with a private note
 * and the members who see the public view. */
static void a_spliced_welcome_is_the_whole_welcome(void **state)
{
    static const char mark[] = "\"\\u0001room\\u0001\"}";
    struct config cfg = test_config();
    struct hub *h;
    struct hub_group *g;
    char ids[4][AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    const char *names[] = {"Ben", "Cy", "Dee"};
    struct room_cmd note = {.type = CMD_NOTE_POST, .id = "n1", .text = "privé"};
    struct room_cmd in = {.type = CMD_CHECKIN_POST, .id = "c1", .text = "\"Bonjour\"\n"};
    uint64_t seq;
    int idx;

    (void)state;
    h = hub_new(&cfg);
    assert_non_null(h);
    assert_int_equal(
        hub_group_create(h, "", "G [1]", "Léa", "fr", 90, &g, ids[0], key, inv), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hub_member_join(h, g, inv, names[i], ids[i + 1], key, &idx), 0);
    assert_int_equal(hub_session_open(h, g, 1000), 0);
    assert_int_equal(
        room_apply(g->room, room_member_find(g->room, ids[1]), &note, 2000, &seq, NULL),
        0);
    assert_int_equal(
        room_apply(g->room, room_member_find(g->room, ids[2]), &in, 3000, &seq, NULL), 0);
    assert_int_equal(proto_room_view_of(g->room, room_member_find(g->room, ids[0])),
                     room_member_find(g->room, ids[0]));
    assert_int_equal(proto_room_view_of(g->room, room_member_find(g->room, ids[1])),
                     room_member_find(g->room, ids[1]));
    assert_int_equal(proto_room_view_of(g->room, room_member_find(g->room, ids[3])), -1);
    for (int i = 0; i < 4; i++) {
        const struct hub_member *m = hub_member_find(g, ids[i]);
        int viewer = proto_room_view_of(g->room, room_member_find(g->room, ids[i]));
        json_t *whole = proto_welcome_json(h, g, m, 5000), *spliced;
        char *head = dump(proto_welcome_head_json(h, g, m, 5000));
        char *view = dump(proto_room_view_json(g->room, viewer));
        char *clock = dump(proto_room_clock_json(g->room, 5000));
        size_t hl = strlen(head), vl = strlen(view);
        char *all = malloc(hl + vl + strlen(clock) + 16);

        assert_true(hl > strlen(mark) && strcmp(head + hl - strlen(mark), mark) == 0);
        assert_int_equal(view[vl - 1], '}');
        sprintf(all, "%.*s%.*s,\"clock\":%s}}", (int)(hl - strlen(mark)), head,
                (int)(vl - 1), view, clock);
        spliced = json_loads(all, 0, NULL);
        assert_non_null(spliced);
        if (!json_equal(whole, spliced))
            fail_msg("member %d: the spliced welcome differs: %s", i, all);
        json_decref(whole);
        json_decref(spliced);
        free(head);
        free(view);
        free(clock);
        free(all);
    }
    hub_free(h);
}

/* Applies a command of type t from member with the given fields; asserts it
 * is accepted. */
static void apply_full(struct room *r, int member, enum room_cmd_type t, const char *text,
                       const char *target, uint32_t card, bool flag, int64_t now)
{
    static unsigned n;
    struct room_cmd c = {
        .type = t, .text = text, .target = target, .card = card, .flag = flag};
    uint64_t seq;
    int rc;

    snprintf(c.id, sizeof(c.id), "p%u", ++n);
    rc = room_apply(r, member, &c, now, &seq, NULL);
    if (rc)
        fail_msg("%s: %s", room_cmd_name(t), codev_err_name(rc));
}

/* Issue 12: a corrected card says "edited", a withdrawn one "withdrawn"
 * with an empty text and no answer; recadrage_ack carries the signals
 * seen, and the snapshot's recadrages_seen goes to the client and the
 * facilitator only. */
static void edited_withdrawn_cards_and_recadrage_ack_encode(void **state)
{
    const struct room_limits l = {.text_max_chars = 100,
                                  .long_text_max_chars = 100,
                                  .cards_per_step = 10,
                                  .members_max = 8};
    struct room *r = room_new("s", NULL, &l, 1000);
    json_t *snap, *cards, *card, *ev, *cons;
    uint32_t q;

    (void)state;
    assert_non_null(r);
    assert_int_equal(room_member_add(r, "f", "F", true, false), 0);
    assert_int_equal(room_member_add(r, "c", "C", false, false), 1);
    assert_int_equal(room_member_add(r, "k", "K", false, false), 2);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 0, CMD_CLIENT_ASSIGN, NULL, "c", 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 1, CMD_PROBLEM_SET, "P", NULL, 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 2, CMD_QUESTION_ASK, "Qui ?", NULL, 0, false, 3000);
    q = (uint32_t)r->ncards;
    apply_full(r, 1, CMD_QUESTION_ANSWER, "Moi.", NULL, q, false, 3000);
    apply_full(r, 2, CMD_CARD_EDIT, "Qui décide ?", NULL, q, false, 3000);
    apply_full(r, 2, CMD_QUESTION_ASK, "Quand ?", NULL, 0, false, 3000);
    apply_full(r, 2, CMD_CARD_WITHDRAW, NULL, NULL, q + 1, false, 3000);

    snap = proto_room_json(r, 2, 4000);
    cards = json_object_get(snap, "cards");
    assert_int_equal(json_array_size(cards), 2);
    card = json_array_get(cards, 0);
    assert_string_equal(json_string_value(json_object_get(card, "text")), "Qui décide ?");
    assert_true(json_is_true(json_object_get(card, "edited")));
    assert_null(json_object_get(card, "withdrawn"));
    assert_string_equal(json_string_value(json_object_get(card, "answer")), "Moi.");
    card = json_array_get(cards, 1);
    assert_int_equal(json_integer_value(json_object_get(card, "id")), q + 1);
    assert_string_equal(json_string_value(json_object_get(card, "text")), "");
    assert_true(json_is_true(json_object_get(card, "withdrawn")));
    assert_null(json_object_get(card, "edited"));
    assert_true(json_is_null(json_object_get(card, "answer")));
    json_decref(snap);

    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 5000);
    apply_full(r, 1, CMD_CONTRACT_SET, "Aidez-moi", NULL, 0, false, 5000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, true, 5000);
    apply_full(r, 1, CMD_RECADRAGE, NULL, NULL, 0, false, 6000);
    room_outbox_clear(r);
    apply_full(r, 0, CMD_RECADRAGE_ACK, NULL, NULL, 0, false, 7000);
    assert_int_equal(r->nout, 1);
    ev = proto_event_json(r, &r->out[0], 7000);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "recadrage_ack");
    assert_int_equal(json_integer_value(json_object_get(ev, "consultation")), 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 1);
    json_decref(ev);
    for (int m = 0; m < 3; m++) {
        snap = proto_room_json(r, m, 8000);
        cons = json_array_get(json_object_get(snap, "consultations"), 0);
        if (m == 2) {
            assert_null(json_object_get(cons, "recadrages_seen"));
        } else {
            assert_int_equal(json_integer_value(json_object_get(cons, "recadrages")), 1);
            assert_int_equal(json_integer_value(json_object_get(cons, "recadrages_seen")),
                             1);
        }
        json_decref(snap);
    }
    room_free(r);
}

/* Issue 15: a contribution's card_added and card_updated are written
 * without jansson (proto_event_dump); the bytes must be jansson's, for
 * every text a card may hold (quotes, backslash, every control, slash,
 * DEL, non-ASCII), edited or withdrawn, and any other event falls back. */
static void hot_events_are_written_as_jansson_writes_them(void **state)
{
    static const char *const texts[] = {"Idée simple",
                                        "quote \" and back\\slash / slash",
                                        "tab\tnl\ncr\r\b\f",
                                        "\x01\x02\x1f\x7f end",
                                        "«\u202fguillemets\u202f» ’ 😀",
                                        "",
                                        "x"};
    const struct room_limits l = {.text_max_chars = 100,
                                  .long_text_max_chars = 100,
                                  .cards_per_step = 100,
                                  .members_max = 8};
    struct room *r = room_new("s", NULL, &l, 1000);
    size_t n = 0;

    (void)state;
    assert_non_null(r);
    assert_int_equal(room_member_add(r, "f", "F", true, false), 0);
    assert_int_equal(room_member_add(r, "c", "C", false, false), 1);
    assert_int_equal(room_member_add(r, "k", "K \"q\"", false, false), 2);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 0, CMD_CLIENT_ASSIGN, NULL, "c", 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 1, CMD_PROBLEM_SET, "P", NULL, 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
    apply_full(r, 1, CMD_CONTRACT_SET, "C", NULL, 0, false, 2000);
    apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, true, 3000); /* consultation */
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]) * 3; t++) {
        const char *text = texts[t % (sizeof(texts) / sizeof(texts[0]))];
        struct room_cmd c = {
            .type = CMD_CONTRIBUTION_POST, .text = text, .variant = (int)(t % 3)};
        uint64_t seq;
        int rc;

        room_outbox_clear(r);
        snprintf(c.id, sizeof(c.id), "h%zu", t);
        rc = room_apply(r, 2, &c, 4000 + (int64_t)t, &seq, NULL);
        if (!text[0]) {
            assert_int_equal(rc, CODEV_E_TEXT_EMPTY); /* nothing to compare */
            continue;
        }
        assert_int_equal(rc, 0);
        if (t % 4 == 1)
            apply_full(r, 2, CMD_CARD_EDIT, "corrigé \"", NULL, (uint32_t)r->ncards,
                       false, 5000);
        if (t % 5 == 2)
            apply_full(r, 2, CMD_CARD_WITHDRAW, NULL, NULL, (uint32_t)r->ncards, false,
                       5000);
        for (size_t i = 0; i < r->nout; i++) {
            json_t *j = proto_event_json(r, &r->out[i], 6000);
            size_t la = 0, lb = 0;
            unsigned char *a = proto_dump(j, 7, &la),
                          *b = proto_event_dump(r, &r->out[i], 7, &lb);

            assert_non_null(a);
            if (r->out[i].type == EV_CARD_ADDED || r->out[i].type == EV_CARD_UPDATED) {
                assert_non_null(b);
                assert_int_equal(lb, la);
                assert_memory_equal(a + 7, b + 7, la + 1); /* with the NUL */
                n++;
            } else {
                assert_null(b);
            }
            free(a);
            free(b);
            json_decref(j);
        }
    }
    assert_true(n >= 25);
    room_free(r);
}

/* Applies a command of type t (text may be NULL, target may be NULL). */
static void apply_ok(struct room *r, int member, enum room_cmd_type t, const char *text,
                     const char *target, int64_t now)
{
    static unsigned n;
    struct room_cmd c = {.type = t, .text = text, .target = target};
    uint64_t seq;

    snprintf(c.id, sizeof(c.id), "p-%u", ++n);
    room_outbox_clear(r);
    assert_int_equal(room_apply(r, member, &c, now, &seq, NULL), 0);
}

/* The card named by the room's last event, encoded as member's snapshot
 * shows it. */
static json_t *snapshot_card(const struct room *r, int member, uint32_t id)
{
    json_t *room = proto_room_json(r, member, 9000), *cards, *c;
    size_t i;

    cards = json_object_get(room, "cards");
    json_array_foreach(cards, i, c)
    {
        if (json_integer_value(json_object_get(c, "id")) == id) {
            json_incref(c);
            json_decref(room);
            return c;
        }
    }
    json_decref(room);
    return NULL;
}

/* The advice verdict of a question: in the author's and the facilitator's
 * snapshots and in the second encoding of its events only; the check's ack
 * carries no seq; a parked note says so. */
static void advice_verdict_is_encoded_for_its_audience_only(void **state)
{
    static const int64_t budgets[STEP_COUNT] = {60000, 60000, 60000, 60000, 60000,
                                                60000, 60000, 60000, 0};
    const struct room_limits l = {.text_max_chars = 1000,
                                  .long_text_max_chars = 4000,
                                  .cards_per_step = 30,
                                  .members_max = 16};
    struct room *r = room_new("11111111-2222-3333-4444-555555555555", budgets, &l, 1000);
    enum { FA, ANA, BEN, CLE };
    const struct room_event *ev;
    struct advice_result res;
    json_t *j, *card;
    uint32_t q;

    (void)state;
    assert_non_null(r);
    assert_int_equal(room_member_add(r, "fac", "Fa", true, false), FA);
    assert_int_equal(room_member_add(r, "ana", "Ana", false, false), ANA);
    assert_int_equal(room_member_add(r, "ben", "Ben", false, false), BEN);
    assert_int_equal(room_member_add(r, "cle", "Clé", false, false), CLE);
    apply_ok(r, FA, CMD_STEP_NEXT, NULL, NULL, 2000);
    apply_ok(r, FA, CMD_CLIENT_ASSIGN, NULL, "ana", 2000);
    apply_ok(r, FA, CMD_STEP_NEXT, NULL, NULL, 2000);
    apply_ok(r, ANA, CMD_PROBLEM_SET, "P", NULL, 2000);
    apply_ok(r, FA, CMD_STEP_NEXT, NULL, NULL, 2000);
    assert_int_equal(proto_room_view_of(r, BEN), -1);
    apply_ok(r, BEN, CMD_QUESTION_ASK, "As-tu pensé à déléguer ?", NULL, 3000);
    ev = &r->out[r->nout - 1];
    q = ev->card;
    assert_int_equal(proto_room_view_of(r, BEN), BEN);
    assert_int_equal(proto_room_view_of(r, CLE), -1);

    j = proto_event_json(r, ev, 3000);
    assert_null(json_object_get(json_object_get(j, "card"), "advice_like"));
    assert_null(json_object_get(json_object_get(j, "card"), "advice_cues"));
    json_decref(j);
    j = proto_event_advice_json(r, ev, 3000);
    card = json_object_get(j, "card");
    assert_true(json_is_true(json_object_get(card, "advice_like")));
    assert_int_equal(json_array_size(json_object_get(card, "advice_cues")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(card, "advice_cues"), 0), "lang")),
        "fr");
    json_decref(j);

    for (int m = FA; m <= CLE; m++) {
        card = snapshot_card(r, m, q);
        assert_non_null(card);
        assert_int_equal(json_object_get(card, "advice_like") != NULL,
                         m == FA || m == BEN);
        assert_int_equal(json_object_get(card, "advice_cues") != NULL,
                         m == FA || m == BEN);
        json_decref(card);
    }
    /* The public view (shared by joiners) never carries it. */
    {
        char *view = dump(proto_room_view_json(r, -1));
        assert_null(strstr(view, "advice"));
        free(view);
    }

    apply_ok(r, CLE, CMD_QUESTION_ASK, "Depuis quand ?", NULL, 4000);
    j = proto_event_advice_json(r, &r->out[r->nout - 1], 4000);
    card = json_object_get(j, "card");
    assert_true(json_is_false(json_object_get(card, "advice_like")));
    assert_int_equal(json_array_size(json_object_get(card, "advice_cues")), 0);
    json_decref(j);

    /* Not a question's card event: one encoding for everyone. */
    apply_ok(r, BEN, CMD_QUESTION_PARK, "Pourquoi ne pas déléguer ?", NULL, 5000);
    ev = &r->out[r->nout - 1];
    assert_null(proto_event_advice_json(r, ev, 5000));
    j = proto_event_json(r, ev, 5000);
    assert_true(json_is_true(json_object_get(json_object_get(j, "card"), "parked")));
    json_decref(j);
    apply_ok(r, BEN, CMD_NOTE_POST, "note", NULL, 5000);
    j = proto_event_json(r, &r->out[r->nout - 1], 5000);
    assert_null(json_object_get(json_object_get(j, "card"), "parked"));
    json_decref(j);
    apply_ok(r, FA, CMD_TIMER_PAUSE, NULL, NULL, 5000);
    assert_null(proto_event_advice_json(r, &r->out[r->nout - 1], 5000));

    assert_int_equal(room_question_check(r, BEN, "Why don't you delegate?", &res), 0);
    j = proto_check_ack_json("k1", &res);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "ack");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "k1");
    assert_null(json_object_get(j, "seq"));
    assert_true(json_is_true(json_object_get(j, "advice_like")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "cues"), 0), "lang")),
                        "en");
    json_decref(j);
    room_free(r);
}

/* json_flat_load reads the usual flat command as jansson does (same
 * members, values and order), and leaves everything else to jansson:
 * nested values, \u escapes, reals, big integers, duplicate keys, invalid
 * UTF-8, raw control characters, bad JSON. A long message (scratch on the
 * heap) reads the same. */
static void flat_reader_matches_jansson_or_declines(void **state)
{
    static const char *same[] = {
        "{}",
        " \t\r\n{ } \n",
        "{\"type\":\"contribution_post\",\"id\":\"p12\",\"kind\":\"suggestion\","
        "\"text\":\"ts=123 idée « oui » ’ \xf0\x9f\x98\x80\"}",
        "{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\",\"\":\"\",\"n\":-42,\"z\":0,"
        "\"big\":123456789012345678,\"t\":true,\"f\":false,\"u\":null}",
        "{ \"b\" : 1 , \"a\" : \"2\" }",
    };
    static const char *declined[] = {
        "{\"a\":{\"b\":1}}",            /* nested object */
        "{\"a\":[1]}",                  /* nested array */
        "{\"a\":\"\\u00e9\"}",          /* \u escape */
        "{\"a\":\"\\u0000\"}",          /* NUL: jansson refuses */
        "{\"a\":\"\\x\"}",              /* bad escape */
        "{\"a\":1.5}",                  /* real */
        "{\"a\":1e3}",                  /* real */
        "{\"a\":1234567890123456789}",  /* 19 digits */
        "{\"a\":-0}",                   /* minus zero */
        "{\"a\":01}",                   /* leading zero */
        "{\"a\":1,\"a\":2}",            /* duplicate key */
        "{\"a\":\"\xc3\"}",             /* truncated UTF-8 */
        "{\"a\":\"\xc0\xaf\"}",         /* overlong */
        "{\"a\":\"\xed\xa0\x80\"}",     /* surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
        "{\"a\":\"tab\there\"}",        /* raw control character */
        "{\"a\":1,}",                   /* trailing comma */
        "{\"a\":1} x",                  /* bytes after */
        "{\"a\" 1}",                    /* no colon */
        "{\"a\":tru}",                  /* bad word */
        "{\"a\":1",                     /* unterminated */
        "[1,2]",                        /* not an object */
        "\"text\"",                     /* not an object */
        "",
    };
    char *big;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
        json_error_t jerr;
        json_t *a = json_flat_load(same[i], strlen(same[i]));
        json_t *b = json_loadb(same[i], strlen(same[i]), JSON_REJECT_DUPLICATES, &jerr);
        char *da, *db;
        assert_non_null(a);
        assert_non_null(b);
        assert_true(json_equal(a, b));
        da = json_dumps(a, JSON_PRESERVE_ORDER);
        db = json_dumps(b, JSON_PRESERVE_ORDER);
        assert_string_equal(da, db); /* same order too */
        free(da);
        free(db);
        json_decref(a);
        json_decref(b);
    }
    for (size_t i = 0; i < sizeof(declined) / sizeof(*declined); i++)
        assert_null(json_flat_load(declined[i], strlen(declined[i])));
    /* Over the stack scratch: the same object. */
    n = 3000;
    big = malloc(n + 32);
    assert_non_null(big);
    memcpy(big, "{\"text\":\"", 9);
    memset(big + 9, 'e', n);
    memcpy(big + 9 + n, "\",\"id\":\"x\"}", 12);
    {
        json_t *a = json_flat_load(big, strlen(big));
        assert_non_null(a);
        assert_int_equal(json_string_length(json_object_get(a, "text")), n);
        assert_string_equal(json_string_value(json_object_get(a, "id")), "x");
        json_decref(a);
    }
    free(big);
}

/* Issue 15: the tick is written without jansson (proto_tick_dump); the
 * bytes must be proto_tick_json's as proto_dump writes them, clock running
 * or paused, in every step, the floor empty, held, held in a round with a
 * turn budget (its remaining time negative too) or by an index out of
 * range. */
static void ticks_are_written_as_jansson_writes_them(void **state)
{
    const struct room_limits l = {.text_max_chars = 100,
                                  .long_text_max_chars = 100,
                                  .cards_per_step = 100,
                                  .members_max = 8};
    struct room *r = room_new("s", NULL, &l, 1000);
    size_t n = 0;

    (void)state;
    assert_non_null(r);
    assert_int_equal(room_member_add(r, "f", "F", true, false), 0);
    assert_int_equal(room_member_add(r, "c", "C", false, false), 1);
    assert_int_equal(room_member_add(r, "k\"q\\", "K", false, false), 2);
    for (int phase = 0; phase < 6; phase++) {
        int64_t now = 5000 + phase * 977;

        if (phase == 1)
            apply_full(r, 0, CMD_STEP_NEXT, NULL, NULL, 0, false, 2000);
        if (phase == 2)
            apply_full(r, 0, CMD_TIMER_PAUSE, NULL, NULL, 0, false, 3000);
        if (phase == 3) {
            r->floor_member = 2;
            r->floor_since_ms = 4000;
        }
        if (phase == 4) {
            r->round.active = true;
            r->round.turn_ms = 1500; /* remaining_ms goes negative */
        }
        if (phase == 5)
            r->floor_member = 7; /* no such member: null */
        for (int64_t t = now; t < now + 3000; t += 1000) {
            json_t *j = proto_tick_json(r, t);
            size_t la = 0, lb = 0;
            unsigned char *a = proto_dump(j, 5, &la), *b = proto_tick_dump(r, t, 5, &lb);

            assert_non_null(a);
            assert_non_null(b);
            assert_int_equal(lb, la);
            assert_memory_equal(a + 5, b + 5, la + 1); /* with the NUL */
            free(a);
            free(b);
            json_decref(j);
            n++;
        }
    }
    assert_int_equal(n, 18);
    r->floor_member = -1;
    room_free(r);
}

/* Issue 15: an ack is written without jansson (proto_ack_dump); the bytes
 * must be proto_dump's of proto_ack_json for any id a client may send
 * (quotes, backslash, controls, slash, non-ASCII), duplicate or not, and
 * another shape of ack (question_check's, keys in another order, a
 * duplicate flag that is not true) falls back. */
static void acks_are_written_as_jansson_writes_them(void **state)
{
    static const char *const ids[] = {"p1", "q\"uote\\back/slash", "\x01\x1f\t\n\x7f",
                                      "idée « x » 😀", ""};
    const struct advice_result res = {0};
    json_t *other;
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (int dup = 0; dup < 2; dup++) {
            json_t *j = proto_ack_json(ids[i], i * 1000003ULL, dup);
            size_t la = 0, lb = 0;
            unsigned char *a = proto_dump(j, 3, &la), *b = proto_ack_dump(j, 3, &lb);

            assert_non_null(a);
            assert_non_null(b);
            assert_int_equal(lb, la);
            assert_memory_equal(a + 3, b + 3, la + 1); /* with the NUL */
            free(a);
            free(b);
            json_decref(j);
        }
    }
    other = proto_check_ack_json("k", &res);
    assert_null(proto_ack_dump(other, 0, &len));
    json_decref(other);
    other = json_pack("{s:s, s:I, s:s}", "type", "ack", "seq", (json_int_t)1, "id", "x");
    assert_null(proto_ack_dump(other, 0, &len));
    json_decref(other);
    other = json_pack("{s:s, s:s, s:I, s:b}", "type", "ack", "id", "x", "seq",
                      (json_int_t)1, "duplicate", 0);
    assert_null(proto_ack_dump(other, 0, &len));
    json_decref(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bad_message_gets_its_error),
        cmocka_unit_test(oversized_message_is_refused_before_parsing),
        cmocka_unit_test(brackets_inside_strings_do_not_count_as_depth),
        cmocka_unit_test(hello_decodes_its_fields),
        cmocka_unit_test(commands_decode_into_room_commands),
        cmocka_unit_test(every_command_decodes_once_its_fields_are_there),
        cmocka_unit_test(session_open_is_its_own_kind),
        cmocka_unit_test(a_spliced_welcome_is_the_whole_welcome),
        cmocka_unit_test(error_json_carries_code_id_and_detail),
        cmocka_unit_test(error_names_round_trip),
        cmocka_unit_test(edited_withdrawn_cards_and_recadrage_ack_encode),
        cmocka_unit_test(hot_events_are_written_as_jansson_writes_them),
        cmocka_unit_test(advice_verdict_is_encoded_for_its_audience_only),
        cmocka_unit_test(flat_reader_matches_jansson_or_declines),
        cmocka_unit_test(ticks_are_written_as_jansson_writes_them),
        cmocka_unit_test(acks_are_written_as_jansson_writes_them),
    };
    return cmocka_run_group_tests_name("protocol", tests, NULL, NULL);
}
