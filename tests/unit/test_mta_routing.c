/* test_mta_routing.c - address-space matching and route order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/routing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char cfg_text[] = "[mta]\nname = SITEA\npassword = p\nlisten = 127.0.0.1:1\n"
                               "global-domain = /C=GB/A= /P=SiteA/\n"
                               "local-address-space = /C=GB/A= /P=SiteA/\n"
                               "[connector b]\npeer-mta = SITEB\npeer-address = 127.0.0.1:2\n"
                               "address-space = /C=GB/A= /P=SiteB/ cost 1\n"
                               "address-space = /C=GB/ cost 50\n"
                               "[connector backup]\npeer-mta = SITEC\npeer-address = 127.0.0.1:3\n"
                               "address-space = /C=GB/A= /P=SiteB/ cost 5\n"
                               "[connector ou]\npeer-mta = SITED\npeer-address = 127.0.0.1:4\n"
                               "address-space = /C=GB/A= /P=SiteB/O=Org/OU=Sales/ cost 1\n";

static ox_mta_cfg *load(void)
{
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    ox_config_diag d;
    assert_int_equal(ox_config_load_string(cfg, "r.ini", cfg_text, &d), 0);
    return cfg;
}

static size_t route(const ox_routing *rt, const char *addr, const ox_route **out)
{
    ox_p1_orname n;
    assert_int_equal(ox_p1_orname_parse(&n, addr), 0);
    return ox_routing_lookup(rt, &n, out, 8);
}

static void test_order(void **state)
{
    (void)state;
    ox_mta_cfg *cfg = load();
    ox_routing rt;
    ox_config_diag d = {0};
    assert_int_equal(ox_routing_build(&rt, cfg, &d), 0);
    const ox_route *r[8];
    /* Local: exact domain, before b's cost-50 country route. */
    assert_int_equal(route(&rt, "/C=GB/A= /P=SiteA/S=Smith/", r), 2);
    assert_int_equal(r[1]->cost, 50);
    assert_int_equal(r[0]->connector, -1);
    /* Case and spaces fold (X.411). */
    assert_int_equal(route(&rt, "/c=gb/a= /p=sitea/s=smith/", r), 2);
    assert_int_equal(r[0]->connector, -1);
    /* SiteB: cost 1 first, backup cost 5 next, then the cost-50 country route of b is the
     * same connector and is not listed twice. */
    assert_int_equal(route(&rt, "/C=GB/A= /P=SiteB/O=Org/S=Jones/", r), 2);
    assert_string_equal(cfg->connectors[r[0]->connector].name, "b");
    assert_string_equal(cfg->connectors[r[1]->connector].name, "backup");
    /* OU prefix: the more specific cost-1 route wins over b's cost-1 route. */
    assert_int_equal(route(&rt, "/C=GB/A= /P=SiteB/O=Org/OU=Sales/OU=North/S=Jones/", r), 3);
    assert_string_equal(cfg->connectors[r[0]->connector].name, "ou");
    assert_string_equal(cfg->connectors[r[1]->connector].name, "b");
    /* Another GB domain: only the cost-50 route. */
    assert_int_equal(route(&rt, "/C=GB/A= /P=Elsewhere/S=X/", r), 1);
    assert_int_equal(r[0]->cost, 50);
    /* ADMD " " differs from ADMD "BT". */
    assert_int_equal(route(&rt, "/C=GB/A=BT/P=SiteA/S=X/", r), 1);
    assert_int_equal(r[0]->cost, 50);
    /* No route. */
    assert_int_equal(route(&rt, "/C=FR/A= /P=X/S=Y/", r), 0);
    ox_routing_free(&rt);
    free(cfg);
}

static void test_bad_pattern(void **state)
{
    (void)state;
    ox_mta_cfg *cfg = load();
    snprintf(cfg->connectors[0].spaces[0].pattern, sizeof(cfg->connectors[0].spaces[0].pattern),
             "/C=GB/ZZ=1/");
    ox_routing rt;
    ox_config_diag d = {0};
    assert_int_equal(ox_routing_build(&rt, cfg, &d), OX_E_ARG);
    assert_non_null(strstr(d.text, "r.ini:10: error"));
    ox_routing_free(&rt);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_bad_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
