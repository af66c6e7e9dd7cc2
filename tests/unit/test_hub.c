/*
 * test_hub.c - groups, members, secrets, sessions, and what the group keeps
 * from one session to the next.
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
#include "test_helpers.h"

struct fixture {
    struct hub *hub;
    struct hub_group *g;
    char fac_id[AUTH_UUID_LEN + 1], fac_key[AUTH_SECRET_LEN + 1],
        invite[AUTH_SECRET_LEN + 1];
};

static int setup(void **state)
{
    struct config cfg = test_config();
    struct fixture *f = calloc(1, sizeof(*f));

    /* Small limits, so that the tests reach them. */
    cfg.members_max = 4;
    cfg.groups_max = 3;
    cfg.sessions_max = 2;
    f->hub = hub_new(&cfg);
    assert_int_equal(hub_group_create(f->hub, "", "  Managers Lyon ", "Léa", "fr", 90,
                                      &f->g, f->fac_id, f->fac_key, f->invite),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    hub_free(f->hub);
    free(f);
    return 0;
}

static void a_new_group_has_its_facilitator_and_fresh_secrets(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(f->g->name, "Managers Lyon"); /* trimmed */
    assert_string_equal(f->g->facilitator, f->fac_id);
    assert_true(auth_uuid_wellformed(f->g->id));
    assert_true(auth_secret_wellformed(f->fac_key));
    assert_true(auth_secret_wellformed(f->invite));
    assert_string_not_equal(f->fac_key, f->invite);
    assert_ptr_equal(hub_group_find(f->hub, f->g->id), f->g);
    assert_null(hub_group_find(f->hub, "00000000-0000-4000-8000-000000000000"));
}

static void secrets_are_stored_only_as_hashes(void **state)
{
    struct fixture *f = *state;
    uint8_t h[AUTH_HASH_LEN];

    /* Neither the key nor the invite appears in the structs. */
    assert_null(memmem(f->g, sizeof(*f->g), f->invite, AUTH_SECRET_LEN));
    assert_null(
        memmem(&f->g->members[0], sizeof(f->g->members[0]), f->fac_key, AUTH_SECRET_LEN));
    auth_hash(f->fac_key, AUTH_SECRET_LEN, h);
    assert_true(auth_hash_equal(h, f->g->members[0].key_hash));
}

static void bad_group_settings_are_refused(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *g;
    char long_name[80];

    memset(long_name, 'a', 61);
    long_name[61] = '\0';
    assert_int_equal(hub_group_create(f->hub, "", "G", "F", "de", 90, &g, id, key, inv),
                     CODEV_E_BAD_FIELD);
    assert_int_equal(hub_group_create(f->hub, "", "G", "F", "fr", 60, &g, id, key, inv),
                     CODEV_E_BAD_FIELD);
    assert_int_equal(hub_group_create(f->hub, "", "   ", "F", "fr", 90, &g, id, key, inv),
                     CODEV_E_BAD_FIELD);
    assert_int_equal(
        hub_group_create(f->hub, "", "G", "F\x01", "fr", 90, &g, id, key, inv),
        CODEV_E_BAD_FIELD);
    assert_int_equal(
        hub_group_create(f->hub, "", long_name, "F", "fr", 90, &g, id, key, inv),
        CODEV_E_BAD_FIELD);
    /* 60 characters of two bytes each is fine: the limit is in characters */
    {
        char accents[130] = "";
        for (int i = 0; i < 60; i++)
            strcat(accents, "é");
        assert_int_equal(
            hub_group_create(f->hub, "", accents, "F", "en", 45, &g, id, key, inv), 0);
    }
}

/* Names hold no control, invisible or direction-changing character, in the
 * group name, the facilitator's name or a joining member's display name;
 * card text is not concerned (room.c). */
static void names_refuse_invisible_and_bidi_characters(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *g;
    const char *bad[] = {
        "Ann\xe2\x80\xae"
        "e", /* U+202E right-to-left override */
        "Ann\xe2\x80\xaa"
        "e", /* U+202A left-to-right embedding */
        "Ann\xe2\x81\xa6"
        "e", /* U+2066 left-to-right isolate */
        "Ann\xe2\x81\xa9"
        "e", /* U+2069 pop directional isolate */
        "Ann\xe2\x80\x8b"
        "e", /* U+200B zero-width space */
        "Ann\xe2\x80\x8d"
        "e", /* U+200D zero-width joiner */
        "Ann\xe2\x80\x8f"
        "e", /* U+200F right-to-left mark */
        "\xef\xbb\xbf"
        "Anne", /* U+FEFF byte order mark */
        "Ann\xe2\x80\xa8"
        "e", /* U+2028 line separator */
        "Ann\xe2\x80\xa9"
        "e", /* U+2029 paragraph separator */
        "Ann\xc2\x85"
        "e", /* U+0085 next line (C1) */
        "Ann\xc2\x9b"
        "e",            /* U+009B control sequence introducer (C1) */
        "Ann\x1b[31me", /* ESC (C0) */
        "Ann\x7f"
        "e", /* DEL */
        "Ann\xc2\xad"
        "e",                    /* U+00AD soft hyphen */
        "\xe3\x85\xa4",         /* U+3164 Hangul filler alone: a blank name */
        "Anne\xef\xbe\xa0",     /* U+FFA0 halfwidth Hangul filler */
        "Anne\xef\xb8\x8f",     /* U+FE0F variation selector */
        "Anne\xf3\xa0\x80\x81", /* U+E0001 language tag */
        "Ann\xe2\x81\xaa"
        "e",                    /* U+206A inhibit symmetric swapping */
        "\xc2\xa0\xe3\x80\x80", /* only no-break and ideographic spaces */
    };
    /* Three joins: the fixture's member limit is 4, the facilitator included. */
    const char *good[] = {"Zoé Ἀθηνᾶ", "محمد 李小龙", "Anne-Marie O'Neil [a][b]"};
    int idx;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hub_group_create(f->hub, "", bad[i], "F", "fr", 90, &g, id, key, inv) !=
                CODEV_E_BAD_FIELD ||
            hub_group_create(f->hub, "", "G", bad[i], "fr", 90, &g, id, key, inv) !=
                CODEV_E_BAD_FIELD ||
            hub_member_join(f->hub, f->g, f->invite, bad[i], id, key, &idx) !=
                CODEV_E_BAD_FIELD)
            fail_msg("name %zu was accepted", i);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (hub_member_join(f->hub, f->g, f->invite, good[i], id, key, &idx) < 0)
            fail_msg("name %s was refused", good[i]);
}

