/* test_p1.c - P1 codec: O/R names (BER and text), envelopes, MTS-APDUs (1988 and 1984), the
 *             MTA bind, streaming head encode/decode, limits and every error class */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openx400/p1.h"

static ox_p1_orname name_of(const char *text)
{
    ox_p1_orname n;
    assert_int_equal(ox_p1_orname_parse(&n, text), 0);
    return n;
}

static ox_p1_gdi gdi_of(const char *c, const char *a, const char *p)
{
    ox_p1_gdi g;
    memset(&g, 0, sizeof(g));
    strcpy(g.country, c);
    strcpy(g.admd, a);
    strcpy(g.prmd, p);
    return g;
}

/* 2 KB-ish message with |nr| recipients, |nt| trace elements and two extensions. */
static uint8_t ext_store[512];
static void sample_message(ox_p1_message *m, uint32_t nr, uint32_t nt, bool exts, ox_span content)
{
    ox_p1_message_init(m, NULL);
    m->id.gdi = gdi_of("GB", " ", "Site");
    strcpy(m->id.local_id, "msg-0001@site");
    m->originator = name_of("C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John");
    m->content_type.builtin = OX_P1_CT_P22_1988;
    strcpy(m->content_id, "cid-1");
    m->priority = OX_P1_PRIO_URGENT;
    m->pmi = OX_P1_PMI_CONTENT_RETURN | OX_P1_PMI_ALTERNATE_RECIPIENT_ALLOWED;
    m->orig_eits.present = true;
    m->orig_eits.builtin = OX_P1_EIT_IA5_TEXT;
    m->has_deferred = true;
    m->deferred = 1700000000;
    for (uint32_t i = 0; i < nt; i++) {
        ox_p1_trace t;
        memset(&t, 0, sizeof(t));
        t.gdi = gdi_of("GB", " ", i % 2 ? "Relay" : "Site");
        t.arrival = 1700000000 + i;
        assert_int_equal(ox_p1_message_add_trace(m, &t), 0);
    }
    for (uint32_t i = 0; i < nr; i++) {
        ox_p1_recipient r;
        memset(&r, 0, sizeof(r));
        char txt[128];
        snprintf(txt, sizeof(txt), "C=GB;A= ;P=Far;O=Dest;S=User%u;G=Test", (unsigned)i);
        r.name = name_of(txt);
        r.orig_number = (int32_t)i + 1;
        r.indicators = OX_P1_PRI_RESPONSIBILITY | OX_P1_PRI_MTA_NDR | OX_P1_PRI_ORIG_NDR;
        r.explicit_conversion = -1;
        assert_int_equal(ox_p1_message_add_recipient(m, &r), 0);
    }
    if (exts) {
        /* internal trace (38) and an unknown private extension kept byte-exact */
        ox_p1_traces it = {0};
        ox_p1_trace t;
        memset(&t, 0, sizeof(t));
        t.gdi = gdi_of("GB", " ", "Site");
        strcpy(t.mta, "mta1.site");
        t.arrival = 1700000000;
        strcpy(t.attempted_mta, "mta2.site");
        assert_int_equal(ox_p1_traces_add(&it, NULL, &t, 0), 0);
        uint8_t tmp[256];
        ox_buf v;
        ox_buf_init(&v, NULL, tmp, sizeof(tmp));
        assert_int_equal(ox_p1_internal_trace_encode(&v, &it), 0);
        ox_buf st;
        ox_buf_init(&st, NULL, ext_store, sizeof(ext_store));
        st.max = sizeof(ext_store);
        ox_p1_ext e;
        assert_int_equal(ox_p1_ext_build(&st, OX_P1_EXT_INTERNAL_TRACE, 0, ox_buf_span(&v), &e), 0);
        assert_int_equal(ox_p1_exts_add(&m->exts, NULL, &e, 0), 0);
        static const uint8_t priv[] = {0x30, 0x0b, 0x83, 0x04, 0x2b, 0x06, 0x01,
                                       0x04, 0xa2, 0x03, 0x02, 0x01, 0x07};
        memset(&e, 0, sizeof(e));
        e.is_private = true;
        e.whole = ox_span_of(priv, sizeof(priv));
        assert_int_equal(ox_p1_exts_add(&m->exts, NULL, &e, 0), 0);
        ox_free(NULL, it.v);
        ox_buf_free(&v);
    }
    m->content = content;
}

