/*
 * test_rules.c - the permission table (src/rules.c), exhaustively.
 *
 * The table is transcribed here a second time, in another form: one string
 * per action listing, for each role, the steps it may act in
 * ("F:topic C:topic K:topic"). The order of refusals is transcribed from
 * rules.h as plain ifs. One test per action then walks every role x step
 * and asserts the exact code rules_check returns, so a changed row, a
 * changed flag or a changed check order each fail a named test.
 *
 * The rules table of proto/README.md section 2.3 is the third form: one row
 * per command, one cell per step, the roles allowed. readme_rules_table_
 * matches_rules_c reads it (CODEV_PROTO_README, set by meson) and compares
 * every command x role x step with rules_check on the command's action.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "room.h"
#include "rules.h"

/* "*" stands for every step of an open session: opening ... learning. */
struct spec {
    enum rules_action action;
    const char *name;
    const char *who;
};

static const struct spec specs[] = {
    {RULES_STEP_MOVE, "step_move", "F:*"},
    {RULES_TIMER, "timer", "F:*"},
    {RULES_CLIENT_ASSIGN, "client_assign", "F:topic"},
    {RULES_HANDOVER, "handover", "F:*"},
    {RULES_MEMBER_REMOVE, "member_remove", "F:*"},
    {RULES_ROLE_SET, "role_set", "F:*"},
    {RULES_SESSION_CLOSE, "session_close", "F:*"},
    {RULES_CHECKIN, "checkin", "F:opening K:opening"},
    {RULES_TOPIC_PROPOSE, "topic_propose", "F:topic C:topic K:topic"},
    {RULES_PROBLEM_SET, "problem_set", "C:expose,clarification"},
    {RULES_QUESTION_ASK, "question_ask", "K:clarification"},
    {RULES_QUESTION_ANSWER, "question_answer", "C:clarification"},
    {RULES_QUESTION_FLAG, "question_flag", "F:clarification"},
    {RULES_REFORMULATION, "reformulation", "K:contract"},
    {RULES_CONTRACT_SET, "contract_set", "C:contract"},
    {RULES_CONTRACT_ACK, "contract_ack", "K:contract"},
    {RULES_CONTRIBUTION, "contribution", "K:consultation"},
    {RULES_MARK, "mark", "C:consultation,synthesis"},
    {RULES_RECADRAGE, "recadrage", "C:consultation"},
    {RULES_ACTION_WRITE, "action_write", "C:synthesis"},
    {RULES_LEARNING, "learning", "F:learning C:learning K:learning"},
    {RULES_DEBRIEF, "debrief", "F:opening K:opening"},
    {RULES_HAND, "hand", "C:* K:*"},
    {RULES_NOTE, "note", "F:* C:* K:* O:*"},
    {RULES_COFACILITATOR, "cofacilitator", "F:*"},
    {RULES_RECLAIM, "reclaim", "K:*"},
    {RULES_FLOOR_GIVE, "floor_give", "F:*"},
    {RULES_FLOOR_END, "floor_end", "F:* C:* K:*"},
    {RULES_ROUND, "round", "F:opening,clarification,consultation,learning"},
    {RULES_TURN_PASS, "turn_pass",
     "F:opening,clarification,consultation,learning "
     "C:opening,clarification,consultation,learning "
     "K:opening,clarification,consultation,learning"},
    {RULES_RECADRAGE_ACK, "recadrage_ack", "F:consultation"},
    {RULES_CARD_OWN, "card_own", "F:* C:* K:*"},
};

/* What the client may still do during the consultation (proto 2.3). */
static const enum rules_action muted_ok[] = {RULES_MARK, RULES_RECADRAGE, RULES_NOTE,
                                             RULES_CARD_OWN};

static const char role_letters[ROLE_COUNT] = {
    [ROLE_FACILITATOR] = 'F',
    [ROLE_CLIENT] = 'C',
    [ROLE_CONSULTANT] = 'K',
    [ROLE_OBSERVER] = 'O',
};