static void the_group_limit_is_enforced(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *g;

    assert_int_equal(hub_group_create(f->hub, "", "B", "F", "fr", 90, &g, id, key, inv),
                     0);
    assert_int_equal(hub_group_create(f->hub, "", "C", "F", "fr", 90, &g, id, key, inv),
                     0);
    assert_int_equal(hub_group_create(f->hub, "", "D", "F", "fr", 90, &g, id, key, inv),
                     CODEV_E_TOO_MANY_GROUPS);
}

static void a_key_opens_only_its_own_group(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *other;

    assert_int_equal(
        hub_group_create(f->hub, "", "B", "Marc", "fr", 90, &other, id, key, inv), 0);
    assert_non_null(hub_member_auth(f->g, f->fac_key));
    assert_null(hub_member_auth(f->g, key));
    assert_null(hub_member_auth(other, f->fac_key));
    assert_null(hub_member_auth(f->g, f->invite)); /* the invite is not a key */
    assert_null(hub_member_auth(f->g, "short"));
    assert_null(hub_member_auth(f->g, NULL));
}

static void joining_needs_the_invite_and_respects_the_member_limit(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1];
    int idx;

    assert_int_equal(
        hub_member_join(f->hub, f->g, "AAAAAAAAAAAAAAAAAAAAAA", "Zoé", id, key, &idx),
        CODEV_E_BAD_INVITE);
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "", id, key, &idx),
                     CODEV_E_BAD_FIELD);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            hub_member_join(f->hub, f->g, f->invite, "Membre", id, key, &idx), 0);
        assert_int_equal(idx, -1); /* no session open */
        assert_ptr_equal(hub_member_auth(f->g, key), hub_member_find(f->g, id));
    }
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Cinq", id, key, &idx),
                     CODEV_E_GROUP_FULL);
}

static void a_rotated_invite_replaces_the_old_one(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], fresh[AUTH_SECRET_LEN + 1];
    int idx;

    assert_int_equal(hub_invite_rotate(f->g, fresh), 0);
    assert_true(auth_secret_wellformed(fresh));
    assert_string_not_equal(fresh, f->invite);
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Ancien", id, key, &idx),
                     CODEV_E_BAD_INVITE);
    assert_int_equal(hub_member_join(f->hub, f->g, fresh, "Nouveau", id, key, &idx), 0);
}

/* The display token: none at first; made, it opens the link and nothing
 * else does (not the invite, not a member key); replaced, the old one is
 * dead; revoked, none works; kept as its hash only. */
static void a_display_token_is_a_rotatable_secret(void **state)
{
    struct fixture *f = *state;
    char first[AUTH_SECRET_LEN + 1], second[AUTH_SECRET_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN];

    assert_false(f->g->display_set);
    assert_false(hub_display_auth(f->g, f->invite));
    assert_int_equal(hub_display_rotate(f->g, first), 0);
    assert_true(auth_secret_wellformed(first));
    assert_true(f->g->display_set);
    assert_true(hub_display_auth(f->g, first));
    assert_false(hub_display_auth(f->g, f->invite));
    assert_false(hub_display_auth(f->g, NULL));
    assert_false(hub_display_auth(f->g, "short"));
    auth_hash(first, AUTH_SECRET_LEN, hash);
    assert_memory_equal(f->g->display_hash, hash, AUTH_HASH_LEN);
    assert_null(memmem(f->g->display_hash, AUTH_HASH_LEN, first, 8));
    assert_int_equal(hub_display_rotate(f->g, second), 0);
    assert_string_not_equal(first, second);
    assert_false(hub_display_auth(f->g, first));
    assert_true(hub_display_auth(f->g, second));
    hub_display_revoke(f->g);
    assert_false(hub_display_auth(f->g, second));
    hub_display_load(f->g, hash);
    assert_true(hub_display_auth(f->g, first));
    hub_display_load(f->g, NULL);
    assert_false(f->g->display_set);
}