/* encode -> decode -> encode gives the same bytes; returns the decoded APDU. */
static void roundtrip(ox_buf *w, ox_p1_version v, ox_p1_apdu *out)
{
    ox_p1_diag diag;
    int rc = ox_p1_apdu_decode(ox_buf_span(w), v, NULL, NULL, out, &diag);
    if (rc)
        fprintf(stderr, "decode: %s reason %s ber %s at %zu line %d\n", ox_strerror(rc),
                ox_p1_reason_name(diag.reason), ox_ber_reason_name(diag.ber.reason),
                diag.ber.offset, diag.ber.line);
    assert_int_equal(rc, 0);
    ox_buf w2;
    ox_buf_init(&w2, NULL, NULL, 0);
    assert_int_equal(ox_p1_apdu_encode(&w2, out, v), 0);
    assert_int_equal(w2.len, w->len);
    assert_memory_equal(w2.p, w->p, w->len);
    ox_buf_free(&w2);
}

static void test_orname_text(void **state)
{
    (void)state;
    ox_p1_orname n = name_of("C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John");
    assert_string_equal(n.country, "GB");
    assert_true(n.has_admd);
    assert_string_equal(n.admd, " ");
    assert_string_equal(n.prmd, "Site");
    assert_int_equal(n.n_ou, 1);
    char buf[256];
    assert_true(ox_p1_orname_print(&n, false, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John");
    assert_true(ox_p1_orname_print(&n, true, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "/C=GB/A= /P=Site/O=Org/OU=Unit/S=Smith/G=John/");
    ox_p1_orname s = name_of("/C=GB/A= /P=Site/O=Org/OU=Unit/S=Smith/G=John/");
    assert_true(ox_p1_orname_eq(&n, &s));
    /* case and space folding */
    ox_p1_orname c = name_of("c=gb; a= ; p=SITE; o=org ; ou=unit;s=SMITH;g=john");
    assert_true(ox_p1_orname_eq(&n, &c));
    assert_true(ox_p1_str_eq_folded("  John   Smith ", "john smith"));
    assert_false(ox_p1_str_eq_folded("JohnSmith", "john smith"));
    /* escaping: '/' inside a value of the slash form, '=' inside a value */
    ox_p1_orname e = name_of("/C=GB/A=ADMD/O=A\\/B/OU=x\\=y/S=O'Neil/");
    assert_string_equal(e.org, "A/B");
    assert_string_equal(e.ou[0], "x=y");
    assert_true(ox_p1_orname_print(&e, true, buf, sizeof(buf)) > 0);
    ox_p1_orname e2 = name_of(buf);
    assert_true(ox_p1_orname_eq(&e, &e2));
    /* numeric forms, DDA, empty ADMD, four OUs */
    ox_p1_orname d =
        name_of("C=234;A=;P=12;O=O;OU=a;OU=b;OU3=c;OU4=d;CN=Common;UA-ID=42;X121=123;DDA:rfc=x");
    assert_true(d.country_numeric && d.prmd_numeric);
    assert_true(d.has_admd);
    assert_string_equal(d.admd, "");
    assert_int_equal(d.n_ou, 4);
    assert_int_equal(d.n_dda, 1);
    assert_string_equal(d.dda[0].type, "rfc");
    /* errors */
    ox_p1_orname x;
    assert_int_equal(ox_p1_orname_parse(&x, "C=GBR"), OX_E_ARG);   /* alpha must be 2 */
    assert_int_equal(ox_p1_orname_parse(&x, "Z=1"), OX_E_ARG);     /* unknown key */
    assert_int_equal(ox_p1_orname_parse(&x, "C"), OX_E_ARG);       /* no '=' */
    assert_int_equal(ox_p1_orname_parse(&x, "O=a;O=b"), OX_E_ARG); /* duplicate */
    assert_int_equal(ox_p1_orname_parse(&x, "OU=1;OU=2;OU=3;OU=4;OU=5"), OX_E_ARG);
    assert_int_equal(ox_p1_orname_parse(&x, "S=a;b"), OX_E_ARG);
    assert_int_equal(ox_p1_orname_parse(&x, "O=semi\\"), OX_E_ARG);      /* dangling escape */
    assert_int_equal(ox_p1_orname_parse(&x, "O=under_score"), OX_E_ARG); /* not printable */
    assert_int_equal(ox_p1_orname_parse(&x, "G=John"), OX_E_ARG);        /* no surname */
    assert_int_equal(
        ox_p1_orname_parse(&x,
                           "O=012345678901234567890123456789012345678901234567890123456789012345"),
        OX_E_ARG); /* ub-organization-name-length */
    assert_int_equal(ox_p1_orname_print(&n, false, buf, 8), OX_E_LIMIT);
}

static void test_orname_ber(void **state)
{
    (void)state;
    ox_p1_orname n = name_of("C=GB;A= ;P=Site;O=Org;OU=Unit;OU=Sub;S=Smith;G=John;I=J;Q=Jr;"
                             "T-ID=term;UA-ID=77;X121=1234;DDA:type=value;CN=John Smith");
    strcpy(n.teletex_org, "Org\xe9");
    strcpy(n.teletex_surname, "Sm\xefth");
    strcpy(n.teletex_common_name, "J\xf6hn");
    n.n_teletex_ou = 1;
    strcpy(n.teletex_ou[0], "Un\xeft");
    n.n_teletex_dda = 1;
    strcpy(n.teletex_dda[0].type, "t");
    strcpy(n.teletex_dda[0].value, "v\xe9");
    /* terminal-type (23) telex(3): kept byte-exact */
    static const uint8_t other2[] = {0x30, 0x08, 0x80, 0x01, 0x17, 0xa1, 0x03, 0x02, 0x01, 0x03};
    n.other_ext_attrs = ox_span_of(other2, sizeof(other2));
    static const uint8_t dn[] = {0x30, 0x00};
    n.directory_name = ox_span_of(dn, sizeof(dn));
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_orname_encode(&w, &n, OX_P1_1988), 0);
    assert_int_equal(w.p[0], 0x60);
    ox_ber_rd rd;
    ox_p1_orname back;
    ox_p1_diag diag;
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, &diag.ber), 0);
    int rc = ox_p1_orname_read(&rd, OX_P1_TAG_ORNAME, &back, OX_P1_1988, &diag);
    if (rc)
        fprintf(stderr, "orname: reason %d ber %s at %zu line %d\n", diag.reason,
                ox_ber_reason_name(diag.ber.reason), diag.ber.offset, diag.ber.line);
    assert_int_equal(rc, 0);
    assert_true(ox_p1_orname_eq(&n, &back));
    assert_string_equal(back.teletex_org, "Org\xe9");
    ox_buf w2;
    ox_buf_init(&w2, NULL, NULL, 0);
    assert_int_equal(ox_p1_orname_encode(&w2, &back, OX_P1_1988), 0);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(w2.p, w.p, w.len);
    /* 1984: extension attributes and directory names are not part of the ORName */
    ox_buf_reset(&w2);
    assert_int_equal(ox_p1_orname_encode(&w2, &n, OX_P1_1984), OX_E_UNSUPPORTED);
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, NULL), 0);
    assert_int_equal(ox_p1_orname_read(&rd, OX_P1_TAG_ORNAME, &back, OX_P1_1984, &diag), OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_VERSION);
    ox_buf_free(&w);
    ox_buf_free(&w2);
}