/* Literal wire names, independent of rules.c's table. */
static const char *const step_words[STEP_COUNT] = {
    "opening",      "topic",     "expose",   "clarification", "contract",
    "consultation", "synthesis", "learning", "closed",
};

/* Returns the step list of role letter in who ("" when absent). */
static const char *spec_steps_of(const char *who, char letter, char *buf, size_t cap)
{
    const char *p = who;

    buf[0] = '\0';
    while ((p = strchr(p, letter)) != NULL) {
        if ((p == who || p[-1] == ' ') && p[1] == ':') {
            size_t n = strcspn(p + 2, " ");

            if (n >= cap)
                n = cap - 1;
            memcpy(buf, p + 2, n);
            buf[n] = '\0';
            return buf;
        }
        p++;
    }
    return buf;
}

/* Does the comma-separated list name step s ("*" naming every open step)? */
static bool spec_list_has(const char *list, enum step s)
{
    char copy[256];
    char *save = NULL;

    snprintf(copy, sizeof(copy), "%s", list);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "*") == 0 && s != STEP_CLOSED)
            return true;
        if (strcmp(tok, step_words[s]) == 0)
            return true;
    }
    return false;
}

static bool spec_role_listed(const struct spec *sp, enum role r)
{
    char buf[256];

    return spec_steps_of(sp->who, role_letters[r], buf, sizeof(buf))[0] != '\0';
}

static bool spec_allows(const struct spec *sp, enum role r, enum step s)
{
    char buf[256];

    return spec_list_has(spec_steps_of(sp->who, role_letters[r], buf, sizeof(buf)), s);
}

/* An action is facilitator-only when the facilitator is the only role
 * listed for it. */
static bool spec_facilitator_only(const struct spec *sp)
{
    return spec_role_listed(sp, ROLE_FACILITATOR) && !spec_role_listed(sp, ROLE_CLIENT) &&
           !spec_role_listed(sp, ROLE_CONSULTANT) && !spec_role_listed(sp, ROLE_OBSERVER);
}

static bool spec_muted_ok(enum rules_action a)
{
    for (size_t i = 0; i < sizeof(muted_ok) / sizeof(muted_ok[0]); i++)
        if (muted_ok[i] == a)
            return true;
    return false;
}

/* The order of rules.h, written out. */
static int spec_expected(const struct spec *sp, enum role r, enum step s)
{
    if (s == STEP_CLOSED)
        return CODEV_E_SESSION_CLOSED;
    if (r == ROLE_OBSERVER && sp->action != RULES_NOTE)
        return CODEV_E_OBSERVER_READ_ONLY;
    if (spec_facilitator_only(sp) && r != ROLE_FACILITATOR)
        return CODEV_E_NOT_FACILITATOR;
    if (r == ROLE_CLIENT && s == STEP_CONSULTATION && !spec_muted_ok(sp->action))
        return CODEV_E_CLIENT_MUTED;
    if (!spec_role_listed(sp, r))
        return CODEV_E_NOT_YOUR_ROLE;
    if (!spec_allows(sp, r, s))
        return CODEV_E_WRONG_STEP;
    return 0;
}

/* One test per action: every role x step gives exactly the expected code. */
static void rules_row_matches_transcription(void **state)
{
    const struct spec *sp = *state;

    for (int r = 0; r < ROLE_COUNT; r++) {
        for (int s = 0; s < STEP_COUNT; s++) {
            int want = spec_expected(sp, (enum role)r, (enum step)s);
            int got = rules_check(sp->action, (enum role)r, (enum step)s);

            if (want != got)
                fail_msg("%s by %c in %s: want %s, got %s", sp->name, role_letters[r],
                         step_words[s], want ? codev_err_name(want) : "ok",
                         got ? codev_err_name(got) : "ok");
        }
    }
}

static void transcription_covers_every_action_once(void **state)
{
    int seen[RULES_ACTION_COUNT] = {0};

    assert_int_equal(sizeof(specs) / sizeof(specs[0]), RULES_ACTION_COUNT);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        seen[specs[i].action]++;
    for (int a = 0; a < RULES_ACTION_COUNT; a++)
        assert_int_equal(seen[a], 1);
}

