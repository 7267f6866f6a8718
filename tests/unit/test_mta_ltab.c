/* test_mta_ltab.c - stable LTAB indexes, counts, and the Open Interval rule */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ltab.h"

#include <stdlib.h>
#include <string.h>

static void test_indexes_are_stable_and_reused(void **state)
{
    (void)state;
    ox_ltab *t = calloc(1, sizeof(*t));
    ox_ltab_entry *a = ox_ltab_add(t, false, "b", "127.0.0.1:102", 10);
    ox_ltab_entry *b = ox_ltab_add(t, true, NULL, "127.0.0.1:4000", 11);
    ox_ltab_entry *c = ox_ltab_add(t, false, "b", "127.0.0.1:102", 12);
    assert_int_equal(a->index, 1);
    assert_int_equal(b->index, 2);
    assert_int_equal(c->index, 3);
    assert_int_equal(b->state, OX_LTAB_BINDING);
    assert_int_equal(ox_ltab_count(t, "b", false), 2);
    assert_int_equal(ox_ltab_count(t, "b", true), 0);
    a->state = OX_LTAB_IDLE;
    assert_int_equal(ox_ltab_count(t, "b", true), 1);
    ox_ltab_remove(t, b);
    assert_null(ox_ltab_get(t, 2));
    assert_ptr_equal(ox_ltab_get(t, 3), c);
    ox_ltab_entry *d = ox_ltab_add(t, false, "x", "", 13);
    assert_int_equal(d->index, 2); /* the freed slot */
    for (int i = 0; i < OX_LTAB_MAX - 3; i++)
        assert_non_null(ox_ltab_add(t, true, NULL, NULL, 14));
    assert_null(ox_ltab_add(t, true, NULL, NULL, 15)); /* full: refused, never grows */
    free(t);
}

static void test_open_interval(void **state)
{
    (void)state;
    ox_connector_cfg c;
    memset(&c, 0, sizeof(c));
    ox_mta_values_default(&c.values);
    c.values.open_interval_s = 600;
    ox_connector_state s;
    memset(&s, 0, sizeof(s));
    assert_true(ox_connector_may_open(&s, 1000));
    ox_connector_open_failed(&s, &c, 1000, "connection refused");
    assert_false(ox_connector_may_open(&s, 1000 + 599999));
    assert_true(ox_connector_may_open(&s, 1000 + 600000));
    assert_int_equal(s.failed_opens, 1);
    assert_non_null(strstr(s.why_waiting, "open interval (600 s) after: connection refused"));
    ox_connector_open_ok(&s);
    assert_int_equal(s.failed_opens, 0);
    assert_true(ox_connector_may_open(&s, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indexes_are_stable_and_reused),
        cmocka_unit_test(test_open_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