static void one_session_at_a_time_within_the_server_limit(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *b, *c;

    assert_int_equal(hub_session_open(f->hub, f->g, 1000), 0);
    assert_non_null(f->g->room);
    assert_int_equal(f->g->room->step, STEP_OPENING);
    assert_int_equal(hub_session_open(f->hub, f->g, 1000), CODEV_E_SESSION_OPEN);
    assert_int_equal(hub_group_create(f->hub, "", "B", "F", "fr", 90, &b, id, key, inv),
                     0);
    assert_int_equal(hub_group_create(f->hub, "", "C", "F", "fr", 90, &c, id, key, inv),
                     0);
    assert_int_equal(hub_session_open(f->hub, b, 1000), 0);
    assert_int_equal(hub_session_open(f->hub, c, 1000), CODEV_E_TOO_MANY_SESSIONS);
    assert_int_equal(f->hub->open_sessions, 2);
}

static void a_member_joining_during_a_session_enters_the_room(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1];
    int idx;

    assert_int_equal(hub_session_open(f->hub, f->g, 1000), 0);
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Zoé", id, key, &idx), 0);
    assert_true(idx >= 0);
    assert_int_equal(room_member_find(f->g->room, id), idx);
    assert_int_equal(room_member_role(f->g->room, idx), ROLE_CONSULTANT);
}

static int apply(struct room *r, const char *member_id, enum room_cmd_type type,
                 const char *text, const char *target, int64_t now)
{
    static int counter;
    struct room_cmd cmd = {.type = type, .text = text, .target = target};
    uint64_t seq;

    snprintf(cmd.id, sizeof(cmd.id), "c%d", ++counter);
    return room_apply(r, room_member_find(r, member_id), &cmd, now, &seq, NULL);
}

/* Asserts the groups and open sessions counted for the address key. */
static void assert_usage(const struct hub *h, const char *key, uint32_t groups,
                         uint32_t sessions)
{
    uint32_t ng, ns;

    hub_creator_usage(h, key, &ng, &ns);
    assert_int_equal(ng, groups);
    assert_int_equal(ns, sessions);
}

