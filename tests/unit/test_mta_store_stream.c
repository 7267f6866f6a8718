/* test_mta_store_stream.c - ox_mta_rx: an inbound message stored as it arrives, with only its
 * heading in memory */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/mta.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_mta_fixture.h"

/* A message from SITEA's Alice to SITEB's Bob (routed to connector b, so nothing is
 * delivered locally), with a body of |body_len| octets. */
static void build(ox_buf *out, size_t body_len)
{
    const char *tos[] = {"C=GB;A= ;P=SiteB;S=Bob"};
    char *body = malloc(body_len + 1);
    for (size_t i = 0; i < body_len; i++)
        body[i] = (char)('a' + i % 26);
    ox_mta_submission s = {.originator = "C=GB;A= ;P=SiteA;S=Alice",
                           .to = tos,
                           .n_to = 1,
                           .subject = "streamed",
                           .body = ox_span_of(body, body_len),
                           .priority = OX_P1_PRIO_NORMAL,
                           .importance = 1};
    char err[256];
    ox_buf_init(out, NULL, NULL, 0);
    assert_int_equal(ox_mta_build_submission(&s, T0, out, err, sizeof(err)), 0);
    free(body);
}

static int feed_parts(fixture *f, ox_span apdu, size_t cut, char *id, size_t idcap)
{
    ox_mta_rx *rx;
    char err[300];
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(apdu.p, cut), err, sizeof(err)), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(apdu.p + cut, apdu.len - cut), err, sizeof(err)),
                     0);
    return ox_mta_rx_end(rx, "SITEC", T0, id, idcap, err, sizeof(err));
}

static size_t files_in(fixture *f, const char *prefix)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/q.db.content", f->dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.' && !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

/* Every split point gives the same message: the first store queues it, every later one is
 * recognised as the same MTS identifier; the stored envelope equals ox_mta_store's. */
static void test_every_split(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, 700);
    char id0[300], id[300];
    for (size_t cut = 0; cut <= apdu.len; cut++) {
        int rc = feed_parts(f, ox_buf_span(&apdu), cut, cut ? id : id0, sizeof(id));
        assert_int_equal(rc, cut == 0 ? 0 : OX_QUEUE_DUPLICATE);
        if (cut)
            assert_string_equal(id, id0);
    }
    int64_t mid;
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id0, &mid), 0);
    ox_queue_msg_info mi;
    assert_int_equal(ox_queue_get_msg(f->mta.q, mid, &mi), 0);
    assert_true(mi.has_content);
    /* The content as stored is the content as sent. */
    ox_p1_apdu a;
    ox_p1_diag d;
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&apdu), OX_P1_1988, NULL, NULL, &a, &d), 0);
    assert_int_equal(mi.content_size, a.msg.content.len);
    ox_queue_reader r;
    assert_int_equal(ox_queue_content_open(f->mta.q, mid, &r), 0);
    uint8_t *got = malloc(a.msg.content.len + 1);
    size_t n = 0, total = 0;
    while (ox_queue_content_read(&r, got + total, a.msg.content.len + 1 - total, &n) == 0 && n)
        total += n;
    ox_queue_content_close(&r);
    assert_int_equal(total, a.msg.content.len);
    assert_memory_equal(got, a.msg.content.p, total);
    free(got);
    ox_p1_apdu_free(&a);
    ox_buf_free(&apdu);
}

/* 100 MB of content stream through with memory bounded: peak RSS grows by less than 32 MB. */
static void test_large_content_bounded_memory(void **state)
{
    fixture *f = *state;
    ox_buf small;
    build(&small, 10);
    ox_p1_apdu a;
    ox_p1_diag d;
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&small), OX_P1_1988, NULL, NULL, &a, &d), 0);
    const uint64_t big = (uint64_t)100 << 20;
    ox_buf head;
    ox_buf_init(&head, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode_head(&head, &a.msg, OX_P1_1988, big), 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long before_kb = ru.ru_maxrss;
    ox_mta_rx *rx;
    char err[300], id[300];
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_buf_span(&head), err, sizeof(err)), 0);
    static uint8_t chunk[16384];
    memset(chunk, 'x', sizeof(chunk));
    for (uint64_t sent = 0; sent < big; sent += sizeof(chunk))
        assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(chunk, sizeof(chunk)), err, sizeof(err)), 0);
    assert_int_equal(ox_mta_rx_end(rx, "SITEC", T0, id, sizeof(id), err, sizeof(err)), 0);
    getrusage(RUSAGE_SELF, &ru);
    long grew_kb = ru.ru_maxrss - before_kb;
    fprintf(stderr, "100 MB streamed: peak RSS grew by %ld KB\n", grew_kb);
    assert_true(grew_kb < 32 * 1024);
    int64_t mid;
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id, &mid), 0);
    ox_queue_msg_info mi;
    assert_int_equal(ox_queue_get_msg(f->mta.q, mid, &mi), 0);
    assert_int_equal(mi.content_size, big);
    ox_buf_free(&head);
    ox_p1_apdu_free(&a);
    ox_buf_free(&small);
}

