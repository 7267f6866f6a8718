/* test_tpkt.c - RFC 1006 / ISO 8073 class 0: byte-exact TPDUs, negotiation, segmentation,
 * reassembly at every split point, and every error path.
 * Vectors: the CR/CC/DT bytes below are what tool_ses_echo sends; tshark 4.0 decodes them
 * cleanly (tests/integration/ses_loopback.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/tpkt.h"

#include <string.h>

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void assert_bytes(const ox_buf *got, const char *want_hex)
{
    ox_buf w = hex(want_hex);
    if (!ox_span_eq(ox_buf_span(got), ox_buf_span(&w))) {
        char g[512];
        ox_hex_encode(g, sizeof g, ox_buf_span(got));
        print_error("got  %s\nwant %s\n", g, want_hex);
        fail();
    }
    ox_buf_free(&w);
}

static const char CR_8192[] = "0300 0016 11 e0 0000 0001 00 c1025449 c2025452 c0010d";
static const char CC_8192[] = "0300 0016 11 d0 0001 0001 00 c1025449 c2025452 c0010d";

static void mk(ox_tpkt *t, ox_tpkt_role role, uint32_t max_tpdu)
{
    ox_tpkt_cfg c = {
        .role = role,
        .local_tsel = ox_span_of(role == OX_TPKT_INITIATOR ? "TI" : "TR", 2),
        .remote_tsel =
            ox_span_of(role == OX_TPKT_INITIATOR ? "TR" : "", role == OX_TPKT_INITIATOR ? 2 : 0),
        .max_tpdu = max_tpdu,
    };
    assert_int_equal(ox_tpkt_init(t, &c, NULL), 0);
}

/* Feeds all of |in|, taking events as they come; returns the last feed's code. */
static int feed_all(ox_tpkt *t, ox_span in, ox_buf *out, ox_tpkt_ev *evs, size_t *nev,
                    size_t max_ev)
{
    size_t off = 0;
    int rc = 0;
    while (off < in.len) {
        size_t used;
        rc = ox_tpkt_feed(t, ox_span_of(in.p + off, in.len - off), &used, out);
        off += used;
        ox_tpkt_ev ev;
        while (ox_tpkt_next_event(t, &ev)) {
            if (*nev < max_ev)
                evs[*nev] = ev;
            (*nev)++;
        }
        if (rc)
            return rc;
    }
    return rc;
}

/* Connects a pair; returns with both OPEN. */
static void open_pair(ox_tpkt *i, ox_tpkt *r, uint32_t imax, uint32_t rmax)
{
    mk(i, OX_TPKT_INITIATOR, imax);
    mk(r, OX_TPKT_RESPONDER, rmax);
    ox_buf a, b;
    ox_buf_init(&a, NULL, NULL, 0);
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_connect(i, &a), 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(r, ox_buf_span(&a), &b, ev, &n, 2), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_CONNECT_IND);
    assert_int_equal(ox_tpkt_accept(r, &b), 0);
    n = 0;
    ox_buf c;
    ox_buf_init(&c, NULL, NULL, 0);
    assert_int_equal(feed_all(i, ox_buf_span(&b), &c, ev, &n, 2), 0);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_CONNECT_CONF);
    assert_int_equal(c.len, 0);
    assert_int_equal(i->state, OX_TPKT_OPEN);
    assert_int_equal(r->state, OX_TPKT_OPEN);
    ox_buf_free(&a);
    ox_buf_free(&b);
    ox_buf_free(&c);
}