static void one_address_is_held_to_its_own_group_and_session_caps(void **state)
{
    struct config cfg = test_config();
    char id[4][AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *g[4];
    struct hub *h;

    (void)state;
    cfg.groups_per_ip = 2;
    cfg.sessions_per_ip = 1;
    h = hub_new(&cfg);
    assert_non_null(h);
    assert_int_equal(
        hub_group_create(h, "10.0.0.1", "A", "F", "fr", 90, &g[0], id[0], key, inv), 0);
    assert_string_equal(g[0]->creator, "10.0.0.1");
    assert_int_equal(
        hub_group_create(h, "10.0.0.1", "B", "F", "fr", 90, &g[1], id[1], key, inv), 0);
    assert_usage(h, "10.0.0.1", 2, 0);
    /* At its cap, the address is refused; another address, and a group
     * whose creator is unknown, are not. */
    assert_int_equal(
        hub_group_create(h, "10.0.0.1", "C", "F", "fr", 90, &g[2], id[2], key, inv),
        CODEV_E_TOO_MANY_GROUPS);
    assert_int_equal(
        hub_group_create(h, "10.0.0.2", "C", "F", "fr", 90, &g[2], id[2], key, inv), 0);
    assert_int_equal(hub_group_create(h, "", "D", "F", "fr", 90, &g[3], id[3], key, inv),
                     0);
    assert_usage(h, "10.0.0.1", 2, 0);
    assert_usage(h, "10.0.0.2", 1, 0);
    assert_usage(h, "", 0, 0);

    /* Sessions count toward the group's creator, whoever opens them. */
    assert_int_equal(hub_session_open(h, g[0], 1000), 0);
    assert_usage(h, "10.0.0.1", 2, 1);
    assert_int_equal(hub_session_open(h, g[1], 1000), CODEV_E_TOO_MANY_SESSIONS);
    assert_int_equal(hub_session_open(h, g[2], 1000), 0);
    assert_int_equal(hub_session_open(h, g[3], 1000), 0);
    assert_usage(h, "10.0.0.2", 1, 1);

    /* A close frees the session; then the other group may open. */
    assert_int_equal(apply(g[0]->room, id[0], CMD_SESSION_CLOSE, NULL, NULL, 2000), 0);
    room_outbox_clear(g[0]->room);
    hub_sync(h, g[0]);
    assert_usage(h, "10.0.0.1", 2, 0);
    assert_int_equal(hub_session_open(h, g[1], 3000), 0);
    assert_usage(h, "10.0.0.1", 2, 1);

    /* Deleting (or expiring: the same call) a group with an open session
     * frees both; the address may create again. */
    hub_group_delete(h, g[1]);
    assert_usage(h, "10.0.0.1", 1, 0);
    assert_int_equal(
        hub_group_create(h, "10.0.0.1", "E", "F", "fr", 90, &g[1], id[1], key, inv), 0);
    assert_usage(h, "10.0.0.1", 2, 0);
    hub_group_delete(h, g[0]);
    hub_group_delete(h, g[1]);
    assert_usage(h, "10.0.0.1", 0, 0);
    assert_int_equal(h->ncreators, 1); /* 10.0.0.2 only: empty entries go */
    hub_free(h);
}

static void loading_counts_groups_and_sessions_by_creator(void **state)
{
    struct config cfg = test_config();
    uint8_t hash[AUTH_HASH_LEN] = {0};
    struct hub_group *g[3];
    struct hub *h;
    int64_t budgets[STEP_COUNT];
    struct room *r;

    (void)state;
    cfg.groups_per_ip = 2;
    cfg.sessions_per_ip = 1;
    h = hub_new(&cfg);
    assert_int_equal(hub_group_insert(h, "g0", "A", "fr", 90, "m0", hash,
                                      HUB_RETENTION_PERSONAL, "2001:db8:1:2::/64", &g[0]),
                     0);
    assert_int_equal(hub_group_insert(h, "g1", "B", "fr", 90, "m1", hash,
                                      HUB_RETENTION_PERSONAL, "2001:db8:1:2::/64", &g[1]),
                     0);
    assert_int_equal(hub_group_insert(h, "g2", "C", "fr", 90, "m2", hash,
                                      HUB_RETENTION_PERSONAL, NULL, &g[2]),
                     0);
    assert_string_equal(g[2]->creator, "");
    assert_usage(h, "2001:db8:1:2::/64", 2, 0);
    assert_int_equal(hub_format_budgets(90, budgets), 0);
    r = room_new("s0", budgets, &h->room_limits, 1000);
    assert_int_equal(hub_session_attach(h, g[0], r), 0);
    assert_usage(h, "2001:db8:1:2::/64", 2, 1);
    /* What was loaded counts toward the caps from here on. */
    assert_int_equal(hub_session_open(h, g[1], 2000), CODEV_E_TOO_MANY_SESSIONS);
    {
        char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
        struct hub_group *x;
        assert_int_equal(hub_group_create(h, "2001:db8:1:2::/64", "D", "F", "fr", 90, &x,
                                          id, key, inv),
                         CODEV_E_TOO_MANY_GROUPS);
    }
    hub_free(h);
}

static void the_action_plan_waits_for_the_next_session_debrief(void **state)
{
    struct fixture *f = *state;
    char client[AUTH_UUID_LEN + 1], ckey[AUTH_SECRET_LEN + 1];
    struct room *r;
    int idx;
    struct room_cmd cmd = {.type = CMD_DEBRIEF_POST, .id = "d1", .variant = OUTCOME_DONE};
    uint64_t seq;

    assert_int_equal(
        hub_member_join(f->hub, f->g, f->invite, "Client", client, ckey, &idx), 0);
    assert_int_equal(hub_session_open(f->hub, f->g, 0), 0);
    r = f->g->room;
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 1), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_CLIENT_ASSIGN, NULL, client, 2), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 3), 0);
    assert_int_equal(apply(r, client, CMD_PROBLEM_SET, "Mon équipe", NULL, 4), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 5), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 6), 0);
    assert_int_equal(
        apply(r, client, CMD_CONTRACT_SET, "J'aimerais que vous m'aidiez à", NULL, 7), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 8), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, 9), 0);
    assert_int_equal(r->step, STEP_SYNTHESIS);
    assert_int_equal(apply(r, client, CMD_ACTION_ADD, "Parler à Paul", NULL, 10), 0);
    assert_int_equal(apply(r, client, CMD_ACTION_ADD, "Écrire le plan", NULL, 11), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, 12), 0);
    room_outbox_clear(r);
    hub_sync(f->hub, f->g);
    assert_int_equal(f->hub->open_sessions, 0);
    assert_int_equal(f->g->nplans, 2);
    assert_string_equal(f->g->plans[0].client, client);

    /* A month later */
    assert_int_equal(hub_session_open(f->hub, f->g, 2592000000LL), 0);
    r = f->g->room;
    assert_int_equal(r->ndebriefs, 2);
    assert_string_equal(r->debriefs[0].text, "Parler à Paul");
    cmd.ref = r->debriefs[0].id;
    assert_int_equal(
        room_apply(r, room_member_find(r, client), &cmd, 2592000001LL, &seq, NULL), 0);
    hub_sync(f->hub, f->g);
    assert_true(f->g->plans[0].debriefed);
    assert_false(f->g->plans[1].debriefed);
    assert_int_equal(apply(r, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, 2592000002LL), 0);
    hub_sync(f->hub, f->g);

    /* Once the group's records committed, the debriefed item leaves memory
     * (the store keeps it); the other still waits. */
    {
        size_t waiting, settling;
        hub_plans_count(f->g, &waiting, &settling);
        assert_int_equal(waiting, 1);
        assert_int_equal(settling, 1);
    }
    assert_int_equal(hub_plans_settle(f->g), 1);
    assert_int_equal(f->g->nplans, 1);
    assert_string_equal(f->g->plans[0].text, "Écrire le plan");
    assert_int_equal(hub_plans_settle(f->g), 0);

    /* Only the item not yet debriefed comes back. */
    assert_int_equal(hub_session_open(f->hub, f->g, 5184000000LL), 0);
    assert_int_equal(f->g->room->ndebriefs, 1);
    assert_string_equal(f->g->room->debriefs[0].text, "Écrire le plan");
}

/* Runs session k of f's group with client as its client, who adds n action
 * items "k.1".."k.n" and debriefs nothing; closes it and syncs the group. */
