/* test_mta_config.c - configuration loading: defaults, inheritance and file:line errors */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char good[] = "[mta]\n"
                           "name = SITEA\n"
                           "password = secretA\n"
                           "global-domain = /C=GB/A= /P=SiteA/\n"
                           "listen = 127.0.0.1:10102\n"
                           "local-address-space = /C=GB/A= /P=SiteA/\n"
                           "open-interval = 20m\n"
                           "\n"
                           "[log]\n"
                           "interface = maximum\n"
                           "security = 3\n"
                           "\n"
                           "[connector siteb]\n"
                           "kind = lan\n"
                           "peer-mta = SITEB\n"
                           "peer-address = 127.0.0.1:10103\n"
                           "address-space = /C=GB/A= /P=SiteB/ cost 2\n"
                           "threshold = 7\n"
                           "checkpoint-size = 8K\n"
                           "\n"
                           "[connector dial]\n"
                           "kind = ondemand\n"
                           "peer-mta = SITEC\n"
                           "peer-address = [::1]:10104\n"
                           "link-up = /bin/true\n"
                           "schedule = selected-times\n"
                           "window = Mon-Fri 08:00-17:00\n"
                           "window = Sun 23:00-01:00\n"
                           "bindback-address = [::1]:2000\n"
                           "address-space = /C=GB/A= /P=SiteC/\n";

static ox_mta_cfg *cfg_new(void)
{
    ox_mta_cfg *c = malloc(sizeof(*c));
    assert_non_null(c);
    return c;
}

static void test_good_file(void **state)
{
    (void)state;
    ox_mta_cfg *cfg = cfg_new();
    ox_config_diag d;
    int rc = ox_config_load_string(cfg, "good.ini", good, &d);
    if (rc)
        fprintf(stderr, "%s", d.text);
    assert_int_equal(rc, 0);
    assert_int_equal(d.errors, 0);
    assert_string_equal(cfg->name, "SITEA");
    assert_int_equal(cfg->listen_port, 10102);
    assert_int_equal(cfg->values.open_interval_s, 1200);
    assert_int_equal(cfg->log_level[OX_CAT_INTERFACE], OX_LEVEL_MAXIMUM);
    assert_int_equal(cfg->log_level[OX_CAT_SECURITY], 3);
    assert_int_equal(cfg->log_level[OX_CAT_APDU], OX_LEVEL_MINIMUM);
    assert_int_equal(cfg->n_connectors, 2);
    const ox_connector_cfg *b = ox_config_connector(cfg, "siteb");
    assert_non_null(b);
    assert_int_equal(b->values.threshold, 7);
    assert_int_equal(b->values.checkpoint_size, 8192);
    assert_int_equal(b->values.open_interval_s, 1200); /* inherited from [mta] */
    assert_int_equal(b->values.window_size, 5);        /* default */
    assert_int_equal(b->spaces[0].cost, 2);
    assert_string_equal(b->spaces[0].pattern, "/C=GB/A= /P=SiteB/");
    assert_false(b->bindback);
    const ox_connector_cfg *c = ox_config_connector(cfg, "dial");
    assert_true(c->bindback); /* on by default for on-demand */
    assert_string_equal(b->bindback_host, "");
    assert_int_equal(b->bindback_port, 0);
    assert_string_equal(c->bindback_host, "::1");
    assert_int_equal(c->bindback_port, 2000);
    assert_string_equal(c->peer_host, "::1");
    assert_int_equal(c->n_windows, 6);
#define AT(d, h, m) ((uint32_t)(d)*86400u + (uint32_t)(h)*3600u + (uint32_t)(m)*60u)
    assert_true(ox_schedule_open_at(c, AT(0, 9, 0)));               /* Mon 09:00 */
    assert_false(ox_schedule_open_at(c, AT(5, 9, 0)));              /* Sat 09:00 */
    assert_true(ox_schedule_open_at(c, AT(6, 23, 30)));             /* Sun 23:30 */
    assert_true(ox_schedule_open_at(c, AT(0, 0, 30)));              /* Mon 00:30, across the week */
    assert_false(ox_schedule_open_at(c, AT(0, 7, 0)));              /* Mon 07:00 */
    assert_false(ox_schedule_open_at(c, AT(0, 17, 0)));             /* the end is outside */
    assert_int_equal(ox_schedule_next_open(c, AT(0, 7, 0)), 3600);  /* Mon 08:00 */
    assert_int_equal(ox_schedule_next_open(c, AT(6, 22, 0)), 3600); /* Sun 23:00 */
    assert_int_equal(ox_schedule_next_open(c, AT(5, 9, 0)), AT(1, 14, 0)); /* Sat..Sun 23:00 */
    free(cfg);
}