static void test_orname_vector(void **state)
{
    (void)state;
    /* Hand-derived from X.411: ORName C=GB A=" " O=Org S=Smith */
    static const uint8_t v[] = {0x60, 0x1b, 0x30, 0x19, 0x61, 0x04, 0x13, 0x02, 'G', 'B',
                                0x62, 0x03, 0x13, 0x01, ' ',  0x83, 0x03, 'O',  'r', 'g',
                                0xa5, 0x07, 0x80, 0x05, 'S',  'm',  'i',  't',  'h'};
    ox_p1_orname n = name_of("C=GB;A= ;O=Org;S=Smith");
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_orname_encode(&w, &n, OX_P1_1984), 0);
    assert_int_equal(w.len, sizeof(v) - 0);
    assert_memory_equal(w.p, v, w.len);
    ox_buf_free(&w);
}

static void test_orname_errors(void **state)
{
    (void)state;
    struct {
        const char *hex;
        int rc;
        ox_p1_reason r;
    } cases[] = {
        /* country of 3 letters */
        {"6009 3007 6105 1303 474252", OX_E_PEER, OX_P1_R_VALUE},
        /* unknown component in BuiltInStandardAttributes */
        {"6007 3005 8703 616263", OX_E_PEER, OX_P1_R_UNKNOWN},
        /* personal name without surname */
        {"6007 3005 a503 8101 4a", OX_E_PEER, OX_P1_R_MISSING},
        /* five OUs */
        {"6011 300f a60d 1301 61 1301 62 1301 63 1301 64 1301 65", OX_E_LIMIT, OX_P1_R_TOO_MANY},
        /* empty organization name (SIZE 1..) */
        {"6004 3002 8300", OX_E_PEER, OX_P1_R_VALUE},
        /* duplicate surname */
        {"600c 300a a508 8001 61 8001 62 00", OX_E_PEER, OX_P1_R_BER},
        /* surname longer than ub-surname-length */
        {"602f 302d a52b 8029 "
         "6161616161616161616161616161616161616161616161616161616161616161616161616161616161",
         OX_E_PEER, OX_P1_R_VALUE},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(cases); i++) {
        ox_buf in;
        ox_buf_init(&in, NULL, NULL, 0);
        assert_int_equal(ox_hex_decode(&in, cases[i].hex), 0);
        ox_ber_rd rd;
        ox_p1_orname n;
        ox_p1_diag diag;
        memset(&diag, 0, sizeof(diag));
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &diag.ber), 0);
        int rc = ox_p1_orname_read(&rd, OX_P1_TAG_ORNAME, &n, OX_P1_1988, &diag);
        if (rc != cases[i].rc || (cases[i].r != OX_P1_R_BER && diag.reason != cases[i].r))
            fprintf(stderr, "case %zu: rc %d reason %d\n", i, rc, diag.reason);
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].r != OX_P1_R_BER)
            assert_int_equal(diag.reason, cases[i].r);
        ox_buf_free(&in);
    }
}