static void session_with_actions(struct fixture *f, const char *client, int k, int n)
{
    int64_t t = (int64_t)k * 2592000000LL;
    struct room *r;
    char text[16];

    assert_int_equal(hub_session_open(f->hub, f->g, t), 0);
    r = f->g->room;
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 1), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_CLIENT_ASSIGN, NULL, client, t + 2), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 3), 0);
    assert_int_equal(apply(r, client, CMD_PROBLEM_SET, "Mon équipe", NULL, t + 4), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 5), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 6), 0);
    assert_int_equal(apply(r, client, CMD_CONTRACT_SET, "Aidez-moi à", NULL, t + 7), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 8), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_STEP_NEXT, NULL, NULL, t + 9), 0);
    assert_int_equal(r->step, STEP_SYNTHESIS);
    for (int i = 1; i <= n; i++) {
        snprintf(text, sizeof(text), "%d.%d", k, i);
        assert_int_equal(apply(r, client, CMD_ACTION_ADD, text, NULL, t + 10 + i), 0);
    }
    assert_int_equal(apply(r, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, t + 100), 0);
    room_outbox_clear(r);
    hub_sync(f->hub, f->g);
}

/* A client who never debriefs: at each close their oldest items beyond
 * plans_waiting_max expire, so that the group's memory, and each opening's
 * debriefs, stay bounded however many sessions go by. */
static void a_client_who_never_debriefs_keeps_only_the_newest_items_waiting(void **state)
{
    struct fixture *f = *state;
    char client[AUTH_UUID_LEN + 1], ckey[AUTH_SECRET_LEN + 1];
    size_t waiting, settling;
    int idx;

    f->hub->plans_waiting_max = 3;
    assert_int_equal(
        hub_member_join(f->hub, f->g, f->invite, "Client", client, ckey, &idx), 0);
    for (int k = 1; k <= 6; k++) {
        session_with_actions(f, client, k, 2);
        hub_plans_count(f->g, &waiting, &settling);
        assert_int_equal(waiting, k == 1 ? 2 : 3);
        assert_int_equal(settling, k == 1 ? 0 : k == 2 ? 1 : 2);
        hub_plans_settle(f->g);
        assert_int_equal(f->g->nplans, waiting);
        /* Every opening offered what waited, never more than the cap. */
        if (k > 1)
            assert_true(f->g->room->ndebriefs <= 3);
    }
    /* The newest three, in order, with ordinals that only grow. */
    assert_string_equal(f->g->plans[0].text, "5.2");
    assert_string_equal(f->g->plans[1].text, "6.1");
    assert_string_equal(f->g->plans[2].text, "6.2");
    assert_true(f->g->plans[0].ordinal < f->g->plans[1].ordinal);
    assert_true(f->g->plans[1].ordinal < f->g->plans[2].ordinal);
    assert_int_equal(f->g->plans_next_ordinal, 12);

    /* One session with more items than the cap keeps its newest. */
    session_with_actions(f, client, 7, 5);
    hub_plans_settle(f->g);
    assert_int_equal(f->g->nplans, 3);
    assert_string_equal(f->g->plans[0].text, "7.3");
    assert_string_equal(f->g->plans[2].text, "7.5");

    /* Removed, the client can debrief nothing any more: at the next close
     * their items expire. */
    assert_int_equal(hub_session_open(f->hub, f->g, 8 * 2592000000LL), 0);
    assert_int_equal(apply(f->g->room, f->fac_id, CMD_MEMBER_REMOVE, NULL, client,
                           8 * 2592000000LL + 1),
                     0);
    assert_int_equal(
        apply(f->g->room, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, 8 * 2592000000LL + 2),
        0);
    room_outbox_clear(f->g->room);
    hub_sync(f->hub, f->g);
    assert_int_equal(hub_plans_settle(f->g), 3);
    assert_int_equal(f->g->nplans, 0);
}

/* The close's record failed (hub_session_replace, the rollback): the items
 * it kept go and those it expired wait again, as before it. */
static void a_rolled_back_close_makes_what_it_expired_wait_again(void **state)
{
    struct fixture *f = *state;
    char client[AUTH_UUID_LEN + 1], ckey[AUTH_SECRET_LEN + 1];
    int idx;

    f->hub->plans_waiting_max = 1;
    assert_int_equal(
        hub_member_join(f->hub, f->g, f->invite, "Client", client, ckey, &idx), 0);
    session_with_actions(f, client, 1, 1);
    hub_plans_settle(f->g);
    session_with_actions(f, client, 2, 1);
    assert_int_equal(f->g->nplans, 2);
    assert_true(f->g->plans[0].expired);
    assert_string_equal(f->g->plans[0].expired_in, f->g->room->session_id);
    assert_false(f->g->plans[1].expired);

    assert_int_equal(hub_session_replace(f->hub, f->g, NULL), 0);
    assert_int_equal(f->g->nplans, 1);
    assert_string_equal(f->g->plans[0].text, "1.1");
    assert_false(f->g->plans[0].expired);
    assert_int_equal(hub_plans_settle(f->g), 0);
}