static void test_cr_cc_vectors(void **state)
{
    (void)state;
    ox_tpkt i, r;
    mk(&i, OX_TPKT_INITIATOR, 8192);
    mk(&r, OX_TPKT_RESPONDER, 8192);
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_connect(&i, &out), 0);
    assert_bytes(&out, CR_8192);
    assert_int_equal(ox_tpkt_connect(&i, &out), OX_E_STATE);
    ox_buf cr = hex(CR_8192), o2;
    ox_buf_init(&o2, NULL, NULL, 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(&r, ox_buf_span(&cr), &o2, ev, &n, 2), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_CONNECT_IND);
    assert_true(ox_span_eq(ev[0].calling_tsel, ox_span_of("TI", 2)));
    assert_true(ox_span_eq(ev[0].called_tsel, ox_span_of("TR", 2)));
    assert_int_equal(ev[0].tpdu_size, 8192);
    assert_int_equal(ox_tpkt_send(&r, ox_span_of("x", 1), &o2), OX_E_STATE);
    assert_int_equal(ox_tpkt_accept(&r, &o2), 0);
    assert_bytes(&o2, CC_8192);
    n = 0;
    ox_buf_reset(&out);
    assert_int_equal(feed_all(&i, ox_buf_span(&o2), &out, ev, &n, 2), 0);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_CONNECT_CONF);
    assert_int_equal(ev[0].tpdu_size, 8192);
    assert_int_equal(ox_tpkt_tpdu_size(&i), 8192);
    assert_string_equal(ox_tpkt_state_name(i.state), "OPEN");
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    ox_buf_free(&out);
    ox_buf_free(&o2);
    ox_buf_free(&cr);
}

static void test_pref_size(void **state)
{
    (void)state;
    ox_tpkt i;
    mk(&i, OX_TPKT_INITIATOR, 0); /* 65531: 8192 code plus preferred size 511 * 128 */
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_connect(&i, &out), 0);
    assert_bytes(&out, "0300 001a 15 e0 0000 0001 00 c1025449 c2025452 c0010d f00201ff");
    ox_tpkt r;
    mk(&r, OX_TPKT_RESPONDER, 1024);
    ox_buf o2;
    ox_buf_init(&o2, NULL, NULL, 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(&r, ox_buf_span(&out), &o2, ev, &n, 2), 0);
    assert_int_equal(ev[0].tpdu_size, 65408);
    assert_int_equal(ox_tpkt_accept(&r, &o2), 0);
    assert_int_equal(ox_tpkt_tpdu_size(&r), 1024);
    assert_bytes(&o2, "0300 001a 15 d0 0001 0001 00 c1025449 c2025452 c0010a f0020008");
    n = 0;
    ox_buf_reset(&out);
    assert_int_equal(feed_all(&i, ox_buf_span(&o2), &out, ev, &n, 2), 0);
    assert_int_equal(ox_tpkt_tpdu_size(&i), 1024);
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    ox_buf_free(&out);
    ox_buf_free(&o2);
    /* No size parameter at all: 128 (ISO 8073 13.3.4 b). */
    mk(&r, OX_TPKT_RESPONDER, 0);
    ox_buf cr = hex("0300 000b 06 e0 0000 0002 00"), o3;
    ox_buf_init(&o3, NULL, NULL, 0);
    n = 0;
    assert_int_equal(feed_all(&r, ox_buf_span(&cr), &o3, ev, &n, 2), 0);
    assert_int_equal(ev[0].tpdu_size, 128);
    assert_true(ev[0].calling_tsel.len == 0 && ev[0].called_tsel.len == 0);
    assert_int_equal(ox_tpkt_accept(&r, &o3), 0);
    assert_bytes(&o3, "0300 0012 0d d0 0002 0001 00 c2025452 c00107");
    ox_tpkt_free(&r);
    ox_buf_free(&cr);
    ox_buf_free(&o3);
}