static void test_message_roundtrip(void **state)
{
    (void)state;
    static uint8_t content[2048];
    memset(content, 'x', sizeof(content));
    ox_p1_message m;
    sample_message(&m, 10, 5, true, ox_span_of(content, sizeof(content)));
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1988), 0);
    assert_int_equal(w.p[0], 0xa0);
    ox_p1_apdu a;
    roundtrip(&w, OX_P1_1988, &a);
    assert_int_equal(a.kind, OX_P1_APDU_MESSAGE);
    assert_true(ox_p1_mtsid_eq(&a.msg.id, &m.id));
    assert_true(ox_p1_orname_eq(&a.msg.originator, &m.originator));
    assert_int_equal(a.msg.n_rcpt, 10);
    assert_int_equal(a.msg.rcpt[3].orig_number, 4);
    assert_true(a.msg.rcpt[3].indicators & OX_P1_PRI_RESPONSIBILITY);
    assert_int_equal(a.msg.trace.n, 5);
    assert_int_equal(a.msg.priority, OX_P1_PRIO_URGENT);
    assert_int_equal(a.msg.deferred, 1700000000);
    assert_int_equal(a.msg.content.len, sizeof(content));
    assert_int_equal(a.msg.content_type.builtin, 22);
    assert_int_equal(a.msg.exts.n, 2);
    assert_true(a.msg.exts.v[1].is_private);
    /* the internal trace extension decodes */
    const ox_p1_ext *it = ox_p1_exts_find(&a.msg.exts, OX_P1_EXT_INTERNAL_TRACE);
    assert_non_null(it);
    ox_p1_traces tl = {0};
    assert_int_equal(ox_p1_internal_trace_decode(it, NULL, NULL, &tl, NULL), 0);
    assert_int_equal(tl.n, 1);
    assert_string_equal(tl.v[0].mta, "mta1.site");
    assert_string_equal(tl.v[0].attempted_mta, "mta2.site");
    ox_free(NULL, tl.v);
    /* loop check */
    ox_p1_gdi relay = gdi_of("gb", " ", "relay");
    assert_true(ox_p1_message_trace_has(&a.msg, &relay));
    ox_p1_gdi other = gdi_of("FR", " ", "relay");
    assert_false(ox_p1_message_trace_has(&a.msg, &other));
    ox_p1_apdu_free(&a);

    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < w.len; cut += 7) {
        ox_p1_diag diag;
        assert_int_not_equal(
            ox_p1_apdu_decode(ox_span_of(w.p, cut), OX_P1_1988, NULL, NULL, &a, &diag), 0);
    }
    /* 1984: refuses the extensions; without them it round-trips */
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1984), OX_E_UNSUPPORTED);
    ox_p1_message_free(&m);
    sample_message(&m, 3, 2, false, ox_span_of(content, 100));
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1984), 0);
    roundtrip(&w, OX_P1_1984, &a);
    assert_int_equal(a.msg.n_rcpt, 3);
    ox_p1_apdu_free(&a);
    ox_p1_message_free(&m);
    ox_buf_free(&w);
}