static void what_the_room_decides_becomes_true_of_the_group(void **state)
{
    struct fixture *f = *state;
    char a[AUTH_UUID_LEN + 1], akey[AUTH_SECRET_LEN + 1];
    char b[AUTH_UUID_LEN + 1], bkey[AUTH_SECRET_LEN + 1];
    struct room_cmd cmd = {.type = CMD_ROLE_SET, .id = "r1", .flag = true};
    uint64_t seq;
    int idx;

    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "A", a, akey, &idx), 0);
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "B", b, bkey, &idx), 0);
    assert_int_equal(hub_session_open(f->hub, f->g, 0), 0);
    assert_int_equal(apply(f->g->room, f->fac_id, CMD_MEMBER_REMOVE, NULL, b, 1), 0);
    cmd.target = a;
    assert_int_equal(room_apply(f->g->room, room_member_find(f->g->room, f->fac_id), &cmd,
                                2, &seq, NULL),
                     0);
    hub_sync(f->hub, f->g);
    assert_true(hub_member_find(f->g, b)->removed);
    assert_true(hub_member_find(f->g, a)->observer);
    assert_int_equal(
        apply(f->g->room, f->fac_id, CMD_FACILITATOR_HANDOVER, NULL, f->fac_id, 3),
        CODEV_E_ALREADY_DONE);
    cmd = (struct room_cmd){.type = CMD_ROLE_SET, .id = "r2", .flag = false, .target = a};
    assert_int_equal(room_apply(f->g->room, room_member_find(f->g->room, f->fac_id), &cmd,
                                4, &seq, NULL),
                     0);
    assert_int_equal(apply(f->g->room, f->fac_id, CMD_FACILITATOR_HANDOVER, NULL, a, 5),
                     0);
    hub_sync(f->hub, f->g);
    assert_string_equal(f->g->facilitator, a);
    /* the removed member's key still hashes to a member, who is removed */
    assert_true(hub_member_auth(f->g, bkey)->removed);
}

static void format_budgets_follow_the_practice_table(void **state)
{
    int64_t b[STEP_COUNT];

    (void)state;
    assert_int_equal(hub_format_budgets(90, b), 0);
    assert_int_equal(b[STEP_CLARIFICATION], 20 * 60000);
    assert_int_equal(b[STEP_CONSULTATION], 25 * 60000);
    assert_int_equal(hub_format_budgets(120, b), 0);
    assert_int_equal(b[STEP_OPENING], 15 * 60000);
    assert_int_equal(hub_format_budgets(45, b), 0);
    assert_int_equal(b[STEP_CONSULTATION], 15 * 60000);
    {
        int64_t total = 0;
        for (int s = STEP_OPENING; s < STEP_CLOSED; s++)
            total += b[s];
        assert_int_equal(total, 45 * 60000);
    }
    assert_int_equal(hub_format_budgets(60, b), CODEV_E_BAD_FIELD);
}

static void removed_members_free_their_place_and_kill_the_invite(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1];
    uint8_t old_hash[AUTH_HASH_LEN];
    int idx;

    /* Far more joins and removals than the 64 places of a room: only the
     * current members count (members_max is 4 here). */
    for (int i = 0; i < 100; i++) {
        char invite[AUTH_SECRET_LEN + 1];
        assert_int_equal(hub_session_open(f->hub, f->g, 1000 + i), 0);
        assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Zoé", id, key, &idx),
                         0);
        memcpy(old_hash, f->g->invite_hash, AUTH_HASH_LEN);
        f->g->invite_rotated = false;
        assert_int_equal(apply(f->g->room, f->fac_id, CMD_MEMBER_REMOVE, NULL, id, 2000),
                         0);
        hub_sync(f->hub, f->g);
        assert_true(hub_member_find(f->g, id)->removed);
        assert_true(f->g->invite_rotated);
        assert_memory_not_equal(old_hash, f->g->invite_hash, AUTH_HASH_LEN);
        assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Yann", id, key, &idx),
                         CODEV_E_BAD_INVITE);
        assert_int_equal(
            apply(f->g->room, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, 3000), 0);
        hub_sync(f->hub, f->g);
        assert_int_equal(hub_invite_rotate(f->g, invite), 0);
        memcpy(f->invite, invite, sizeof(invite));
    }
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Léon", id, key, &idx), 0);
}

static void a_closed_room_keeps_no_text_under_personal_retention(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], late[AUTH_UUID_LEN + 1];
    struct room *r;
    int idx;

    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Zoé", id, key, &idx), 0);
    assert_int_equal(hub_session_open(f->hub, f->g, 1000), 0);
    r = f->g->room;
    assert_int_equal(apply(r, id, CMD_CHECKIN_POST, "secret-checkin", NULL, 1001), 0);
    assert_int_equal(apply(r, f->fac_id, CMD_SESSION_CLOSE, NULL, NULL, 1002), 0);
    hub_sync(f->hub, f->g);
    assert_ptr_equal(f->g->room, r); /* stripped in place */
    assert_int_equal(r->step, STEP_CLOSED);
    assert_int_equal(r->ncards, 1);
    assert_true(r->cards[0].removed);
    assert_string_equal(r->cards[0].text, "");
    assert_ptr_equal(hub_room_of(f->g, id), r);
    /* A member who joins after the close is not in it and sees nothing. */
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Léon", late, key, &idx),
                     0);
    assert_int_equal(idx, -1);
    assert_null(hub_room_of(f->g, late));
}