static void every_action_is_allowed_to_someone_somewhere(void **state)
{
    for (int a = 0; a < RULES_ACTION_COUNT; a++) {
        bool any = false;

        for (int r = 0; r < ROLE_COUNT; r++)
            for (int s = 0; s < STEP_COUNT; s++)
                any |= rules_check((enum rules_action)a, (enum role)r, (enum step)s) == 0;
        assert_true(any);
    }
}

static void client_cannot_post_during_consultation(void **state)
{
    assert_int_equal(rules_check(RULES_CONTRIBUTION, ROLE_CLIENT, STEP_CONSULTATION),
                     CODEV_E_CLIENT_MUTED);
    assert_int_equal(rules_check(RULES_HAND, ROLE_CLIENT, STEP_CONSULTATION),
                     CODEV_E_CLIENT_MUTED);
    assert_int_equal(rules_check(RULES_ACTION_WRITE, ROLE_CLIENT, STEP_CONSULTATION),
                     CODEV_E_CLIENT_MUTED);
}

static void client_may_mark_signal_recadrage_and_note_during_consultation(void **state)
{
    assert_int_equal(rules_check(RULES_MARK, ROLE_CLIENT, STEP_CONSULTATION), 0);
    assert_int_equal(rules_check(RULES_RECADRAGE, ROLE_CLIENT, STEP_CONSULTATION), 0);
    assert_int_equal(rules_check(RULES_NOTE, ROLE_CLIENT, STEP_CONSULTATION), 0);
}

static void client_hand_is_muted_only_in_consultation(void **state)
{
    assert_int_equal(rules_check(RULES_HAND, ROLE_CLIENT, STEP_CLARIFICATION), 0);
    assert_int_equal(rules_check(RULES_HAND, ROLE_CLIENT, STEP_SYNTHESIS), 0);
    assert_int_equal(rules_check(RULES_HAND, ROLE_CONSULTANT, STEP_CONSULTATION), 0);
}

static void facilitator_powers_from_others_get_not_facilitator(void **state)
{
    assert_int_equal(rules_check(RULES_STEP_MOVE, ROLE_CONSULTANT, STEP_TOPIC),
                     CODEV_E_NOT_FACILITATOR);
    assert_int_equal(rules_check(RULES_QUESTION_FLAG, ROLE_CLIENT, STEP_CLARIFICATION),
                     CODEV_E_NOT_FACILITATOR);
    /* Facilitator-only wins over the client's silence. */
    assert_int_equal(rules_check(RULES_TIMER, ROLE_CLIENT, STEP_CONSULTATION),
                     CODEV_E_NOT_FACILITATOR);
}

static void role_that_never_acts_gets_not_your_role(void **state)
{
    assert_int_equal(
        rules_check(RULES_QUESTION_ASK, ROLE_FACILITATOR, STEP_CLARIFICATION),
        CODEV_E_NOT_YOUR_ROLE);
    assert_int_equal(rules_check(RULES_HAND, ROLE_FACILITATOR, STEP_TOPIC),
                     CODEV_E_NOT_YOUR_ROLE);
    assert_int_equal(rules_check(RULES_CHECKIN, ROLE_CLIENT, STEP_OPENING),
                     CODEV_E_NOT_YOUR_ROLE);
}

static void allowed_role_in_another_step_gets_wrong_step(void **state)
{
    assert_int_equal(rules_check(RULES_QUESTION_ASK, ROLE_CONSULTANT, STEP_EXPOSE),
                     CODEV_E_WRONG_STEP);
    assert_int_equal(rules_check(RULES_CLIENT_ASSIGN, ROLE_FACILITATOR, STEP_EXPOSE),
                     CODEV_E_WRONG_STEP);
    assert_int_equal(rules_check(RULES_PROBLEM_SET, ROLE_CLIENT, STEP_CONTRACT),
                     CODEV_E_WRONG_STEP);
}