static void test_dt_segments_and_splits(void **state)
{
    (void)state;
    ox_tpkt i, r;
    open_pair(&i, &r, 128, 8192);
    assert_int_equal(ox_tpkt_tpdu_size(&i), 128);
    uint8_t data[300];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)k;
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_send(&i, ox_span_of(data, sizeof data), &out), 0);
    /* 125 + 125 + 50 octets; EOT only on the last */
    assert_int_equal(out.len, 300 + 3 * 7);
    assert_memory_equal(out.p, "\x03\x00\x00\x84\x02\xf0\x00", 7);
    assert_memory_equal(out.p + 132, "\x03\x00\x00\x84\x02\xf0\x00", 7);
    assert_memory_equal(out.p + 264, "\x03\x00\x00\x39\x02\xf0\x80", 7);
    /* plus an empty TSDU and a 3-octet one behind it */
    assert_int_equal(ox_tpkt_send(&i, ox_span_of(NULL, 0), &out), 0);
    assert_int_equal(ox_tpkt_send(&i, ox_span_of("abc", 3), &out), 0);
    assert_memory_equal(out.p + out.len - 17,
                        "\x03\x00\x00\x07\x02\xf0\x80"
                        "\x03\x00\x00\x0a\x02\xf0\x80"
                        "abc",
                        17);
    /* The same bytes split at every point (and in two chunks at every pair of points for the
     * short tail) give the same three TSDUs. */
    for (size_t cut = 0; cut <= out.len; cut++) {
        ox_tpkt rr;
        mk(&rr, OX_TPKT_RESPONDER, 8192);
        rr.state = OX_TPKT_OPEN; /* skip the handshake: same machine */
        rr.tpdu_size = 128;
        ox_buf junk;
        ox_buf_init(&junk, NULL, NULL, 0);
        size_t got = 0;
        const uint8_t *pp = out.p;
        size_t parts[2] = {cut, out.len - cut};
        for (int part = 0; part < 2; part++) {
            size_t off = 0;
            while (off < parts[part]) {
                size_t used;
                assert_int_equal(
                    ox_tpkt_feed(&rr, ox_span_of(pp + off, parts[part] - off), &used, &junk), 0);
                off += used;
                ox_tpkt_ev ev;
                while (ox_tpkt_next_event(&rr, &ev)) {
                    assert_int_equal(ev.kind, OX_TPKT_EV_DATA_IND);
                    if (got == 0)
                        assert_true(ox_span_eq(ev.data, ox_span_of(data, sizeof data)));
                    else if (got == 1)
                        assert_int_equal(ev.data.len, 0);
                    else
                        assert_true(ox_span_eq(ev.data, ox_span_of("abc", 3)));
                    got++;
                }
            }
            pp += parts[part];
        }
        assert_int_equal(got, 3);
        assert_int_equal(junk.len, 0);
        ox_tpkt_free(&rr);
        ox_buf_free(&junk);
    }
    /* byte by byte */
    size_t got = 0;
    ox_buf junk;
    ox_buf_init(&junk, NULL, NULL, 0);
    for (size_t k = 0; k < out.len; k++) {
        size_t used;
        assert_int_equal(ox_tpkt_feed(&r, ox_span_of(out.p + k, 1), &used, &junk), 0);
        assert_int_equal(used, 1);
        ox_tpkt_ev ev;
        while (ox_tpkt_next_event(&r, &ev))
            got++;
    }
    assert_int_equal(got, 3);
    assert_int_equal(ox_tpkt_disconnect(&i, &junk), 0);
    assert_int_equal(junk.len, 0);
    assert_int_equal(ox_tpkt_disconnect(&i, &junk), OX_E_STATE);
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    ox_buf_free(&out);
    ox_buf_free(&junk);
}