/* A heading that never ends is refused past 1 MiB; cancelling leaves no file and no row;
 * a transfer that ends inside the content is refused. */
static void test_refusals_and_cancel(void **state)
{
    fixture *f = *state;
    ox_mta_rx *rx;
    char err[300], id[300];
    /* [0] { SET of 4 MB ...: the envelope would be larger than the heading limit. */
    static uint8_t junk[1 << 16];
    memset(junk, 0x30, sizeof(junk));
    const uint8_t hdr[] = {0xa0, 0x84, 0x00, 0x50, 0x00, 0x00, 0x31, 0x84, 0x00, 0x40, 0x00, 0x00};
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    int rc = ox_mta_rx_feed(rx, ox_span_of(hdr, sizeof(hdr)), err, sizeof(err));
    for (int i = 0; rc == 0 && i < 40; i++)
        rc = ox_mta_rx_feed(rx, ox_span_of(junk, sizeof(junk)), err, sizeof(err));
    assert_int_equal(rc, OX_E_LIMIT);
    assert_non_null(strstr(err, "heading"));
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(junk, 1), err, sizeof(err)), OX_E_LIMIT);
    ox_mta_rx_cancel(rx);

    /* Content half sent, then cancelled: no temporary file stays. */
    ox_buf apdu;
    build(&apdu, 200000);
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(apdu.p, apdu.len / 2), err, sizeof(err)), 0);
    assert_true(files_in(f, "tmp-") == 1);
    ox_mta_rx_cancel(rx);
    assert_int_equal(files_in(f, "tmp-"), 0);
    ox_mta_rx_cancel(NULL);

    /* Ended early: refused, nothing queued. */
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(apdu.p, apdu.len - 10), err, sizeof(err)), 0);
    assert_int_equal(ox_mta_rx_end(rx, "SITEC", T0, id, sizeof(id), err, sizeof(err)), OX_E_PEER);
    assert_non_null(strstr(err, "ended inside"));
    assert_int_equal(files_in(f, "tmp-"), 0);

    /* Octets after the message are refused. */
    ox_buf_append(&apdu, "\x01\x02", 2);
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_buf_span(&apdu), err, sizeof(err)), OX_E_PEER);
    ox_mta_rx_cancel(rx);

    /* Not an MTS-APDU at all: the whole-APDU decoder says why at the end. */
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_span_of("\x05\x00", 2), err, sizeof(err)), 0);
    assert_int_equal(ox_mta_rx_end(rx, "SITEC", T0, id, sizeof(id), err, sizeof(err)), OX_E_PEER);
    ox_buf_free(&apdu);
}

/* Transfer timeouts are per KB (normal 2000 s), capped by the message timeout (7 days). */
static void test_transfer_timeout_per_kb(void **state)
{
    fixture *f = *state;
    ox_buf apdu;
    build(&apdu, 2000);
    char id[300], err[300];
    /* submitted here ("local"): the MTA gives it its own identifier */
    assert_int_equal(
        ox_mta_store(&f->mta, ox_buf_span(&apdu), "local", T0, id, sizeof(id), err, sizeof(err)),
        0);
    int64_t mid;
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id, &mid), 0);
    ox_queue_msg_info mi;
    assert_int_equal(ox_queue_get_msg(f->mta.q, mid, &mi), 0);
    uint64_t kb = (apdu.len + 1023) / 1024;
    assert_int_equal(mi.expiry_ms, T0 + 2000 * 1000 * kb);
    ox_buf_free(&apdu);
    /* 100 MB would be 2000 s x 102400: the 7-day message timeout wins. */
    ox_buf small;
    build(&small, 10);
    ox_p1_apdu a;
    ox_p1_diag d;
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&small), OX_P1_1988, NULL, NULL, &a, &d), 0);
    ox_buf head;
    ox_buf_init(&head, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode_head(&head, &a.msg, OX_P1_1988, 100u << 20), 0);
    ox_mta_rx *rx;
    assert_int_equal(ox_mta_rx_begin(&f->mta, &rx), 0);
    assert_int_equal(ox_mta_rx_feed(rx, ox_buf_span(&head), err, sizeof(err)), 0);
    static uint8_t chunk[1 << 16];
    for (uint64_t sent = 0; sent < (100u << 20); sent += sizeof(chunk))
        assert_int_equal(ox_mta_rx_feed(rx, ox_span_of(chunk, sizeof(chunk)), err, sizeof(err)), 0);
    assert_int_equal(ox_mta_rx_end(rx, "SITEC", T0, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(ox_queue_find_mts_id(f->mta.q, id, &mid), 0);
    assert_int_equal(ox_queue_get_msg(f->mta.q, mid, &mi), 0);
    assert_int_equal(mi.expiry_ms, T0 + 7ull * 86400 * 1000);
    ox_buf_free(&head);
    ox_p1_apdu_free(&a);
    ox_buf_free(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_content_bounded_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_timeout_per_kb, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
