/* tool_p1_pcap.c - writes P1 MTS-APDUs (message carrying an IPM, report, probe) into a pcap
 *                  that tshark decodes with its p1 and p22 dissectors
 *
 * Why: the OSI stack is written in parallel, so P1 reaches tshark through a hand-built
 *      wrapping: Ethernet/IPv4/TCP port 102 -> TPKT -> COTP DT -> session GT+AS, GT+DT,
 *      GT+AE(MAP) (one RTSE transfer per activity) -> presentation fully-encoded data on
 *      context 3 -> RTSE RTTR (OCTET STRING holding an EXTERNAL with indirect-reference 5) ->
 *      MTS-APDU. Contexts 3 and 5 are mapped to id-as-mta-rtse (2.6.0.2.12) and id-as-mtse
 *      (2.6.0.2.7) by the presentation "pres_context_list" UAT the caller writes into
 *      WIRESHARK_CONFIG_DIR (see docs/P1.md), since no CP is sent.
 * Usage: tool_p1_pcap OUT.pcap IPM.hex [VECTOR_DIR]
 *      VECTOR_DIR: also writes message.hex, report.hex and probe.hex there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openx400/p1.h"

static ox_p1_gdi gdi_of(const char *c, const char *a, const char *p)
{
    ox_p1_gdi g;
    memset(&g, 0, sizeof(g));
    snprintf(g.country, sizeof(g.country), "%s", c);
    snprintf(g.admd, sizeof(g.admd), "%s", a);
    snprintf(g.prmd, sizeof(g.prmd), "%s", p);
    return g;
}

static int build_message(ox_p1_message *m, ox_span content, ox_buf *ext_store)
{
    ox_p1_message_init(m, NULL);
    m->id.gdi = gdi_of("GB", " ", "Site");
    snprintf(m->id.local_id, sizeof(m->id.local_id), "msg-0001@site");
    if (ox_p1_orname_parse(&m->originator, "C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John"))
        return -1;
    m->content_type.builtin = OX_P1_CT_P22_1988;
    m->priority = OX_P1_PRIO_URGENT;
    m->orig_eits.present = true;
    m->orig_eits.builtin = OX_P1_EIT_IA5_TEXT;
    for (int i = 0; i < 5; i++) {
        ox_p1_trace t;
        memset(&t, 0, sizeof(t));
        t.gdi = gdi_of("GB", " ", i % 2 ? "Relay" : "Site");
        t.arrival = 1700000000 + i;
        if (ox_p1_message_add_trace(m, &t))
            return -1;
    }
    for (int i = 0; i < 10; i++) {
        ox_p1_recipient r;
        memset(&r, 0, sizeof(r));
        char t[96];
        snprintf(t, sizeof(t), "C=GB;A= ;P=Far;O=Dest;S=User%d", i);
        if (ox_p1_orname_parse(&r.name, t))
            return -1;
        r.orig_number = i + 1;
        r.indicators = OX_P1_PRI_RESPONSIBILITY | OX_P1_PRI_MTA_NDR | OX_P1_PRI_ORIG_NDR;
        r.explicit_conversion = -1;
        if (ox_p1_message_add_recipient(m, &r))
            return -1;
    }
    ox_p1_traces it = {0};
    ox_p1_trace t;
    memset(&t, 0, sizeof(t));
    t.gdi = gdi_of("GB", " ", "Site");
    snprintf(t.mta, sizeof(t.mta), "mta1.site");
    t.arrival = 1700000000;
    ox_buf v;
    ox_buf_init(&v, NULL, NULL, 0);
    ox_p1_ext e;
    if (ox_p1_traces_add(&it, NULL, &t, 0) || ox_p1_internal_trace_encode(&v, &it) ||
        ox_p1_ext_build(ext_store, OX_P1_EXT_INTERNAL_TRACE, 0, ox_buf_span(&v), &e) ||
        ox_p1_exts_add(&m->exts, NULL, &e, 0))
        return -1;
    free(it.v);
    ox_buf_free(&v);
    m->content = content;
    return 0;
}

/* ---- pcap writing ---- */
static void put32le(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint32_t seq = 1;
static void write_segment(FILE *f, const uint8_t *payload, size_t len, uint32_t ts)
{
    uint8_t h[54];
    memset(h, 0, sizeof(h));
    h[12] = 0x08; /* Ethernet: IPv4 */
    uint8_t *ip = h + 14, *tcp = h + 34;
    size_t iplen = 40 + len;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = ip[16] = 127;
    ip[15] = ip[19] = 1;
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    tcp[0] = 40000 >> 8;
    tcp[1] = 40000 & 0xff;
    tcp[3] = 102; /* ISO-TSAP */
    tcp[4] = (uint8_t)(seq >> 24);
    tcp[5] = (uint8_t)(seq >> 16);
    tcp[6] = (uint8_t)(seq >> 8);
    tcp[7] = (uint8_t)seq;
    tcp[11] = 1;
    tcp[12] = 0x50;
    tcp[13] = 0x18; /* PSH ACK */
    tcp[14] = tcp[15] = 0xff;
    seq += (uint32_t)len;
    put32le(f, ts);
    put32le(f, 0);
    put32le(f, (uint32_t)(sizeof(h) + len));
    put32le(f, (uint32_t)(sizeof(h) + len));
    fwrite(h, 1, sizeof(h), f);
    fwrite(payload, 1, len, f);
}

/* TPKT (RFC 1006) + COTP DT with EOT (ISO 8073 class 0) around |spdus|. */
static void write_tpdu(FILE *f, const ox_buf *spdus, uint32_t ts)
{
    ox_buf t;
    ox_buf_init(&t, NULL, NULL, 0);
    size_t len = 4 + 3 + spdus->len;
    uint8_t hdr[7] = {3, 0, (uint8_t)(len >> 8), (uint8_t)len, 2, 0xf0, 0x80};
    ox_buf_append(&t, hdr, sizeof(hdr));
    ox_buf_append(&t, spdus->p, spdus->len);
    write_segment(f, t.p, t.len, ts);
    ox_buf_free(&t);
}

/* One RTSE transfer: GT+AS, GT+DT(RTTR), GT+AE. */
static void write_transfer(FILE *f, ox_span apdu, uint32_t *ts)
{
    ox_buf s;
    ox_buf_init(&s, NULL, NULL, 0);
    /* X.225: GT (1), AS (45) with Activity Identifier (41) */
    static const uint8_t as[] = {0x01, 0x00, 0x2d, 0x05, 0x29, 0x03, '0', '0', '1'};
    ox_buf_append(&s, as, sizeof(as));
    write_tpdu(f, &s, (*ts)++);
    ox_buf_reset(&s);
    /* RTTR ::= OCTET STRING holding EXTERNAL { indirect-reference 5, single-ASN1-type } */
    ox_buf r;
    ox_buf_init(&r, NULL, NULL, 0);
    size_t o = ox_ber_open(&r, OX_BER_UNIV(OX_BER_T_OCTET_STRING)); /* patched to primitive */
    size_t x = ox_ber_open(&r, OX_BER_UNIV(OX_BER_T_EXTERNAL));
    ox_ber_put_int(&r, 0, 5);
    size_t sa = ox_ber_open(&r, OX_BER_CTX(0));
    ox_ber_put_raw(&r, apdu);
    ox_ber_close(&r, sa);
    ox_ber_close(&r, x);
    ox_ber_close(&r, o);
    r.p[0] = 0x04;
    /* X.226 User-data fully-encoded-data [APPLICATION 1] SEQUENCE OF PDV-list { pcid 3,
     * single-ASN1-type [0] } */
    ox_buf p;
    ox_buf_init(&p, NULL, NULL, 0);
    size_t fe = ox_ber_open(&p, OX_BER_APP(1));
    size_t pdv = ox_ber_open(&p, OX_BER_UNIV(OX_BER_T_SEQUENCE));
    ox_ber_put_int(&p, 0, 3);
    size_t one = ox_ber_open(&p, OX_BER_CTX(0));
    ox_ber_put_raw(&p, ox_buf_span(&r));
    ox_ber_close(&p, one);
    ox_ber_close(&p, pdv);
    ox_ber_close(&p, fe);
    /* GT then DT (1) whose length is 0 and user data follows */
    static const uint8_t gtdt[] = {0x01, 0x00, 0x01, 0x00};
    ox_buf_append(&s, gtdt, sizeof(gtdt));
    ox_buf_append(&s, p.p, p.len);
    write_tpdu(f, &s, (*ts)++);
    ox_buf_reset(&s);
    /* GT + AE (shown as MAP 41) with Serial Number (42) */
    static const uint8_t ae[] = {0x01, 0x00, 0x29, 0x03, 0x2a, 0x01, '1'};
    ox_buf_append(&s, ae, sizeof(ae));
    write_tpdu(f, &s, (*ts)++);
    ox_buf_free(&s);
    ox_buf_free(&r);
    ox_buf_free(&p);
}

static int write_hex(const char *dir, const char *name, ox_span b)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    char *hex = malloc(b.len * 2 + 1);
    if (!hex) {
        fclose(f);
        return -1;
    }
    ox_hex_encode(hex, b.len * 2 + 1, b);
    fprintf(f,
            "# P1 MTS-APDU (%s) written by tool_p1_pcap; decoded by tshark 4.0 p1/p22 with "
            "no malformed or expert errors (tests/integration/p1_tshark.sh)\n",
            name);
    for (size_t i = 0; i < b.len * 2; i += 64)
        fprintf(f, "%.64s\n", hex + i);
    free(hex);
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUT.pcap IPM.hex [VECTOR_DIR]\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[2], "r");
    if (!in)
        return perror(argv[2]), 1;
    static char text[1 << 18];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    ox_buf ipm, store, msg, rep, probe;
    ox_buf_init(&ipm, NULL, NULL, 0);
    static uint8_t st[1024];
    ox_buf_init(&store, NULL, st, sizeof(st));
    store.max = sizeof(st);
    ox_buf_init(&msg, NULL, NULL, 0);
    ox_buf_init(&rep, NULL, NULL, 0);
    ox_buf_init(&probe, NULL, NULL, 0);
    if (ox_hex_decode(&ipm, text))
        return fprintf(stderr, "bad hex in %s\n", argv[2]), 1;

    ox_p1_message m;
    if (build_message(&m, ox_buf_span(&ipm), &store) || ox_p1_message_encode(&msg, &m, OX_P1_1988))
        return fprintf(stderr, "message encode failed\n"), 1;
    ox_p1_report r;
    ox_p1_report_init(&r, NULL);
    ox_p1_mtsid rid = m.id;
    snprintf(rid.local_id, sizeof(rid.local_id), "rep-0001@far");
    ox_p1_trace here;
    memset(&here, 0, sizeof(here));
    here.gdi = gdi_of("GB", " ", "Far");
    here.arrival = 1700000100;
    if (ox_p1_report_for(&r, &m, &rid, &here))
        return 1;
    for (uint32_t i = 0; i < 2; i++) {
        ox_p1_report_recipient rr;
        ox_p1_report_recipient_for(&rr, &m, i, i == 0, 1700000200, OX_P1_NDR_UNABLE_TO_TRANSFER,
                                   OX_P1_DIAG_UNRECOGNISED_ORNAME);
        if (ox_p1_report_add_recipient(&r, &rr))
            return 1;
    }
    if (ox_p1_report_encode(&rep, &r, OX_P1_1988))
        return fprintf(stderr, "report encode failed\n"), 1;
    m.is_probe = true;
    snprintf(m.id.local_id, sizeof(m.id.local_id), "probe-0001@site");
    m.has_content_length = true;
    m.content_length = (int64_t)ipm.len;
    if (ox_p1_message_encode(&probe, &m, OX_P1_1988))
        return fprintf(stderr, "probe encode failed\n"), 1;

    FILE *f = fopen(argv[1], "wb");
    if (!f)
        return perror(argv[1]), 1;
    put32le(f, 0xa1b2c3d4);
    uint8_t ver[4] = {2, 0, 4, 0};
    fwrite(ver, 1, 4, f);
    put32le(f, 0);
    put32le(f, 0);
    put32le(f, 65535);
    put32le(f, 1); /* LINKTYPE_ETHERNET */
    uint32_t ts = 1700000000;
    write_transfer(f, ox_buf_span(&msg), &ts);
    write_transfer(f, ox_buf_span(&rep), &ts);
    write_transfer(f, ox_buf_span(&probe), &ts);
    if (fclose(f))
        return 1;
    if (argc > 3 && (write_hex(argv[3], "message.hex", ox_buf_span(&msg)) ||
                     write_hex(argv[3], "report.hex", ox_buf_span(&rep)) ||
                     write_hex(argv[3], "probe.hex", ox_buf_span(&probe))))
        return fprintf(stderr, "cannot write vectors\n"), 1;
    printf("message %zu report %zu probe %zu octets\n", msg.len, rep.len, probe.len);
    ox_p1_message_free(&m);
    ox_p1_report_free(&r);
    ox_buf_free(&ipm);
    ox_buf_free(&msg);
    ox_buf_free(&rep);
    ox_buf_free(&probe);
    ox_buf_free(&store);
    return 0;
}