static void observer_can_only_write_notes(void **state)
{
    for (int a = 0; a < RULES_ACTION_COUNT; a++) {
        int want = a == RULES_NOTE ? 0 : CODEV_E_OBSERVER_READ_ONLY;

        assert_int_equal(rules_check((enum rules_action)a, ROLE_OBSERVER, STEP_TOPIC),
                         want);
    }
}

static void closed_session_refuses_everything_even_notes(void **state)
{
    for (int a = 0; a < RULES_ACTION_COUNT; a++)
        for (int r = 0; r < ROLE_COUNT; r++)
            assert_int_equal(rules_check((enum rules_action)a, (enum role)r, STEP_CLOSED),
                             CODEV_E_SESSION_CLOSED);
}

static void out_of_range_values_are_refused_not_trusted(void **state)
{
    assert_int_equal(rules_check(RULES_ACTION_COUNT, ROLE_FACILITATOR, STEP_TOPIC),
                     CODEV_E_INTERNAL);
    assert_int_equal(rules_check(RULES_NOTE, ROLE_COUNT, STEP_TOPIC), CODEV_E_INTERNAL);
    assert_int_equal(rules_check(RULES_NOTE, ROLE_FACILITATOR, STEP_COUNT),
                     CODEV_E_INTERNAL);
    assert_int_equal(rules_check((enum rules_action) - 1, ROLE_FACILITATOR, STEP_TOPIC),
                     CODEV_E_INTERNAL);
}

static void step_names_are_the_wire_names_and_round_trip(void **state)
{
    for (int s = 0; s < STEP_COUNT; s++) {
        assert_string_equal(step_name((enum step)s), step_words[s]);
        assert_int_equal(step_from_name(step_words[s]), s);
    }
    assert_null(step_name(STEP_COUNT));
    assert_null(step_name((enum step) - 1));
    assert_int_equal(step_from_name("Opening"), -1);
    assert_int_equal(step_from_name(""), -1);
    assert_int_equal(step_from_name(NULL), -1);
}

static void role_names_are_the_wire_names(void **state)
{
    assert_string_equal(role_name(ROLE_FACILITATOR), "facilitator");
    assert_string_equal(role_name(ROLE_CLIENT), "client");
    assert_string_equal(role_name(ROLE_CONSULTANT), "consultant");
    assert_string_equal(role_name(ROLE_OBSERVER), "observer");
    assert_null(role_name(ROLE_COUNT));
}

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* Reads the whole of path into a new NUL-terminated buffer, or fails. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Parses one cell of the README's rules table ("F C K O" letters, or "—"
 * for nobody) into a bit per enum role. Fails on anything else. */
static unsigned readme_cell_roles(const char *cell, const char *where)
{
    unsigned roles = 0;

    if (strcmp(cell, "—") == 0)
        return 0;
    for (const char *p = cell; *p; p++) {
        switch (*p) {
        case 'F':
            roles |= 1u << ROLE_FACILITATOR;
            break;
        case 'C':
            roles |= 1u << ROLE_CLIENT;
            break;
        case 'K':
            roles |= 1u << ROLE_CONSULTANT;
            break;
        case 'O':
            roles |= 1u << ROLE_OBSERVER;
            break;
        case ' ':
            break;
        default:
            fail_msg("%s: cell \"%s\" is not roles or —", where, cell);
        }
    }
    assert_true(roles != 0);
    return roles;
}

/* The rules table of proto/README.md section 2.3 says, for every command
 * and step, which roles rules.c lets through: the header names every step
 * in enum order, every command has exactly one row, and every cell is the
 * set of roles whose rules_check is 0. */
