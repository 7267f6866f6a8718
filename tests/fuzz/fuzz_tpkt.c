/* fuzz_tpkt.c - the TPKT/COTP decoder and class 0 machine on arbitrary bytes, as responder
 * and (after a CR) as initiator; the first byte picks the role and a split point. */
#include "openx400/tpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ox_tpkt t;
    ox_tpkt_cfg c = {.role = (data[0] & 1) ? OX_TPKT_INITIATOR : OX_TPKT_RESPONDER,
                     .max_tpdu = (data[0] & 2) ? 128 : 0,
                     .limits = {.max_tsdu = 4096}};
    if (ox_tpkt_init(&t, &c, NULL))
        return 0;
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    if (c.role == OX_TPKT_INITIATOR)
        ox_tpkt_connect(&t, &out);
    size_t split = data[0] >> 2, off = 1;
    while (off < size) {
        size_t n = size - off;
        if (split && n > split)
            n = split;
        size_t used;
        int rc = ox_tpkt_feed(&t, ox_span_of(data + off, n), &used, &out);
        off += used;
        ox_tpkt_ev ev;
        while (ox_tpkt_next_event(&t, &ev)) {
            if (ev.kind == OX_TPKT_EV_CONNECT_IND)
                ox_tpkt_accept(&t, &out);
            if (ev.kind == OX_TPKT_EV_DATA_IND)
                ox_tpkt_send(&t, ev.data, &out);
        }
        if (rc || used == 0)
            break;
        ox_buf_reset(&out);
    }
    ox_tpkt_free(&t);
    ox_buf_free(&out);
    return 0;
}
