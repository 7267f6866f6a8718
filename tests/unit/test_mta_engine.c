/* test_mta_engine.c - the engine on a real queue: submit, deliver, report, loop, expiry,
 * duplicate, retries to non-delivery */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/mta.h"
#include "mta/mta_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_mta_fixture.h"

static void build_at(ox_buf *out, const char *to, bool dr, uint64_t now_ms)
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
    int rc = ox_mta_build_submission(&s, now_ms, out, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

static void build(ox_buf *out, const char *to, bool dr)
{
    build_at(out, to, dr, T0);
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

/* Every entry of the recipient's directory, names joined by spaces. */
static void list_dir(fixture *f, const char *who, char *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/mbox/%s", f->dir, who);
    out[0] = '\0';
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            snprintf(out + strlen(out), cap - strlen(out), "%s ", e->d_name);
    if (d)
        closedir(d);
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

static int history_lines(void *ctx, uint64_t t, int ev, const char *text)
{
    (void)t, (void)ev;
    char *all = ctx;
    size_t used = strlen(all);
    snprintf(all + used, 2048 - used, "%s\n", text);
    return 0;
}

/* A message from a peer for local recipients only, asking for no report, goes into the
 * mailbox as it arrives and never into the queue; one that asks for a report is queued. */
static void test_delivered_at_arrival(void **state)
{
    fixture *f = *state;
    ox_buf apdu, with_dr;
    build(&apdu, "C=GB;A= ;P=SiteA;S=Bob", false);
    build_at(&with_dr, "C=GB;A= ;P=SiteA;S=Alice", true, T0 + 1); /* another MTS id */
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0, id, sizeof(id), err, sizeof(err)),
        0);
    assert_false(f->mta.last_queued);
    assert_int_equal(count_files(f, bob), 1); /* before any engine run */
    assert_true(ox_mta_mailbox_dirty(&f->mta));
    assert_int_equal(ox_mta_sync_mailboxes(&f->mta), 0);
    assert_false(ox_mta_mailbox_dirty(&f->mta));
    assert_int_equal(f->mta.delivered, 1);
    assert_int_equal(f->mta.received, 1);
    int64_t qid = -1;
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id, &qid), 0);
    assert_int_equal(qid, 0); /* known, but never a queue row */
    char all[2048] = "";
    assert_int_equal(ox_queue_history_foreach(f->mta.q, id, history_lines, all), 0);
    assert_non_null(strstr(all, "received from SITEB: 1 recipient(s), "));
    assert_non_null(strstr(all,
                           " content bytes, delivered at arrival; rcpt 0 C=GB;A= ;P=SiteA;S=Bob: "
                           "delivered in "));
    /* a resend is dropped, the file stays one */
    assert_int_equal(ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0 + 5, id, sizeof(id), err,
                                  sizeof(err)),
                     OX_QUEUE_DUPLICATE);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, bob), 1);
    assert_int_equal(f->mta.delivered, 1);

    /* a delivery report wanted: queued, delivered by the engine with its report */
    assert_int_equal(ox_mta_store(&f->mta, ox_buf_span(&with_dr), "SITEB", T0 + 20, id, sizeof(id),
                                  err, sizeof(err)),
                     0);
    assert_true(f->mta.last_queued);
    assert_int_equal(count_files(f, alice), 0);
    run(f, T0 + 30);
    assert_int_equal(count_files(f, alice), 2); /* the message and, Alice being its originator,
                                                   its delivery report */
    assert_int_equal(f->mta.reports, 1);
    ox_buf_free(&apdu);
    ox_buf_free(&with_dr);
}

/* The queue rows of a delivery at arrival wait for the sync of its file: none before, both
 * after a sync from a mark taken once the file was written; a failed sync forgets them (the
 * transfer is not acknowledged and comes again: delivered once more, into the same file). */
