/*
 * test_metrics.c - the registry and its text format (metrics.c): counter
 * and histogram shapes, label values only from fixed tables, escaping, a
 * buffer too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const char *label_of(unsigned id)
{
    return id == 3 ? "we\"ird\\route\n" : id == 1 ? "health" : "unknown";
}

/* Renders metrics_g with a few gauges; returns a new string. */
static char *render(void)
{
    struct metrics_gauges g = {
        .groups = 2, .open_sessions = 1, .version = "1.2.3", .route_label = label_of};
    size_t need = metrics_render(&metrics_g, &g, NULL, 0);
    char *buf = malloc(need + 1);
    size_t len;

    assert_non_null(buf);
    len = metrics_render(&metrics_g, &g, buf, need + 1);
    assert_int_equal(len, need);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static int reset(void **state)
{
    (void)state;
    memset(&metrics_g, 0, sizeof(metrics_g));
    metrics_g.cmd_type = -1;
    return 0;
}

static void every_family_has_help_and_type_and_counters_end_in_total(void **state)
{
    char *out = render();
    char *save = NULL, *line;
    char family[128] = "", type[16] = "";

    (void)state;
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            continue;
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s %15s", family, type), 2);
            if (strcmp(type, "counter") == 0) {
                size_t n = strlen(family);
                assert_true(n > 6 && strcmp(family + n - 6, "_total") == 0);
            }
        } else {
            /* A sample belongs to the family declared just before it. */
            assert_true(family[0]);
            assert_int_equal(strncmp(line, family, strlen(family)), 0);
        }
    }
    free(out);
}

