/* fuzz_assoc.c - arbitrary bytes into a responder association, in pieces the input chooses,
 * with the answers a daemon would give (accept, confirm, give the turn, resume with nothing).
 * The first octet picks the split size; the machine must never crash, leak or loop, and must
 * end OPEN, CLOSED or ABORTED with an ABORT_IND for every fault. */
#include "openx400/assoc.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    data++, size--;
    ox_assoc a;
    ox_assoc_cfg cfg = {.role = OX_ASSOC_RESPONDER, .checkpoint = 1024, .window = 3};
    if (ox_assoc_init(&a, &cfg) != 0) {
        ox_assoc_free(&a);
        return 0;
    }
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    size_t off = 0;
    uint64_t now = 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used = 0;
        int rc = ox_assoc_feed(&a, ox_span_of(data + off, n), now++, &out, &used);
        ox_assoc_ev e;
        while (ox_assoc_next_event(&a, &e)) {
            switch (e.kind) {
            case OX_ASSOC_EV_OPEN_IND: ox_assoc_accept(&a, ox_span_of(NULL, 0), &out); break;
            case OX_ASSOC_EV_TRANSFER_END_IND: ox_assoc_transfer_confirm(&a, &out); break;
            case OX_ASSOC_EV_TRANSFER_RESUME_IND: ox_assoc_resume_rx(&a, NULL, &out); break;
            case OX_ASSOC_EV_TURN_PLEASE_IND: ox_assoc_turn_give(&a, &out); break;
            default: break;
            }
        }
        ox_buf_reset(&out);
        off += used;
        if (!used && (rc || n == 0))
            break;
        if (!used)
            off += n; /* a machine that takes nothing and says nothing: skip */
    }
    uint64_t next;
    ox_assoc_tick(&a, now + 10000000, &out, &next);
    ox_assoc_free(&a);
    ox_buf_free(&out);
    return 0;
}
