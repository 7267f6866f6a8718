/* test_mta_engine.c - the engine on a real queue: submit, deliver, report, loop, expiry,
 * duplicate, retries to non-delivery */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/mta.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_mta_fixture.h"

static void build(ox_buf *out, const char *to, bool dr)
{
    const char *tos[] = {to};
    ox_mta_submission s = {.originator = "C=GB;A= ;P=SiteA;S=Alice",
                           .to = tos,
                           .n_to = 1,
                           .subject = "hello",
                           .body = ox_span_of("Hello, Bob.\r\n", 13),
                           .priority = OX_P1_PRIO_NORMAL,
                           .importance = 1,
                           .delivery_report = dr};
    char err[256];
    ox_buf_init(out, NULL, NULL, 0);
    int rc = ox_mta_build_submission(&s, T0, out, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* Files in <mbox>/<who>/ ending in .p1. */
static int count_files(fixture *f, const char *who)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/mbox/%s", f->dir, who);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".p1") != NULL;
    closedir(d);
    return n;
}

static const char alice[] = "C-GB_A-_P-SiteA_S-Alice";
static const char bob[] = "C-GB_A-_P-SiteA_S-Bob";

static void run(fixture *f, uint64_t now)
{
    uint64_t next;
    for (int i = 0; i < 4; i++)
        assert_int_equal(ox_mta_run(&f->mta, now, &next), 0);
}

static void test_local_delivery_with_report(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, "C=GB;A= ;P=SiteA;S=Bob", true);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "local", T0, id, sizeof(id), err, sizeof(err)),
        0);
    assert_non_null(strstr(id, "C=GB;A= ;P=SiteA;L="));
    run(f, T0 + 10);
    assert_int_equal(count_files(f, bob), 1);
    assert_int_equal(count_files(f, alice), 1); /* the delivery report */
    assert_int_equal(f->mta.delivered, 2);
    assert_int_equal(f->mta.reports, 1);
    ox_buf_free(&apdu);
}

static void test_unrouted_gets_ndr(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, "C=FR;A= ;P=Nowhere;S=X", false);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "local", T0, id, sizeof(id), err, sizeof(err)),
        0);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, alice), 1); /* the NDR */
    assert_int_equal(f->mta.reports, 1);
    ox_buf_free(&apdu);
}

static void test_duplicate_from_peer(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, "C=GB;A= ;P=SiteA;S=Bob", false);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0, id, sizeof(id), err, sizeof(err)),
        0);
    assert_int_equal(ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0 + 5, id, sizeof(id), err,
                                  sizeof(err)),
                     OX_QUEUE_DUPLICATE);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, bob), 1);
    ox_buf_free(&apdu);
}

static void test_loop_refused(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, "C=GB;A= ;P=SiteA;S=Bob", false);
    /* The message says it already passed our domain. */
    ox_p1_apdu a;
    ox_p1_diag d;
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&apdu), OX_P1_1988, NULL, NULL, &a, &d), 0);
    ox_p1_trace t = {.arrival = (ox_p1_time)(T0 / 1000) - 60};
    t.gdi = f->mta.gdi;
    assert_int_equal(ox_p1_message_add_trace(&a.msg, &t), 0);
    ox_buf looped;
    ox_buf_init(&looped, NULL, NULL, 0);
    assert_int_equal(ox_p1_apdu_encode(&looped, &a, OX_P1_1988), 0);
    ox_p1_apdu_free(&a);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&looped), "SITEB", T0, id, sizeof(id), err, sizeof(err)),
        0);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, bob), 0);   /* not delivered */
    assert_int_equal(count_files(f, alice), 1); /* NDR with the loop diagnostic */
    ox_buf_free(&apdu);
    ox_buf_free(&looped);
}

static void test_expiry_and_open_retries(void **state)
{
    fixture *f = *state;
    ox_buf a1, a2;
    build(&a1, "C=GB;A= ;P=SiteB;S=Carol", false);
    build(&a2, "C=GB;A= ;P=SiteB;S=Dave", false);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&a1), "local", T0, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&a2), "local", T0, id, sizeof(id), err, sizeof(err)), 0);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, alice), 0); /* both wait for connector b */
    ox_queue_due due[4];
    size_t n;
    assert_int_equal(ox_queue_due_for(f->mta.q, "b", T0 + 10, due, 4, &n), 0);
    assert_int_equal(n, 2);
    /* Carol's recipient: three failed opens with max-open-retries = 2 -> non-delivered. */
    const ox_connector_cfg *b = ox_config_connector(&f->cfg, "b");
    uint64_t now = T0 + 10;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ox_mta_transfer_failed(&f->mta, due[0].rcpt_id, b, OX_QUEUE_ATTEMPT_OPEN,
                                                "connection refused", now),
                         0);
        now += 600 * 1000;
    }
    run(f, now);
    assert_int_equal(count_files(f, alice), 1);
    /* Dave's waits; after the 7-day normal message timeout it expires. */
    run(f, T0 + 8ull * 86400 * 1000);
    assert_int_equal(count_files(f, alice), 2);
    ox_buf_free(&a1);
    ox_buf_free(&a2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_delivery_with_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrouted_gets_ndr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_from_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_open_retries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