static void test_message_head_stream(void **state)
{
    (void)state;
    static uint8_t content[300];
    memset(content, 'c', sizeof(content));
    ox_p1_message m;
    sample_message(&m, 2, 1, true, ox_span_of(content, sizeof(content)));
    ox_buf full, head;
    ox_buf_init(&full, NULL, NULL, 0);
    ox_buf_init(&head, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode(&full, &m, OX_P1_1988), 0);
    assert_int_equal(ox_p1_message_encode_head(&head, &m, OX_P1_1988, sizeof(content)), 0);
    assert_int_equal(head.len + sizeof(content), full.len);
    assert_memory_equal(head.p, full.p, head.len);
    /* decode the head alone, then with all of it */
    ox_p1_message h;
    size_t off = 0;
    uint64_t clen = 0;
    ox_p1_diag diag;
    assert_int_equal(ox_p1_message_decode_head(ox_buf_span(&head), OX_P1_1988, NULL, NULL, &h, &off,
                                               &clen, &diag),
                     0);
    assert_int_equal(off, head.len);
    assert_int_equal(clen, sizeof(content));
    assert_int_equal(h.n_rcpt, 2);
    ox_p1_message_free(&h);
    for (size_t cut = 0; cut < head.len; cut++) {
        int rc = ox_p1_message_decode_head(ox_span_of(head.p, cut), OX_P1_1988, NULL, NULL, &h,
                                           &off, &clen, &diag);
        assert_int_equal(rc, OX_E_AGAIN);
    }
    ox_p1_message_free(&m);
    ox_buf_free(&full);
    ox_buf_free(&head);
}

static void test_probe(void **state)
{
    (void)state;
    ox_p1_message m;
    sample_message(&m, 2, 1, false, ox_span_of(NULL, 0));
    m.is_probe = true;
    m.has_content_length = true;
    m.content_length = 123456;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1988), 0);
    assert_int_equal(w.p[0], 0xa2);
    ox_p1_apdu a;
    roundtrip(&w, OX_P1_1988, &a);
    assert_int_equal(a.kind, OX_P1_APDU_PROBE);
    assert_int_equal(a.msg.content_length, 123456);
    assert_int_equal(a.msg.priority, OX_P1_PRIO_NORMAL); /* probes carry none */
    ox_p1_apdu_free(&a);
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1984), 0);
    roundtrip(&w, OX_P1_1984, &a);
    ox_p1_apdu_free(&a);
    ox_p1_message_free(&m);
    ox_buf_free(&w);
}

static void build_report(ox_p1_report *r, const ox_p1_message *subj, bool v1984)
{
    ox_p1_report_init(r, NULL);
    ox_p1_mtsid id = subj->id;
    strcpy(id.local_id, "rep-0001@site");
    ox_p1_trace here;
    memset(&here, 0, sizeof(here));
    here.gdi = gdi_of("GB", " ", "Far");
    here.arrival = 1700000100;
    assert_int_equal(ox_p1_report_for(r, subj, &id, &here), 0);
    for (uint32_t i = 0; i < subj->n_rcpt; i++) {
        ox_p1_report_recipient rr;
        assert_int_equal(ox_p1_report_recipient_for(&rr, subj, i, i == 0, 1700000200,
                                                    OX_P1_NDR_UNABLE_TO_TRANSFER,
                                                    i == 1 ? OX_P1_DIAG_UNRECOGNISED_ORNAME : -1),
                         0);
        if (i == 2) {
            rr.has_intended = true;
            rr.intended = subj->rcpt[0].name;
            strcpy(rr.supplementary, "no such user");
        }
        assert_int_equal(ox_p1_report_add_recipient(r, &rr), 0);
    }
    if (v1984) {
        r->has_content_type = false;
        r->orig_eits.present = false;
    }
}