/* Issue 12: the warning before a step's end is a group setting, one minute
 * by default, 0 (none) to ten minutes; a refused value changes nothing, and
 * the store's snapshot of the group carries it. */
static void warn_before_is_bounded_and_kept_in_the_snapshot(void **state)
{
    struct fixture *f = *state;
    const struct {
        long long seconds;
        int want;
        int now; /* the setting afterwards */
    } cases[] = {
        {120, 0, 120},
        {0, 0, 0},
        {HUB_WARN_BEFORE_MAX_S, 0, HUB_WARN_BEFORE_MAX_S},
        {-1, CODEV_E_BAD_FIELD, HUB_WARN_BEFORE_MAX_S},
        {HUB_WARN_BEFORE_MAX_S + 1, CODEV_E_BAD_FIELD, HUB_WARN_BEFORE_MAX_S},
        {1LL << 40, CODEV_E_BAD_FIELD, HUB_WARN_BEFORE_MAX_S},
        {-(1LL << 40), CODEV_E_BAD_FIELD, HUB_WARN_BEFORE_MAX_S},
        {45, 0, 45},
    };
    struct hub_group *snap;

    assert_int_equal(f->g->warn_before_s, HUB_WARN_BEFORE_DEFAULT_S);
    assert_int_equal(HUB_WARN_BEFORE_DEFAULT_S, 60);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hub_group_warn_before_set(f->g, cases[i].seconds),
                         cases[i].want);
        assert_int_equal(f->g->warn_before_s, cases[i].now);
    }
    snap = hub_group_snapshot_new(f->g);
    assert_non_null(snap);
    assert_int_equal(snap->warn_before_s, 45);
    hub_group_snapshot_free(snap);
}

/* The template (hub_settings.c): the format's defaults, each step bounded,
 * the whole session bounded (a half-day counts its steps twice), used by
 * the next room and kept in the snapshot the store writes. */
static void the_template_is_bounded_and_starts_the_next_room(void **state)
{
    struct fixture *f = *state;
    int m[STEP_COUNT], want[STEP_COUNT];
    struct hub_group *snap;

    assert_int_equal(f->g->step_min[STEP_OPENING], 10);
    assert_int_equal(f->g->step_min[STEP_CLOSED], 0);
    assert_int_equal(hub_group_format_set(f->g, 60), CODEV_E_BAD_FIELD);
    assert_int_equal(f->g->format, 90);
    assert_int_equal(hub_group_format_set(f->g, HUB_FORMAT_HALF_DAY), 0);
    assert_int_equal(hub_format_consultations(f->g->format), 2);
    assert_int_equal(hub_format_consultations(90), 1);
    memcpy(m, f->g->step_min, sizeof(m));
    memcpy(want, m, sizeof(m));
    m[STEP_OPENING] = 0; /* each step at least a minute */
    assert_int_equal(hub_group_template_set(f->g, m), CODEV_E_BAD_FIELD);
    m[STEP_OPENING] = HUB_STEP_MIN_MAX + 1;
    assert_int_equal(hub_group_template_set(f->g, m), CODEV_E_BAD_FIELD);
    m[STEP_OPENING] = 15;
    m[STEP_CLOSED] = 1; /* the closed step has no time */
    assert_int_equal(hub_group_template_set(f->g, m), CODEV_E_BAD_FIELD);
    m[STEP_CLOSED] = 0;
    /* 15 + 2 x (10+10+25+10+c+10+10): c = 157 is 479, 158 is 481. */
    m[STEP_CONSULTATION] = 158;
    assert_int_equal(hub_group_template_set(f->g, m), CODEV_E_BAD_FIELD);
    assert_memory_equal(f->g->step_min, want, sizeof(want));
    m[STEP_CONSULTATION] = 157;
    assert_int_equal(hub_group_template_set(f->g, m), 0);
    /* The same steps fit once under the 120-minute format's single consultation. */
    assert_int_equal(hub_template_check(120, m), 0);
    snap = hub_group_snapshot_new(f->g);
    assert_non_null(snap);
    assert_memory_equal(snap->step_min, m, sizeof(m));
    hub_group_snapshot_free(snap);
    assert_int_equal(hub_session_open(f->hub, f->g, 1000), 0);
    assert_int_equal(f->g->room->budget_ms[STEP_CONSULTATION], 157 * 60000);
    assert_int_equal(f->g->room->clock.budget_ms, 15 * 60000);
}

/* Ground rules: at most HUB_RULES_MAX, each one non-blank line of at most
 * HUB_RULE_MAX_CHARS code points; null is the default list; copied in the
 * snapshot. */