static void a_histogram_is_cumulative_and_ends_with_inf_sum_and_count(void **state)
{
    char *out;

    (void)state;
    metrics_hist_observe(&metrics_g.hist[MH_TICK_LATE], MH_TICK_LATE, 0.0005);
    metrics_hist_observe(&metrics_g.hist[MH_TICK_LATE], MH_TICK_LATE, 0.003);
    metrics_hist_observe(&metrics_g.hist[MH_TICK_LATE], MH_TICK_LATE, 7.0);
    out = render();
    assert_non_null(strstr(out, "# TYPE codevd_tick_lateness_seconds histogram\n"));
    assert_non_null(strstr(out, "codevd_tick_lateness_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(out, "codevd_tick_lateness_seconds_bucket{le=\"0.002\"} 1\n"));
    assert_non_null(strstr(out, "codevd_tick_lateness_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(out, "codevd_tick_lateness_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(out, "codevd_tick_lateness_seconds_bucket{le=\"+Inf\"} 3\n"
                                "codevd_tick_lateness_seconds_sum 7.0035\n"
                                "codevd_tick_lateness_seconds_count 3\n"));
    /* The journal's histograms are the gauges' copies: empty, still whole. */
    assert_non_null(strstr(out, "codevd_journal_batch_records_bucket{le=\"+Inf\"} 0\n"));
    free(out);
}

static void commands_are_labelled_by_type_and_outcome_and_unknown_types_fold(void **state)
{
    int a = 1, b = 2;
    char *out;

    (void)state;
    metrics_cmd_begin(&a, CMD_STEP_NEXT);
    metrics_cmd_error(&b, CODEV_E_NOT_FACILITATOR); /* another connection: ignored */
    metrics_cmd_end(&a);
    metrics_cmd_begin(&a, CMD_STEP_NEXT);
    metrics_cmd_error(&a, CODEV_E_NOT_FACILITATOR);
    metrics_cmd_error(&a, CODEV_E_INTERNAL); /* only the first outcome counts */
    metrics_cmd_end(&a);
    metrics_cmd_begin(&a, 100000); /* out of range */
    metrics_cmd_error(&a, CODEV_E_UNKNOWN_TYPE);
    metrics_cmd(-5, 12345);                  /* neither a type nor a code */
    metrics_cmd_error(&a, CODEV_E_INTERNAL); /* nothing being handled: ignored */
    out = render();
    assert_non_null(
        strstr(out, "codevd_commands_total{type=\"step_next\",outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(
        out,
        "codevd_commands_total{type=\"step_next\",outcome=\"not_facilitator\"} 1\n"));
    assert_non_null(strstr(
        out, "codevd_commands_total{type=\"invalid\",outcome=\"unknown_type\"} 1\n"));
    assert_non_null(
        strstr(out, "codevd_commands_total{type=\"invalid\",outcome=\"internal\"} 1\n"));
    assert_null(strstr(out, "outcome=\"internal\"} 2"));
    free(out);
}

static void http_series_use_fixed_labels_and_escape_route_names(void **state)
{
    char *out;

    (void)state;
    metrics_http(1, MM_GET, 200);
    metrics_http(1, MM_GET, 200);
    metrics_http(3, MM_POST, 418); /* a status off the list */
    metrics_http(9999, 77, 404);   /* out of range: the last route, OTHER */
    out = render();
    assert_non_null(strstr(out, "codevd_http_requests_total{route=\"health\",method="
                                "\"GET\",status=\"200\"} 2\n"));
    assert_non_null(strstr(out,
                           "codevd_http_requests_total{route=\"we\\\"ird\\\\route\\n\","
                           "method=\"POST\",status=\"other\"} 1\n"));
    assert_non_null(strstr(out, "codevd_http_requests_total{route=\"unknown\",method="
                                "\"OTHER\",status=\"404\"} 1\n"));
    free(out);
}

static void plain_counters_and_gauges_are_there_from_the_start(void **state)
{
    char *out;

    (void)state;
    metrics_frame(100);
    metrics_frame(20);
    metrics_add(MC_SLOW_CONSUMER, 1);
    out = render();
    assert_non_null(strstr(out, "\ncodevd_ws_frames_sent_total 2\n"));
    assert_non_null(strstr(out, "\ncodevd_ws_sent_bytes_total 120\n"));
    assert_non_null(strstr(out, "\ncodevd_ws_slow_consumer_closes_total 1\n"));
    assert_non_null(strstr(out, "\ncodevd_store_errors_total 0\n"));
    assert_non_null(strstr(out, "\ncodevd_groups 2\n"));
    assert_non_null(strstr(out, "codevd_build_info{version=\"1.2.3\"} 1\n"));
    assert_non_null(strstr(out, "codevd_connections{state=\"websocket\"} 0\n"));
    free(out);
}

static void a_buffer_too_small_is_said_and_never_overrun(void **state)
{
    struct metrics_gauges g = {.version = "x", .route_label = label_of};
    char buf[64];
    size_t need;

    (void)state;
    memset(buf, 'Z', sizeof(buf));
    need = metrics_render(&metrics_g, &g, buf, 40);
    assert_true(need > 40);
    assert_int_equal(buf[39], '\0');
    assert_int_equal(buf[40], 'Z');
}

static void lateness_for_readiness_keeps_the_worst_of_two_windows(void **state)
{
    (void)state;
    assert_true(metrics_recent_lateness(1000000) == 0);
    metrics_g.late_max_cur = 2.5;
    assert_true(metrics_recent_lateness(1000000 + 5000) == 2.5);  /* same window */
    assert_true(metrics_recent_lateness(1000000 + 12000) == 2.5); /* the previous one */
    assert_true(metrics_recent_lateness(1000000 + 60000) == 0);   /* long gone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_family_has_help_and_type_and_counters_end_in_total,
                               reset),
        cmocka_unit_test_setup(a_histogram_is_cumulative_and_ends_with_inf_sum_and_count,
                               reset),
        cmocka_unit_test_setup(
            commands_are_labelled_by_type_and_outcome_and_unknown_types_fold, reset),
        cmocka_unit_test_setup(http_series_use_fixed_labels_and_escape_route_names,
                               reset),
        cmocka_unit_test_setup(plain_counters_and_gauges_are_there_from_the_start, reset),
        cmocka_unit_test_setup(a_buffer_too_small_is_said_and_never_overrun, reset),
        cmocka_unit_test_setup(lateness_for_readiness_keeps_the_worst_of_two_windows,
                               reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
