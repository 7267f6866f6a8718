/* test_mta_events.c - event catalogue consistency, level filtering, JSON escaping */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_catalogue_unique_and_complete(void **state)
{
    (void)state;
    for (size_t i = 0; i < ox_event_catalogue_len; i++) {
        const ox_event_def *d = &ox_event_catalogue[i];
        assert_non_null(d->name);
        assert_true(strlen(d->meaning) > 10);
        assert_true(strlen(d->action) >= 5);
        assert_true(d->level == 1 || d->level == 3 || d->level == 5);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(d->id, ox_event_catalogue[j].id);
            assert_string_not_equal(d->name, ox_event_catalogue[j].name);
        }
    }
    /* The seed IDs keep their Exchange meaning and category. */
    static const struct {
        unsigned id;
        ox_log_category cat;
    } seeds[] = {{289, OX_CAT_X400_SERVICE},  {1028, OX_CAT_X400_SERVICE},
                 {1294, OX_CAT_X400_SERVICE}, {9277, OX_CAT_INTERFACE},
                 {9311, OX_CAT_INTERFACE},    {9316, OX_CAT_INTERFACE},
                 {9318, OX_CAT_INTERFACE},    {9322, OX_CAT_INTERFACE}};
    for (size_t i = 0; i < OX_ARRAY_LEN(seeds); i++) {
        const ox_event_def *d = ox_event_lookup(seeds[i].id);
        assert_non_null(d);
        assert_int_equal(d->category, seeds[i].cat);
    }
}

/* An event log in a new file named from |path| (a mkstemp template). */
static void open_temp_log(ox_eventlog *log, char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ox_eventlog_open(log, path, NULL), 0);
}

static void test_emit_filter_and_escape(void **state)
{
    (void)state;
    char path[] = "/tmp/ox-events-XXXXXX";
    ox_eventlog log;
    open_temp_log(&log, path);
    uint8_t levels[OX_CAT_COUNT];
    memset(levels, OX_LEVEL_MINIMUM, sizeof(levels));
    levels[OX_CAT_SECURITY] = OX_LEVEL_NONE;
    ox_eventlog_set_levels(&log, levels);
    ox_event_ctx ctx = {.ltab = 5, .connector = "siteb", .peer = "SITE\"B\n", .code = 1723};
    /* 1 784 000 000 000 ms = 2026-07-14T03:33:20Z */
    assert_true(ox_event_emit(&log, 1784000000000ull, OX_EV_BINDBACK_FAILED, &ctx,
                              "bindback to %s failed", "127.0.0.1:1"));
    assert_false(ox_event_emit(&log, 0, OX_EV_MSG_RECEIVED, NULL, "medium: filtered"));
    assert_false(ox_event_emit(&log, 0, OX_EV_BIND_AUTH_FAILED, NULL, "security none"));
    ox_eventlog_close(&log);
    FILE *f = fopen(path, "r");
    char line[2048];
    assert_non_null(fgets(line, sizeof(line), f));
    assert_null(fgets(line + 1000, 1000, f)); /* exactly one line written */
    fclose(f);
    unlink(path);
    assert_non_null(strstr(line, "\"time\":\"2026-07-14T03:33:20.000Z\""));
    assert_non_null(strstr(line, "\"id\":9322"));
    assert_non_null(strstr(line, "\"ltab\":5"));
    assert_non_null(strstr(line, "\"category\":\"interface\""));
    assert_non_null(strstr(line, "\"peer\":\"SITE\\\"B\\n\""));
    assert_non_null(strstr(line, "\"code\":1723"));
    assert_non_null(strstr(line, "\"text\":\"bindback to 127.0.0.1:1 failed\""));
}

/* Whole lines, byte for byte: the time's second is formatted once and reused, so events in
 * the same second, the next second and with a negative code each get their own. */
static void test_emit_whole_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/ox-events-XXXXXX";
    ox_eventlog log;
    open_temp_log(&log, path);
    snprintf(log.source, sizeof(log.source), "MTA SITEA");
    ox_event_ctx ctx = {.msgid = "A/1", .peer = "SITEB", .address = "127.0.0.1:102"};
    assert_true(ox_event_emit(&log, 1784000000007ull, OX_EV_OPEN_FAILED, &ctx, "t\x7f%d", 1));
    assert_true(ox_event_emit(&log, 1784000000999ull, OX_EV_OPEN_FAILED, NULL, "second"));
    ctx = (ox_event_ctx){.connector = "c", .code = -104};
    assert_true(ox_event_emit(&log, 1784000061234ull, OX_EV_OPEN_FAILED, &ctx, "%s", ""));
    ox_eventlog_close(&log);
    FILE *f = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    unlink(path);
    text[n] = 0;
    assert_string_equal(
        text, "{\"time\":\"2026-07-14T03:33:20.007Z\",\"id\":289,\"name\":\"open-failed\","
              "\"source\":\"MTA SITEA\",\"category\":\"x400-service\",\"level\":\"minimum\","
              "\"peer\":\"SITEB\",\"address\":\"127.0.0.1:102\",\"msgid\":\"A/1\","
              "\"text\":\"t\\u007f1\"}\n"
              "{\"time\":\"2026-07-14T03:33:20.999Z\",\"id\":289,\"name\":\"open-failed\","
              "\"source\":\"MTA SITEA\",\"category\":\"x400-service\",\"level\":\"minimum\","
              "\"text\":\"second\"}\n"
              "{\"time\":\"2026-07-14T03:34:21.234Z\",\"id\":289,\"name\":\"open-failed\","
              "\"source\":\"MTA SITEA\",\"category\":\"x400-service\",\"level\":\"minimum\","
              "\"connector\":\"c\",\"code\":-104,\"text\":\"\"}\n");
}

/* The longest line (every field cut at its limit, every character escaped to six octets)
 * is written whole and ends the JSON object. */
static void test_emit_longest_line_whole(void **state)
{
    (void)state;
    char path[] = "/tmp/ox-events-XXXXXX";
    ox_eventlog log;
    open_temp_log(&log, path);
    char field[300], text[1100];
    memset(field, 0x01, sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    memset(text, 0x02, sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    ox_event_ctx ctx = {.connector = field, .peer = field, .address = field, .msgid = field};
    assert_true(ox_event_emit(&log, 0, OX_EV_BINDBACK_FAILED, &ctx, "%s", text));
    ox_eventlog_close(&log);
    FILE *f = fopen(path, "r");
    static char line[32768];
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(path);
    size_t n = strlen(line);
    assert_true(n > 4 * 200 * 6 + 1023 * 6);
    assert_string_equal(line + n - 9, "\\u0002\"}\n"); /* the text's last character, the end */
    assert_non_null(strstr(line, "\\u0001...\",\"peer\":")); /* fields cut at 200, marked */
    size_t escapes = 0;
    for (const char *p = line; (p = strstr(p, "\\u0002")); p++)
        escapes++;
    assert_int_equal(escapes, 1023); /* the text, cut at its 1,023 characters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_unique_and_complete),
        cmocka_unit_test(test_emit_filter_and_escape),
        cmocka_unit_test(test_emit_whole_lines),
        cmocka_unit_test(test_emit_longest_line_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