static void test_refuse_and_dr(void **state)
{
    (void)state;
    ox_tpkt i, r;
    mk(&i, OX_TPKT_INITIATOR, 8192);
    mk(&r, OX_TPKT_RESPONDER, 8192);
    ox_buf a, b;
    ox_buf_init(&a, NULL, NULL, 0);
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_refuse(&r, OX_TPKT_DR_REFUSED, &b), OX_E_STATE);
    assert_int_equal(ox_tpkt_connect(&i, &a), 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(&r, ox_buf_span(&a), &b, ev, &n, 2), 0);
    assert_int_equal(ox_tpkt_refuse(&r, OX_TPKT_DR_ADDRESS_UNKNOWN, &b), 0);
    assert_bytes(&b, "0300 000b 06 80 0001 0001 03");
    assert_int_equal(r.state, OX_TPKT_CLOSED);
    n = 0;
    ox_buf_reset(&a);
    assert_int_equal(feed_all(&i, ox_buf_span(&b), &a, ev, &n, 2), 0);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_DISCONNECT_IND);
    assert_int_equal(ev[0].reason, OX_TPKT_DR_ADDRESS_UNKNOWN);
    assert_int_equal(i.state, OX_TPKT_CLOSED);
    size_t used;
    assert_int_equal(ox_tpkt_feed(&i, ox_buf_span(&b), &used, &a), OX_E_STATE);
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    ox_buf_free(&a);
    ox_buf_free(&b);
}

/* Feeds |bytes| to a machine in |st|; expects a peer error and |reply| (hex, "" = none). */
static void expect_error(ox_tpkt_role role, ox_tpkt_state st, const char *bytes, const char *reply,
                         int code)
{
    ox_tpkt t;
    mk(&t, role, 8192);
    if (st == OX_TPKT_OPEN || st == OX_TPKT_AWAIT_CC) {
        t.state = st;
        t.tpdu_size = 8192;
        t.remote_ref = 1;
    }
    ox_buf in = hex(bytes), out;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(&t, ox_buf_span(&in), &out, ev, &n, 2), code);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_ERROR);
    assert_int_equal(ev[0].code, code);
    assert_false(ev[0].peer_er);
    assert_bytes(&out, reply);
    assert_int_equal(t.state, OX_TPKT_ERROR);
    size_t used;
    assert_int_equal(ox_tpkt_feed(&t, ox_buf_span(&in), &used, &out), OX_E_STATE);
    assert_int_equal(ox_tpkt_send(&t, ox_span_of("x", 1), &out), OX_E_STATE);
    ox_tpkt_free(&t);
    ox_buf_free(&in);
    ox_buf_free(&out);
}

static void test_errors(void **state)
{
    (void)state;
    const ox_tpkt_role R = OX_TPKT_RESPONDER, I = OX_TPKT_INITIATOR;
    /* TPKT version 4; length 6 (below the 7 of the smallest TPDU) */
    expect_error(R, OX_TPKT_AWAIT_CR, "0400 000b 06e00000000200", "0300000b06800000000185",
                 OX_E_PEER);
    expect_error(R, OX_TPKT_OPEN, "0300 0006 02f0", "030000090470000100", OX_E_PEER);
    /* LI beyond the TPDU; LI 255 */
    expect_error(R, OX_TPKT_OPEN, "0300 0007 05f080", "0300000c0770000100c10105", OX_E_PEER);
    expect_error(R, OX_TPKT_OPEN, "0300 0007 fff080", "0300000c0770000100c101ff", OX_E_PEER);
    /* unknown TPDU code 0x10; DT with a bad EOT/NR octet; DT before CC */
    expect_error(R, OX_TPKT_OPEN, "0300 0007 021000", "0300000e0970000102c103021000", OX_E_PEER);
    expect_error(R, OX_TPKT_OPEN, "0300 0007 02f001", "0300000e0970000103c10302f001", OX_E_PEER);
    expect_error(I, OX_TPKT_AWAIT_CC, "0300 0007 02f080", "0300000e0970000102c10302f080",
                 OX_E_PEER);
    /* CR in OPEN; CR with user data beyond its LI */
    expect_error(R, OX_TPKT_OPEN, "0300 000b 06e00000000200",
                 "030000120d70000102c10706e00000000200", OX_E_PEER);
    expect_error(R, OX_TPKT_AWAIT_CR, "0300 000c 06e00000000200 41", "0300000b06800000000185",
                 OX_E_PEER);
    /* CR: class 2 is refused with "connection negotiation failed"; bad TPDU size 14;
     * parameter running past LI */
    expect_error(R, OX_TPKT_AWAIT_CR, "0300 000b 06e00000000220", "0300000b06800002000182",
                 OX_E_PEER);
    expect_error(R, OX_TPKT_AWAIT_CR, "0300 000e 09e00000000200c0010e", "0300000b06800002000185",
                 OX_E_PEER);
    expect_error(R, OX_TPKT_AWAIT_CR, "0300 000d 08e00000000200c005", "0300000b06800002000185",
                 OX_E_PEER);
    /* CC with a wrong DST-REF; CC choosing a size above the 8192 we proposed */
    expect_error(I, OX_TPKT_AWAIT_CC, "0300 000b 06d00007000200",
                 "030000120d70000203c10706d00007000200", OX_E_PEER);
    expect_error(I, OX_TPKT_AWAIT_CC, "0300 000f 0ad00001000200f0020100",
                 "030000161170000203c10b0ad00001000200f0020100", OX_E_PEER);
}