static void test_report(void **state)
{
    (void)state;
    ox_p1_message m;
    sample_message(&m, 3, 2, false, ox_span_of("hi", 2));
    ox_p1_report r;
    build_report(&r, &m, false);
    static const uint8_t addl[] = {0x04, 0x01, 0x42};
    r.additional_info = ox_span_of(addl, sizeof(addl));
    r.has_returned_content = true;
    r.returned_content = m.content;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_report_encode(&w, &r, OX_P1_1988), 0);
    assert_int_equal(w.p[0], 0xa1);
    ox_p1_apdu a;
    roundtrip(&w, OX_P1_1988, &a);
    assert_int_equal(a.kind, OX_P1_APDU_REPORT);
    assert_true(ox_p1_mtsid_eq(&a.rep.subject_id, &m.id));
    assert_int_equal(a.rep.n_rcpt, 3);
    assert_true(a.rep.rcpt[0].delivered);
    assert_false(a.rep.rcpt[1].delivered);
    assert_int_equal(a.rep.rcpt[1].reason, OX_P1_NDR_UNABLE_TO_TRANSFER);
    assert_int_equal(a.rep.rcpt[1].diagnostic, OX_P1_DIAG_UNRECOGNISED_ORNAME);
    assert_int_equal(a.rep.rcpt[2].diagnostic, -1);
    assert_true(a.rep.rcpt[2].has_intended);
    assert_string_equal(a.rep.rcpt[2].supplementary, "no such user");
    assert_int_equal(a.rep.subject_trace.n, 2);
    assert_true(ox_p1_orname_eq(&a.rep.destination, &m.originator));
    ox_p1_apdu_free(&a);
    /* 1984 */
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_report_encode(&w, &r, OX_P1_1984), OX_E_UNSUPPORTED);
    ox_p1_report_free(&r);
    build_report(&r, &m, true);
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_report_encode(&w, &r, OX_P1_1984), 0);
    roundtrip(&w, OX_P1_1984, &a);
    ox_p1_apdu_free(&a);
    ox_p1_report_free(&r);
    ox_p1_message_free(&m);
    ox_buf_free(&w);
}