/* Each bad line must produce an error naming its line and the fix. */
static void expect_error(const char *text, const char *want_line, const char *want_text)
{
    ox_mta_cfg *cfg = cfg_new();
    ox_config_diag d;
    int rc = ox_config_load_string(cfg, "t.ini", text, &d);
    assert_int_equal(rc, OX_E_ARG);
    if (!strstr(d.text, want_line) || !strstr(d.text, want_text)) {
        fprintf(stderr, "diagnostics were:\n%s\nwanted '%s' and '%s'\n", d.text, want_line,
                want_text);
        fail();
    }
    free(cfg);
}

static void test_errors(void **state)
{
    (void)state;
    const char *base = "[mta]\nname = A\nlisten = 127.0.0.1:1\nglobal-domain = /C=GB/\n";
    char buf[1024];
    snprintf(buf, sizeof(buf), "%sopen-intervall = 600\n", base);
    expect_error(buf, "t.ini:5:", "did you mean 'open-interval'");
    snprintf(buf, sizeof(buf), "%sopen-interval = 5\n", base);
    expect_error(buf, "t.ini:5:", "seed 002");
    snprintf(buf, sizeof(buf), "%smax-associations = 129\n", base);
    expect_error(buf, "t.ini:5:", "outside 1..128");
    snprintf(buf, sizeof(buf), "%swindow-size = 65\n", base);
    expect_error(buf, "t.ini:5:", "outside 1..64");
    snprintf(buf, sizeof(buf), "%sopen-interval = ten\n", base);
    expect_error(buf, "t.ini:5:", "not a number");
    snprintf(buf, sizeof(buf), "%slocal-address-space = C=GB;A= ;P=X\n", base);
    expect_error(buf, "t.ini:5:", "/C=GB/A= /P=Site/ form");
    snprintf(buf, sizeof(buf), "%sname = B\n", base);
    expect_error(buf, "t.ini:5:", "set twice");
    snprintf(buf, sizeof(buf), "%s[connector x]\nkind = lan\npeer-address = h:1\n", base);
    expect_error(buf, "t.ini:6:", "no 'peer-mta'");
    snprintf(buf, sizeof(buf),
             "%s[connector x]\nkind = ondemand\npeer-mta = B\npeer-address = h:1\n", base);
    expect_error(buf, "t.ini:6:", "no 'link-up'");
    snprintf(buf, sizeof(buf),
             "%s[connector x]\npeer-mta = B\npeer-address = h:1\nbindback-address = h:99999\n",
             base);
    expect_error(buf, "t.ini:8:", "not HOST, HOST:PORT or [V6]:PORT");
    snprintf(buf, sizeof(buf), "%s[connector x]\npeer-mta = B\nschedule = sometimes\n", base);
    expect_error(buf, "t.ini:7:", "must be never, always");
    snprintf(buf, sizeof(buf), "%s[conector x]\n", base);
    expect_error("[mta]\nname = A\nlisten = 127.0.0.1:1\n[conector x]\nkind = lan\n",
                 "t.ini:5:", "unknown section");
    expect_error("[mta]\nlisten = 127.0.0.1:1\n", "t.ini:", "no 'name'");
    expect_error("[mta]\nname = A\nlisten = nowhere\n", "t.ini:3:", "HOST:PORT");
    expect_error("[mta]\nname = A\nlisten = 127.0.0.1:1\nthis is not ini\n",
                 "t.ini:4:", "not an INI line");
    char longline[400];
    memset(longline, 'x', sizeof(longline));
    snprintf(longline, sizeof(longline),
             "[mta]\nname = A\nlisten = 127.0.0.1:1\nlink-up = %0300d\n", 0);
    expect_error(longline, "t.ini:4:", "characters long");
}

static void test_floor_and_case_warning(void **state)
{
    (void)state;
    ox_mta_cfg *cfg = cfg_new();
    ox_config_diag d;
    const char *text =
        "[mta]\nname = A\npassword = p\nlisten = 127.0.0.1:1\nglobal-domain = /C=GB/\n"
        "local-address-space = /C=GB/\nopen-interval = 2\nopen-interval-floor = 1\n"
        "[connector x]\npeer-mta = SITEB\npeer-address = h:1\naddress-space = /C=FR/\n"
        "[connector y]\npeer-mta = siteb\npeer-address = h:2\naddress-space = /C=DE/\n";
    int rc = ox_config_load_string(cfg, "t.ini", text, &d);
    if (rc)
        fprintf(stderr, "%s", d.text);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg->values.open_interval_s, 2);
    assert_int_equal(cfg->connectors[1].values.open_interval_s, 2);
    assert_int_equal(d.warnings, 1);
    assert_non_null(strstr(d.text, "differ only in case"));
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_floor_and_case_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