static void readme_rules_table_matches_rules_c(void **state)
{
    char *readme = read_text(CODEV_PROTO_README);
    char *section = strstr(readme, "### 2.3 Commands");
    char *end = section ? strstr(section, "### 2.4 Events") : NULL;
    char *header = section ? strstr(section, "| command |") : NULL;
    bool seen[CMD_TYPE_COUNT] = {false};
    char *line, *save = NULL;
    int rows = 0;

    (void)state;
    assert_non_null(end);
    assert_true(header && header < end);
    *end = '\0';
    for (line = strtok_r(header, "\n", &save); line && line[0] == '|';
         line = strtok_r(NULL, "\n", &save)) {
        char *cells[STEP_COUNT + 2];
        int n = 0;
        char *cell, *csave = NULL;

        for (cell = strtok_r(line, "|", &csave); cell && n < STEP_COUNT + 2;
             cell = strtok_r(NULL, "|", &csave)) {
            while (*cell == ' ')
                cell++;
            for (char *e = cell + strlen(cell); e > cell && e[-1] == ' '; e--)
                e[-1] = '\0';
            cells[n++] = cell;
        }
        assert_int_equal(n, STEP_COUNT + 1);
        if (strcmp(cells[0], "command") == 0) { /* the header: steps in order */
            for (int s = 0; s < STEP_COUNT; s++) {
                char want[32];
                snprintf(want, sizeof(want), "`%s`", step_name((enum step)s));
                assert_string_equal(cells[s + 1], want);
            }
            continue;
        }
        if (strncmp(cells[0], "---", 3) == 0)
            continue;
        size_t len = strlen(cells[0]);
        assert_true(len > 2 && cells[0][0] == '`' && cells[0][len - 1] == '`');
        cells[0][len - 1] = '\0';
        int t = room_cmd_from_name(cells[0] + 1);
        if (t < 0)
            fail_msg("README rules table: unknown command %s", cells[0] + 1);
        if (seen[t])
            fail_msg("README rules table: %s twice", cells[0] + 1);
        seen[t] = true;
        rows++;
        for (int s = 0; s < STEP_COUNT; s++) {
            char where[96];
            snprintf(where, sizeof(where), "%s in %s", cells[0] + 1,
                     step_name((enum step)s));
            unsigned want = readme_cell_roles(cells[s + 1], where);
            for (int r = 0; r < ROLE_COUNT; r++) {
                bool allowed = rules_check(room_cmd_rules_action((enum room_cmd_type)t),
                                           (enum role)r, (enum step)s) == 0;
                if (allowed != ((want >> r) & 1u))
                    fail_msg("%s, %s: README says %s, rules.c says %s", where,
                             role_name((enum role)r),
                             (want >> r) & 1u ? "allowed" : "refused",
                             allowed ? "allowed" : "refused");
            }
        }
    }
    assert_int_equal(rows, CMD_TYPE_COUNT);
    free(readme);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(transcription_covers_every_action_once),
        cmocka_unit_test(every_action_is_allowed_to_someone_somewhere),
        cmocka_unit_test(client_cannot_post_during_consultation),
        cmocka_unit_test(client_may_mark_signal_recadrage_and_note_during_consultation),
        cmocka_unit_test(client_hand_is_muted_only_in_consultation),
        cmocka_unit_test(facilitator_powers_from_others_get_not_facilitator),
        cmocka_unit_test(role_that_never_acts_gets_not_your_role),
        cmocka_unit_test(allowed_role_in_another_step_gets_wrong_step),
        cmocka_unit_test(observer_can_only_write_notes),
        cmocka_unit_test(closed_session_refuses_everything_even_notes),
        cmocka_unit_test(out_of_range_values_are_refused_not_trusted),
        cmocka_unit_test(step_names_are_the_wire_names_and_round_trip),
        cmocka_unit_test(role_names_are_the_wire_names),
        cmocka_unit_test(readme_rules_table_matches_rules_c),
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    struct CMUnitTest tests[NFIXED + NSPECS];
    char names[NSPECS][64];

    for (size_t i = 0; i < NFIXED; i++)
        tests[i] = fixed[i];
    for (size_t i = 0; i < NSPECS; i++) {
        snprintf(names[i], sizeof(names[i]), "table_row_%s_gives_exact_codes",
                 specs[i].name);
        tests[NFIXED + i] = (struct CMUnitTest){
            .name = names[i],
            .test_func = rules_row_matches_transcription,
            .initial_state = (void *)&specs[i],
        };
    }
    return _cmocka_run_group_tests("rules", tests, NFIXED + NSPECS, NULL, NULL);
}