static void test_apdu_errors(void **state)
{
    (void)state;
    ox_p1_message m;
    sample_message(&m, 2, 1, false, ox_span_of("hi", 2));
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1988), 0);
    ox_p1_apdu a;
    ox_p1_diag diag;
    /* limit on recipients */
    ox_p1_limits lim = {.max_recipients = 1};
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&w), OX_P1_1988, &lim, NULL, &a, &diag),
                     OX_E_LIMIT);
    assert_int_equal(diag.reason, OX_P1_R_TOO_MANY);
    /* limit on trace */
    lim = (ox_p1_limits){.max_trace = 0};
    ox_p1_message_add_trace(&m, &m.trace.v[0]);
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &m, OX_P1_1988), 0);
    lim.max_trace = 1;
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&w), OX_P1_1988, &lim, NULL, &a, &diag),
                     OX_E_LIMIT);
    /* unknown APDU tag */
    static const uint8_t unk[] = {0xa5, 0x00};
    assert_int_equal(ox_p1_apdu_decode(ox_span_of(unk, 2), OX_P1_1988, NULL, NULL, &a, &diag),
                     OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_UNKNOWN);
    /* missing mandatory members: an empty envelope */
    static const uint8_t empty[] = {0xa0, 0x04, 0x31, 0x00, 0x04, 0x00};
    assert_int_equal(
        ox_p1_apdu_decode(ox_span_of(empty, sizeof(empty)), OX_P1_1988, NULL, NULL, &a, &diag),
        OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_MISSING);
    /* duplicate member: insert the content-identifier twice */
    {
        ox_buf d;
        ox_buf_init(&d, NULL, NULL, 0);
        size_t top = ox_ber_open(&d, OX_P1_TAG_APDU_MESSAGE);
        size_t s = ox_ber_open(&d, OX_BER_UNIV(OX_BER_T_SET));
        ox_ber_put_cstr(&d, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, "a");
        ox_ber_put_cstr(&d, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, "b");
        ox_ber_close(&d, s);
        ox_ber_put_octets(&d, 0, ox_span_of("", 0));
        ox_ber_close(&d, top);
        assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&d), OX_P1_1988, NULL, NULL, &a, &diag),
                         OX_E_PEER);
        assert_int_equal(diag.reason, OX_P1_R_DUPLICATE);
        /* unknown member [9] */
        ox_buf_reset(&d);
        top = ox_ber_open(&d, OX_P1_TAG_APDU_MESSAGE);
        s = ox_ber_open(&d, OX_BER_UNIV(OX_BER_T_SET));
        ox_ber_put_null(&d, OX_BER_CTX(9));
        ox_ber_close(&d, s);
        ox_ber_put_octets(&d, 0, ox_span_of("", 0));
        ox_ber_close(&d, top);
        assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&d), OX_P1_1988, NULL, NULL, &a, &diag),
                         OX_E_PEER);
        assert_int_equal(diag.reason, OX_P1_R_UNKNOWN);
        /* trailing garbage */
        ox_buf_reset(&d);
        ox_buf_append(&d, w.p, w.len);
        ox_buf_put_u8(&d, 0);
        assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&d), OX_P1_1988, NULL, NULL, &a, &diag),
                         OX_E_PEER);
        ox_buf_free(&d);
    }
    /* encoder refuses what it would refuse to read */
    ox_p1_message bad = m;
    bad.n_rcpt = 0;
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &bad, OX_P1_1988), OX_E_ARG);
    bad = m;
    strcpy(bad.content_id, "bad_char");
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &bad, OX_P1_1988), OX_E_ARG);
    bad = m;
    bad.content_type.extended = true;
    ox_oid_from_text(&bad.content_type.oid, "1.2.3.4");
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &bad, OX_P1_1984), OX_E_UNSUPPORTED);
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_message_encode(&w, &bad, OX_P1_1988), 0);
    roundtrip(&w, OX_P1_1988, &a);
    assert_true(a.msg.content_type.extended);
    ox_p1_apdu_free(&a);
    assert_int_equal(ox_p1_apdu_decode(ox_buf_span(&w), OX_P1_1984, NULL, NULL, &a, &diag),
                     OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_VERSION);
    ox_p1_message_free(&m);
    ox_buf_free(&w);
}