static void test_er_received_and_limits(void **state)
{
    (void)state;
    ox_tpkt i, r;
    open_pair(&i, &r, 8192, 8192);
    ox_buf er = hex("0300 0009 04 70 0001 02"), out;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_tpkt_ev ev[2];
    size_t n = 0;
    assert_int_equal(feed_all(&i, ox_buf_span(&er), &out, ev, &n, 2), 0);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_ERROR);
    assert_true(ev[0].peer_er);
    assert_int_equal(ev[0].reason, OX_TPKT_ER_BAD_TYPE);
    assert_int_equal(i.state, OX_TPKT_ERROR);
    assert_int_equal(out.len, 0);
    /* TSDU limit: 10 octets allowed, 11 arrive over two DTs */
    ox_tpkt t;
    ox_tpkt_cfg c = {.role = OX_TPKT_RESPONDER, .limits = {.max_tsdu = 10}};
    assert_int_equal(ox_tpkt_init(&t, &c, NULL), 0);
    t.state = OX_TPKT_OPEN;
    t.tpdu_size = 128;
    ox_buf dt = hex("0300 000c 02f000 3031323334 "
                    "0300 000d 02f080 353637383930");
    n = 0;
    assert_int_equal(feed_all(&t, ox_buf_span(&dt), &out, ev, &n, 2), OX_E_LIMIT);
    assert_int_equal(ev[0].kind, OX_TPKT_EV_ERROR);
    assert_int_equal(ev[0].code, OX_E_LIMIT);
    /* pending event blocks feed; bad configuration */
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    open_pair(&i, &r, 8192, 8192);
    ox_buf two = hex("0300 0008 02f080 41 0300 0008 02f080 42");
    size_t used;
    assert_int_equal(ox_tpkt_feed(&r, ox_buf_span(&two), &used, &out), 0);
    assert_int_equal(used, 8);
    assert_int_equal(ox_tpkt_feed(&r, ox_span_of(two.p + 8, 8), &used, &out), OX_E_STATE);
    ox_tpkt_free(&t);
    ox_tpkt_cfg bad = {.role = OX_TPKT_INITIATOR, .max_tpdu = 100};
    assert_int_equal(ox_tpkt_init(&t, &bad, NULL), OX_E_ARG);
    bad.max_tpdu = 0;
    bad.local_tsel = ox_span_of("0123456789012345678901234567890123", 33);
    assert_int_equal(ox_tpkt_init(&t, &bad, NULL), OX_E_ARG);
    ox_tpkt_free(&i);
    ox_tpkt_free(&r);
    ox_tpkt_free(&t);
    ox_buf_free(&er);
    ox_buf_free(&out);
    ox_buf_free(&dt);
    ox_buf_free(&two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cr_cc_vectors),
        cmocka_unit_test(test_pref_size),
        cmocka_unit_test(test_dt_segments_and_splits),
        cmocka_unit_test(test_refuse_and_dr),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_er_received_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