static void test_arrival_rows_after_sync(void **state)
{
    fixture *f = *state;
    ox_buf one, two;
    build_at(&one, "C=GB;A= ;P=SiteA;S=Bob", false, T0);
    build_at(&two, "C=GB;A= ;P=SiteA;S=Bob", false, T0 + 1);
    char id1[300], id2[300], err[300];
    int64_t qid;
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&one), "SITEB", T0, id1, sizeof(id1), err, sizeof(err)),
        0);
    assert_true(ox_mta_notes_pending(&f->mta));
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id1, &qid), OX_E_NOTFOUND);
    uint64_t mark1 = ox_mta_notes_mark(&f->mta); /* a sync begins: it covers the first */
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&two), "SITEB", T0, id2, sizeof(id2), err, sizeof(err)),
        0);
    /* a resend while its rows wait is still known as one */
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&one), "SITEB", T0, id1, sizeof(id1), err, sizeof(err)),
        OX_QUEUE_DUPLICATE);
    assert_int_equal(count_files(f, bob), 2);

    assert_int_equal(ox_mta_notes_end(&f->mta, mark1, true), 0); /* that sync ended well */
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id1, &qid), 0);
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id2, &qid), OX_E_NOTFOUND);
    char all[2048] = "";
    assert_int_equal(ox_queue_history_foreach(f->mta.q, id1, history_lines, all), 0);
    assert_non_null(strstr(all, "delivered at arrival"));
    assert_true(ox_mta_notes_pending(&f->mta));

    assert_int_equal(ox_mta_notes_end(&f->mta, ox_mta_notes_mark(&f->mta), false), 0); /* failed */
    assert_false(ox_mta_notes_pending(&f->mta));
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id2, &qid), OX_E_NOTFOUND);
    /* resent after the failed sync: delivered again into the same file, recorded after the
     * next sync */
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&two), "SITEB", T0, id2, sizeof(id2), err, sizeof(err)),
        0);
    assert_int_equal(count_files(f, bob), 2);
    assert_int_equal(ox_mta_sync_mailboxes(&f->mta), 0);
    assert_false(ox_mta_notes_pending(&f->mta));
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id2, &qid), 0);
    ox_buf_free(&one);
    ox_buf_free(&two);
}

/* Many rows waiting, ended in steps: a resend is found exactly among those still waiting,
 * through the hash array's growth and its moves back to the front. */
static void test_notes_lookup_many(void **state)
{
    fixture *f = *state;
    char id[64], text[64];
    uint64_t next_end = 0;
    for (int i = 0; i < 1500; i++) {
        snprintf(id, sizeof(id), "MTS-%d", i);
        snprintf(text, sizeof(text), "line %d", i);
        ox_queue_line line = {OX_EV_MSG_DELIVERED, text};
        assert_int_equal(ox_mta_note_add(&f->mta, id, T0, &line, 1), 0);
        if (i % 300 == 299) { /* a sync ends: all but the last 100 are written */
            next_end = ox_mta_notes_mark(&f->mta) - 100;
            assert_int_equal(ox_mta_notes_end(&f->mta, next_end, true), 0);
        }
    }
    for (int i = 0; i < 1500; i++) {
        snprintf(id, sizeof(id), "MTS-%d", i);
        assert_int_equal(ox_mta_note_pending_for(&f->mta, id), (uint64_t)i >= next_end);
    }
    assert_false(ox_mta_note_pending_for(&f->mta, "MTS-1500"));
    int64_t qid;
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, "MTS-1299", &qid), 0);
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, "MTS-1400", &qid), OX_E_NOTFOUND);
    assert_int_equal(ox_mta_notes_end(&f->mta, ox_mta_notes_mark(&f->mta), true), 0);
    assert_false(ox_mta_note_pending_for(&f->mta, "MTS-1499"));
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, "MTS-1499", &qid), 0);
}

/* A content too large to sit in memory (past the queue's inline limit) goes through the
 * queue, which streams it to the mailbox. */
static void test_large_content_queued(void **state)
{
    fixture *f = *state;
    static char body[70 * 1024];
    memset(body, 'x', sizeof(body));
    const char *tos[] = {"C=GB;A= ;P=SiteA;S=Bob"};
    ox_mta_submission sub = {.originator = "C=GB;A= ;P=SiteA;S=Alice",
                             .to = tos,
                             .n_to = 1,
                             .body = ox_span_of(body, sizeof(body)),
                             .priority = OX_P1_PRIO_NORMAL,
                             .importance = 1};
    ox_buf apdu;
    ox_buf_init(&apdu, NULL, NULL, 0);
    char id[300], err[300];
    assert_int_equal(ox_mta_build_submission(&sub, T0, &apdu, err, sizeof(err)), 0);
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0, id, sizeof(id), err, sizeof(err)),
        0);
    assert_true(f->mta.last_queued);
    assert_int_equal(count_files(f, bob), 0);
    run(f, T0 + 10);
    assert_int_equal(count_files(f, bob), 1);
    ox_buf_free(&apdu);
}