static void test_bind(void **state)
{
    (void)state;
    ox_p1_bind b;
    memset(&b, 0, sizeof(b));
    b.authenticated = true;
    strcpy(b.mta_name, "MTA-A");
    memcpy(b.password, "secret", 6);
    b.password_len = 6;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_p1_bind_encode(&w, &b, false, OX_P1_1988), 0);
    /* X.411: [1] SET { [0] IA5 "MTA-A", [1] { IA5String "secret" } } */
    static const uint8_t v[] = {0xa1, 0x11, 0x80, 0x05, 'M', 'T', 'A', '-', 'A', 0xa1,
                                0x08, 0x16, 0x06, 's',  'e', 'c', 'r', 'e', 't'};
    assert_int_equal(w.len, sizeof(v));
    assert_memory_equal(w.p, v, sizeof(v));
    ox_p1_bind back;
    ox_p1_diag diag;
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), false, OX_P1_1984, &back, &diag), 0);
    assert_string_equal(back.mta_name, "MTA-A");
    assert_int_equal(back.password_len, 6);
    assert_memory_equal(back.password, "secret", 6);
    /* octet password, security context (1988 only) */
    b.password_octets = true;
    static const uint8_t sc[] = {0x31, 0x00};
    b.security_context = ox_span_of(sc, 2);
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_bind_encode(&w, &b, false, OX_P1_1984), OX_E_UNSUPPORTED);
    assert_int_equal(ox_p1_bind_encode(&w, &b, true, OX_P1_1988), OX_E_ARG);
    assert_int_equal(ox_p1_bind_encode(&w, &b, false, OX_P1_1988), 0);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), false, OX_P1_1988, &back, &diag), 0);
    assert_true(back.password_octets);
    assert_int_equal(back.security_context.len, 2);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), false, OX_P1_1984, &back, &diag),
                     OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_VERSION);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), true, OX_P1_1988, &back, &diag),
                     OX_E_PEER); /* a result has no security context */
    /* re-encode equals */
    ox_buf w2;
    ox_buf_init(&w2, NULL, NULL, 0);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), false, OX_P1_1988, &back, &diag), 0);
    assert_int_equal(ox_p1_bind_encode(&w2, &back, false, OX_P1_1988), 0);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(w2.p, w.p, w.len);
    /* unauthenticated */
    memset(&b, 0, sizeof(b));
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_bind_encode(&w, &b, true, OX_P1_1988), 0);
    assert_int_equal(w.len, 2);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), true, OX_P1_1988, &back, &diag), 0);
    assert_false(back.authenticated);
    assert_int_equal(ox_p1_bind_decode(ox_buf_span(&w), true, OX_P1_1984, &back, &diag), OX_E_PEER);
    assert_int_equal(ox_p1_bind_encode(&w, &b, true, OX_P1_1984), OX_E_UNSUPPORTED);
    /* errors: missing credentials, password too long, protected credentials */
    static const uint8_t nocred[] = {0xa1, 0x03, 0x80, 0x01, 'M'};
    assert_int_equal(
        ox_p1_bind_decode(ox_span_of(nocred, sizeof(nocred)), false, OX_P1_1988, &back, &diag),
        OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_MISSING);
    static const uint8_t prot[] = {0xa1, 0x07, 0x80, 0x01, 'M', 0xa1, 0x02, 0xa1, 0x00};
    assert_int_equal(
        ox_p1_bind_decode(ox_span_of(prot, sizeof(prot)), false, OX_P1_1988, &back, &diag),
        OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_UNKNOWN);
    uint8_t longpw[80] = {0xa1, 0x4d, 0x80, 0x01, 'M', 0xa1, 0x48, 0x16, 0x46};
    memset(longpw + 9, 'p', 70);
    assert_int_equal(ox_p1_bind_decode(ox_span_of(longpw, 79), false, OX_P1_1988, &back, &diag),
                     OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_VALUE);
    /* bind errors */
    int e = -1;
    ox_buf_reset(&w);
    assert_int_equal(ox_p1_bind_error_encode(&w, OX_P1_BIND_AUTHENTICATION_ERROR), 0);
    static const uint8_t ev[] = {0x02, 0x01, 0x02};
    assert_memory_equal(w.p, ev, 3);
    assert_int_equal(ox_p1_bind_error_decode(ox_buf_span(&w), &e, &diag), 0);
    assert_int_equal(e, 2);
    assert_string_equal(ox_p1_bind_error_name(e), "authentication-error");
    assert_string_equal(ox_p1_bind_error_name(OX_P1_BIND_BUSY), "busy");
    assert_int_equal(ox_p1_bind_error_encode(&w, 999), OX_E_ARG);
    static const uint8_t ebad[] = {0x02, 0x02, 0x01, 0x01};
    assert_int_equal(ox_p1_bind_error_decode(ox_span_of(ebad, 4), &e, &diag), OX_E_PEER);
    ox_buf_free(&w);
    ox_buf_free(&w2);
}

static void test_vectors(void **state)
{
    (void)state;
    /* Files written by tool_p1_pcap --vectors and decoded cleanly by tshark
     * (tests/integration/p1_tshark.sh): decode, re-encode, byte-exact. */
    const char *files[] = {"message.hex", "report.hex", "probe.hex"};
    for (size_t i = 0; i < OX_ARRAY_LEN(files); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/p1/%s", OX_VECTORS_DIR, files[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "skip %s\n", path);
            continue;
        }
        static char text[1 << 18];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        ox_buf in;
        ox_buf_init(&in, NULL, NULL, 0);
        assert_int_equal(ox_hex_decode(&in, text), 0);
        ox_p1_apdu a;
        roundtrip(&in, OX_P1_1988, &a);
        ox_p1_apdu_free(&a);
        ox_buf_free(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orname_text),
        cmocka_unit_test(test_orname_ber),
        cmocka_unit_test(test_orname_vector),
        cmocka_unit_test(test_orname_errors),
        cmocka_unit_test(test_message_roundtrip),
        cmocka_unit_test(test_message_head_stream),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_apdu_errors),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
