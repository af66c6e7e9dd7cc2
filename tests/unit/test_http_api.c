/*
 * test_http_api.c - the JSON API: routes, statuses, error bodies, keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"
#include "test_helpers.h"

static struct hub *new_hub(void)
{
    struct config cfg = test_config();

    return hub_new(&cfg);
}

struct call {
    int status;
    json_t *body;
    struct http_api_reply reply;
};

static struct call call(struct hub *h, enum http_api_method m, const char *path,
                        const char *auth, const char *body)
{
    struct call c;

    http_api_handle(h, NULL, NULL, m, path, NULL, auth, body, body ? strlen(body) : 0,
                    1000, &c.reply);
    c.status = c.reply.status;
    c.body = c.reply.body;
    return c;
}

static const char *error_code(const struct call *c)
{
    return json_string_value(json_object_get(json_object_get(c->body, "error"), "code"));
}

static const char *str(const struct call *c, const char *key)
{
    return json_string_value(json_object_get(c->body, key));
}

/* Creates a group; returns the reply (caller decrefs). */
static struct call create(struct hub *h)
{
    return call(
        h, HTTP_API_POST, "/api/groups", NULL,
        "{\"name\":\"Managers Lyon\",\"facilitator_name\":\"Léa\",\"language\":\"fr\","
        "\"format\":90}");
}

static void health_answers_ok(void **state)
{
    struct hub *h = new_hub();
    struct call c = call(h, HTTP_API_GET, "/api/health", NULL, NULL);

    (void)state;
    assert_int_equal(c.status, 200);
    assert_string_equal(str(&c, "status"), "ok");
    json_decref(c.body);
    c = call(h, HTTP_API_POST, "/api/health", NULL, NULL);
    assert_int_equal(c.status, 405);
    assert_string_equal(error_code(&c), "method_not_allowed");
    json_decref(c.body);
    hub_free(h);
}

static void health_reports_the_connections_the_edge_counts(void **state)
{
    struct hub *h = new_hub();
    const struct http_api_gate gate = {.connections = 7};
    struct http_api_reply reply;

    (void)state;
    http_api_handle(h, NULL, &gate, HTTP_API_GET, "/api/health", NULL, NULL, "", 0, 1000,
                    &reply);
    assert_int_equal(reply.status, 200);
    assert_int_equal(json_integer_value(json_object_get(reply.body, "connections")), 7);
    json_decref(reply.body);
    hub_free(h);
}

static void creating_a_group_returns_its_secrets(void **state)
{
    struct hub *h = new_hub();
    struct call c = create(h);

    (void)state;
    assert_int_equal(c.status, 201);
    assert_true(auth_uuid_wellformed(str(&c, "group_id")));
    assert_true(auth_uuid_wellformed(str(&c, "member_id")));
    assert_true(auth_secret_wellformed(str(&c, "member_key")));
    assert_true(auth_secret_wellformed(str(&c, "invite_code")));
    json_decref(c.body);
    hub_free(h);
}

static void bad_create_bodies_get_clear_errors(void **state)
{
    struct hub *h = new_hub();
    struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"", 400, "missing_field"},
        {"not json", 400, "bad_json"},
        {"[1,2]", 400, "bad_message"},
        {"{\"name\":\"G\"}", 400, "missing_field"},
        {"{\"name\":\"G\",\"facilitator_name\":\"F\",\"language\":\"fr\",\"format\":"
         "\"90\"}",
         400, "bad_field"},
        {"{\"name\":\"G\",\"facilitator_name\":\"F\",\"language\":\"xx\",\"format\":90}",
         400, "bad_field"},
        {"{\"name\":\"\",\"facilitator_name\":\"F\",\"language\":\"fr\",\"format\":90}",
         400, "bad_field"},
        {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", 400, "too_deep"},
        {"{\"name\":1,\"name\":2}", 400, "bad_json"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct call c = call(h, HTTP_API_POST, "/api/groups", NULL, cases[i].body);
        if (c.status != cases[i].status || strcmp(error_code(&c), cases[i].code) != 0)
            fail_msg("body %s: got %d %s, want %d %s", cases[i].body, c.status,
                     error_code(&c), cases[i].status, cases[i].code);
        json_decref(c.body);
    }
    assert_int_equal(h->ngroups, 0);
    hub_free(h);
}

/* The depth pre-check counts nesting, not brackets: brackets inside strings
 * (after an escaped quote too) and sibling arrays are no depth. */
static void brackets_in_names_are_not_nesting(void **state)
{
    struct hub *h = new_hub();
    const char *bodies[] = {
        "{\"name\":\"Team [a][b][c][d][e]\",\"facilitator_name\":\"F {x}{y}{z}{w}{v} "
        "\\\"[[[[[\",\"language\":\"fr\",\"format\":90}",
        "{\"name\":\"G\",\"x\":[[1],[2],[3],[4],[5]],\"facilitator_name\":\"F\","
        "\"language\":\"fr\",\"format\":90}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct call c = call(h, HTTP_API_POST, "/api/groups", NULL, bodies[i]);
        if (c.status != 201)
            fail_msg("body %s: got %d %s, want 201", bodies[i], c.status,
                     c.status == 201 ? "" : error_code(&c));
        json_decref(c.body);
    }
    assert_int_equal(h->ngroups, 2);
    hub_free(h);
}