/* The mailbox cannot take the file (the recipient's directory is a plain file): the message
 * is queued instead, and the engine delivers it once the mailbox is mended. */
static void test_arrival_falls_back_to_queue(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, "C=GB;A= ;P=SiteA;S=Bob", false);
    char path[300];
    snprintf(path, sizeof(path), "%s/mbox", f->dir);
    assert_int_equal(mkdir(path, 0750), 0);
    snprintf(path, sizeof(path), "%s/mbox/%s", f->dir, bob);
    FILE *blocker = fopen(path, "w");
    assert_non_null(blocker);
    fclose(blocker);
    char id[300], err[300];
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "SITEB", T0, id, sizeof(id), err, sizeof(err)),
        0);
    assert_true(f->mta.last_queued);
    assert_int_equal(f->mta.delivered, 0);
    uint64_t next;
    assert_int_equal(ox_mta_run(&f->mta, T0 + 10, &next), 0); /* fails, retried later */
    assert_int_equal(f->mta.delivered, 0);
    assert_int_equal(unlink(path), 0);
    run(f, T0 + 10 + 200 * 1000ull); /* past the transfer interval (120 s) */
    assert_int_equal(count_files(f, bob), 1);
    assert_int_equal(f->mta.delivered, 1);
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

/* Delivers |content| for Bob at |index| as message 1.x and checks that the directory holds
 * exactly |want| and the file the envelope and |content|. */
static void deliver_bob(fixture *f, uint32_t index, const char *content, const char *want)
{
    char path[512], err[300], names[512], body[64] = "", expect[64];
    ox_span env = {(const uint8_t *)"ENV", 3};
    ox_span octets = {(const uint8_t *)content, strlen(content)};
    assert_int_equal(ox_mta_deliver_octets(&f->mta, "C=GB;A= ;P=SiteA;L=1.x",
                                           "C=GB;A= ;P=SiteA;S=Bob", index, env, octets, path,
                                           sizeof(path), err, sizeof(err)),
                     0);
    list_dir(f, bob, names, sizeof(names));
    assert_string_equal(names, want);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(body, sizeof(body), fp));
    fclose(fp);
    snprintf(expect, sizeof(expect), "ENV%s", content);
    assert_string_equal(body, expect);
}

/* A mailbox file appears whole under its name and nothing else is left in the directory; the
 * same message and recipient delivered again replaces it (a resend after a crash); a
 * directory removed behind the MTA's back is made again. */
static void test_mailbox_file(void **state)
{
    fixture *f = *state;
    const char *first = "C-GB_A-_P-SiteA_L-1.x.0.p1 ", *second = "C-GB_A-_P-SiteA_L-1.x.1.p1 ";
    deliver_bob(f, 0, "first", first);
    deliver_bob(f, 0, "second", first);
    char dir[256], path[sizeof(dir) + 64];
    snprintf(dir, sizeof(dir), "%s/mbox/%s", f->dir, bob);
    snprintf(path, sizeof(path), "%s/C-GB_A-_P-SiteA_L-1.x.0.p1", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    deliver_bob(f, 1, "first", second);
    /* linked through /proc/self/fd, as an MTA without the privilege does, replacing too */
    f->mta.link_by_proc = true;
    deliver_bob(f, 1, "again", second);
    assert_false(f->mta.no_unnamed);
    /* where unnamed files fail: a temporary, renamed, replacing as well */
    f->mta.no_unnamed = true;
    deliver_bob(f, 1, "second", second);
    assert_int_equal(ox_mta_sync_mailboxes(&f->mta), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_delivery_with_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrouted_gets_ndr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_from_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrival_rows_after_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notes_lookup_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_at_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mailbox_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrival_falls_back_to_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_content_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_open_retries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