static void ground_rules_are_bounded_lines(void **state)
{
    struct fixture *f = *state;
    char long_rule[HUB_RULE_MAX_CHARS * 2 + 3];
    const char *nine[HUB_RULES_MAX + 1];
    const char *two[] = {"Confidentialité", "Écoute"};
    const char *bad[] = {"", "   ", "a\nb", "tab\tx", "c1\xc2\x85x", "del\x7fx"};
    const int why[] = {CODEV_E_TEXT_EMPTY, CODEV_E_TEXT_EMPTY, CODEV_E_BAD_FIELD,
                       CODEV_E_BAD_FIELD,  CODEV_E_BAD_FIELD,  CODEV_E_BAD_FIELD};
    struct hub_group *snap;

    assert_false(f->g->rules_set);
    for (size_t i = 0; i < HUB_RULES_MAX + 1; i++)
        nine[i] = "r";
    assert_int_equal(hub_group_rules_set(f->g, nine, HUB_RULES_MAX + 1),
                     CODEV_E_BAD_FIELD);
    assert_int_equal(hub_group_rules_set(f->g, nine, HUB_RULES_MAX), 0);
    assert_int_equal(f->g->nrules, HUB_RULES_MAX);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hub_group_rules_set(f->g, &bad[i], 1), why[i]);
    /* 200 two-byte code points pass, 201 do not. */
    for (size_t i = 0; i < HUB_RULE_MAX_CHARS; i++)
        memcpy(long_rule + 2 * i, "\xc3\xa9", 2);
    long_rule[2 * HUB_RULE_MAX_CHARS] = '\0';
    const char *one = long_rule;
    assert_int_equal(hub_group_rules_set(f->g, &one, 1), 0);
    memcpy(long_rule + 2 * HUB_RULE_MAX_CHARS, "\xc3\xa9", 3);
    assert_int_equal(hub_group_rules_set(f->g, &one, 1), CODEV_E_TEXT_TOO_LONG);
    assert_int_equal(f->g->nrules, 1); /* unchanged by the refusals */
    assert_int_equal(hub_group_rules_set(f->g, two, 2), 0);
    snap = hub_group_snapshot_new(f->g);
    assert_non_null(snap);
    assert_true(snap->rules_set);
    assert_int_equal(snap->nrules, 2);
    assert_string_equal(snap->rules[1], "Écoute");
    hub_group_snapshot_free(snap);
    assert_int_equal(hub_group_rules_set(f->g, NULL, 0), 0);
    assert_false(f->g->rules_set);
    assert_int_equal(f->g->nrules, 0);
}

/* Removal between sessions: not the facilitator, not twice, not while a
 * session is open; the key and the invite die, the rota forgets them. */
static void a_member_removed_between_sessions_loses_key_invite_and_rota(void **state)
{
    struct fixture *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], id2[AUTH_UUID_LEN + 1],
        key2[AUTH_SECRET_LEN + 1];
    const char *clients[1], *facs[1];
    int idx;

    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Marc", id, key, &idx), 0);
    assert_int_equal(hub_member_join(f->hub, f->g, f->invite, "Léa", id2, key2, &idx), 0);
    clients[0] = id;
    facs[0] = id2;
    assert_int_equal(hub_rota_set(f->g, clients, facs, 1), 0);
    assert_int_equal(hub_member_remove(f->g, f->fac_id), CODEV_E_BAD_TARGET);
    assert_int_equal(hub_member_remove(f->g, "nobody"), CODEV_E_UNKNOWN_MEMBER);
    assert_int_equal(hub_member_remove(f->g, NULL), CODEV_E_UNKNOWN_MEMBER);
    assert_true(hub_invite_check(f->g, f->invite));
    assert_int_equal(hub_member_remove(f->g, id), 0);
    assert_true(hub_member_auth(f->g, key)->removed);
    assert_false(hub_invite_check(f->g, f->invite));
    assert_string_equal(f->g->rota[0].client, "");
    assert_string_equal(f->g->rota[0].facilitator, id2);
    assert_int_equal(hub_member_remove(f->g, id), CODEV_E_UNKNOWN_MEMBER);
    assert_int_equal(hub_session_open(f->hub, f->g, 1000), 0);
    assert_int_equal(hub_member_remove(f->g, id2), CODEV_E_SESSION_OPEN);
    assert_false(hub_member_auth(f->g, key2)->removed);
    assert_int_equal(room_member_find(f->g->room, id), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_group_has_its_facilitator_and_fresh_secrets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(secrets_are_stored_only_as_hashes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_group_settings_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(names_refuse_invisible_and_bidi_characters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_group_limit_is_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_opens_only_its_own_group, setup, teardown),
        cmocka_unit_test_setup_teardown(
            joining_needs_the_invite_and_respects_the_member_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(a_display_token_is_a_rotatable_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_rotated_invite_replaces_the_old_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(one_session_at_a_time_within_the_server_limit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_member_joining_during_a_session_enters_the_room,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_action_plan_waits_for_the_next_session_debrief, setup, teardown),
        cmocka_unit_test_setup_teardown(what_the_room_decides_becomes_true_of_the_group,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            removed_members_free_their_place_and_kill_the_invite, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_closed_room_keeps_no_text_under_personal_retention, setup, teardown),
        cmocka_unit_test(format_budgets_follow_the_practice_table),
        cmocka_unit_test(one_address_is_held_to_its_own_group_and_session_caps),
        cmocka_unit_test(loading_counts_groups_and_sessions_by_creator),
        cmocka_unit_test_setup_teardown(warn_before_is_bounded_and_kept_in_the_snapshot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_template_is_bounded_and_starts_the_next_room,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(ground_rules_are_bounded_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_client_who_never_debriefs_keeps_only_the_newest_items_waiting, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_rolled_back_close_makes_what_it_expired_wait_again, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_member_removed_between_sessions_loses_key_invite_and_rota, setup, teardown),
    };
    return cmocka_run_group_tests_name("hub", tests, NULL, NULL);
}
