/* fuzz_rtse.c - the X.228 APDU decoders, the streaming RTTR reader (input split at a point the
 * input chooses, content compared with the whole-element view) and the association
 * decoders, on any input. */
#include "openx400/rtse.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int encode(ox_buf *w, const ox_rtse_apdu *a)
{
    switch (a->kind) {
    case OX_RTSE_RTORQ: return ox_rtse_rtorq_encode(w, OX_RTSE_TAG_RTORQ, &a->u.rtorq);
    case OX_RTSE_RTOAC: return ox_rtse_rtoac_encode(w, OX_RTSE_TAG_RTOAC, &a->u.rtoac);
    case OX_RTSE_RTORJ: return ox_rtse_rtorj_encode(w, OX_RTSE_TAG_RTORJ, &a->u.rtorj);
    case OX_RTSE_RTAB: return ox_rtse_rtab_encode(w, OX_RTSE_TAG_RTAB, &a->u.rtab);
    case OX_RTSE_RTTP: return ox_rtse_rttp_encode(w, a->u.rttp);
    case OX_RTSE_RTTR:
        return a->u.rttr.constructed ? OX_E_ARG : ox_rtse_rttr_encode(w, a->u.rttr.content);
    }
    return OX_E_ARG;
}

static void stream(const uint8_t *data, size_t size, bool pdv, bool ext, size_t cut)
{
    ox_rtse_rttr_rd r;
    ox_rtse_rttr_rd_init(&r, pdv, ext);
    size_t pos = 0;
    uint64_t got = 0;
    const uint8_t *first = NULL;
    int rc = OX_E_AGAIN;
    while (pos < size) {
        size_t end = pos < cut && cut < size ? cut : size;
        size_t used;
        ox_span c;
        rc = ox_rtse_rttr_rd_feed(&r, ox_span_of(data + pos, end - pos), &used, &c);
        if (rc < 0 && rc != OX_E_AGAIN)
            return;
        if (used > end - pos || (c.len && (c.p < data + pos || c.p + c.len > data + pos + used)))
            __builtin_trap();
        if (c.len && !first)
            first = c.p;
        got += c.len;
        pos += used;
        if (rc == 1)
            break;
        if (used == 0)
            __builtin_trap(); /* no progress */
    }
    if (rc == 1 && got != r.content_len)
        __builtin_trap();
    if (rc == 1 && !pdv && !ext) {
        /* The bare RTTR: the whole-element decoder must see the same content. */
        ox_rtse_apdu a;
        if (ox_rtse_apdu_decode(ox_span_of(data, pos), NULL, &a, NULL) != 0 ||
            a.kind != OX_RTSE_RTTR || a.u.rttr.content.len != got ||
            (got && a.u.rttr.content.p != first))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ox_ber_limits lim = {.max_depth = 32, .max_size = 1 << 20};
    ox_pres_limits plim = {.ber = lim};
    ox_ber_diag d;
    static ox_rtse_apdu a, b;
    ox_buf w1, w2;
    ox_buf_init(&w1, NULL, NULL, 0);
    ox_buf_init(&w2, NULL, NULL, 0);
    int rc = ox_rtse_apdu_decode(ox_span_of(data, size), &lim, &a, &d);
    if (rc != 0 && d.reason == OX_BER_R_NONE)
        __builtin_trap();
    if (rc == 0 && encode(&w1, &a) == 0) {
        if (ox_rtse_apdu_decode(ox_buf_span(&w1), NULL, &b, NULL) != 0 || b.kind != a.kind ||
            encode(&w2, &b) != 0 || !ox_span_eq(ox_buf_span(&w1), ox_buf_span(&w2)))
            __builtin_trap();
    }
    ox_buf_free(&w1);
    ox_buf_free(&w2);
    /* The same SETs under their 1984 tags. */
    ox_rtse_rtorq rq;
    ox_rtse_rtoac ac;
    ox_rtse_rtorj rj;
    ox_rtse_rtab ab;
    (void)ox_rtse_rtorq_decode(ox_span_of(data, size), OX_RTSE_TAG_X410_PARAMS, &lim, &rq, &d);
    (void)ox_rtse_rtoac_decode(ox_span_of(data, size), OX_RTSE_TAG_X410_PARAMS, &lim, &ac, &d);
    (void)ox_rtse_rtorj_decode(ox_span_of(data, size), OX_RTSE_TAG_SET, &lim, &rj, &d);
    (void)ox_rtse_rtab_decode(ox_span_of(data, size), OX_RTSE_TAG_SET, &lim, &ab, &d);
    /* Streaming, in all framings, split where the last byte says. */
    size_t cut = size ? data[size - 1] % (size + 1) : 0;
    stream(data, size, true, true, cut);
    stream(data, size, false, true, cut);
    stream(data, size, false, false, cut);
    /* Association decoders. */
    static ox_rtse_assoc_rq arq;
    static ox_rtse_assoc_ac aac;
    static ox_rtse_assoc_rj arj;
    (void)ox_rtse_assoc_decode_cp(ox_span_of(data, size), &plim, &arq, &d);
    (void)ox_rtse_assoc_decode_cpa(ox_span_of(data, size), &plim, &aac, &d);
    (void)ox_rtse_assoc_decode_cpr(ox_span_of(data, size), &plim, &arj, &d);
    return 0;
}