static void unknown_paths_and_groups_are_404(void **state)
{
    struct hub *h = new_hub();
    const char *paths[] = {"/api",
                           "/api/",
                           "/api/nothing",
                           "/api/groups/123",
                           "/api/groups/00000000-0000-4000-8000-000000000000",
                           "/api/groups/00000000-0000-4000-8000-000000000000/members"};

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct call c = call(h, HTTP_API_GET, paths[i], NULL, NULL);
        assert_int_equal(c.status, 404);
        json_decref(c.body);
    }
    hub_free(h);
}

static void joining_reading_and_opening_need_the_right_secret(void **state)
{
    struct hub *h = new_hub();
    struct call g = create(h), c;
    char path[128], members[160], sessions[160], fac[160], mem[160], body[200];

    (void)state;
    snprintf(path, sizeof(path), "/api/groups/%s", str(&g, "group_id"));
    snprintf(members, sizeof(members), "%s/members", path);
    snprintf(sessions, sizeof(sessions), "%s/sessions", path);
    snprintf(fac, sizeof(fac), "Bearer %s", str(&g, "member_key"));

    c = call(h, HTTP_API_POST, members, NULL,
             "{\"invite_code\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"display_name\":\"Zoé\"}");
    assert_int_equal(c.status, 403);
    assert_string_equal(error_code(&c), "bad_invite");
    json_decref(c.body);

    snprintf(body, sizeof(body), "{\"invite_code\":\"%s\",\"display_name\":\"Zoé\"}",
             str(&g, "invite_code"));
    c = call(h, HTTP_API_POST, members, NULL, body);
    assert_int_equal(c.status, 201);
    assert_int_equal(c.reply.effect, HTTP_API_EFFECT_JOINED);
    assert_ptr_equal(c.reply.group, hub_group_find(h, str(&g, "group_id")));
    assert_int_equal(c.reply.joined_room_idx, -1);
    snprintf(mem, sizeof(mem), "Bearer %s", str(&c, "member_key"));
    json_decref(c.body);

    c = call(h, HTTP_API_GET, path, NULL, NULL);
    assert_int_equal(c.status, 401);
    json_decref(c.body);
    c = call(h, HTTP_API_GET, path, "Bearer AAAAAAAAAAAAAAAAAAAAAA", NULL);
    assert_int_equal(c.status, 401);
    json_decref(c.body);
    c = call(h, HTTP_API_GET, path, mem, NULL);
    assert_int_equal(c.status, 200);
    assert_int_equal(json_array_size(json_object_get(c.body, "members")), 2);
    assert_true(json_is_null(json_object_get(c.body, "session")));
    json_decref(c.body);

    c = call(h, HTTP_API_POST, sessions, mem, "{}");
    assert_int_equal(c.status, 403);
    assert_string_equal(error_code(&c), "not_facilitator");
    json_decref(c.body);
    c = call(h, HTTP_API_POST, sessions, fac, NULL);
    assert_int_equal(c.status, 201);
    assert_true(auth_uuid_wellformed(str(&c, "session_id")));
    assert_int_equal(c.reply.effect, HTTP_API_EFFECT_OPENED);
    assert_non_null(c.reply.group);
    json_decref(c.body);
    c = call(h, HTTP_API_POST, sessions, fac, "{}");
    assert_int_equal(c.status, 409);
    assert_string_equal(error_code(&c), "session_open");
    json_decref(c.body);

    c = call(h, HTTP_API_GET, path, fac, NULL);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c.body, "session"), "step")),
        "opening");
    json_decref(c.body);
    json_decref(g.body);
    hub_free(h);
}

/* The route table tells the edge, from method and path alone, which calls
 * need no key, which create a group and which read the disk. */
static void the_route_table_says_what_each_route_is(void **state)
{
    const char *gid = "/api/groups/0b6c7b1e-3f1a-4c2d-9e8f-1a2b3c4d5e6f";
    char p[200];

    (void)state;
    assert_int_equal(http_api_route_flags(HTTP_API_POST, "/api/groups"),
                     HTTP_API_ROUTE_KEYLESS | HTTP_API_ROUTE_CREATES);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, "/api/groups"), 0);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, "/api/health"), 0);
    snprintf(p, sizeof(p), "%s/members", gid);
    assert_int_equal(http_api_route_flags(HTTP_API_POST, p), HTTP_API_ROUTE_KEYLESS);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, p), 0);
    snprintf(p, sizeof(p), "%s/journal", gid);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, p), HTTP_API_ROUTE_READS_DISK);
    snprintf(p, sizeof(p), "%s/history", gid);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, p), HTTP_API_ROUTE_READS_DISK);
    snprintf(p, sizeof(p), "%s/sessions/%s/minutes", gid, gid + 12);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, p), HTTP_API_ROUTE_READS_DISK);
    snprintf(p, sizeof(p), "%s/sessions", gid);
    assert_int_equal(http_api_route_flags(HTTP_API_POST, p), 0);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, gid), 0);
    /* A suffix alone is not a route. */
    assert_int_equal(http_api_route_flags(HTTP_API_POST, "/api/elsewhere/members"), 0);
    assert_int_equal(http_api_route_flags(HTTP_API_GET, "/api/x/journal"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_answers_ok),
        cmocka_unit_test(health_reports_the_connections_the_edge_counts),
        cmocka_unit_test(creating_a_group_returns_its_secrets),
        cmocka_unit_test(bad_create_bodies_get_clear_errors),
        cmocka_unit_test(brackets_in_names_are_not_nesting),
        cmocka_unit_test(unknown_paths_and_groups_are_404),
        cmocka_unit_test(joining_reading_and_opening_need_the_right_secret),
        cmocka_unit_test(the_route_table_says_what_each_route_is),
    };
    return cmocka_run_group_tests_name("http_api", tests, NULL, NULL);
}
