/* fuzz_ses.c - the session machine driven by arbitrary TSDUs. Input: a sequence of
 * (length octet, TSDU) records; the first byte picks the role and whether the machine starts
 * connected (initiator after a CN, or responder after accepting a canned CN). */
#include "openx400/ses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ox_ses s;
    ox_ses_cfg c = {.role = (data[0] & 1) ? OX_SES_INITIATOR : OX_SES_RESPONDER};
    if ((data[0] & 2))
        c.requirements = OX_SES_FU_DUPLEX | OX_SES_FU_MINOR_SYNC | OX_SES_FU_ACTIVITY;
    if (ox_ses_init(&s, &c))
        return 0;
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    if (c.role == OX_SES_INITIATOR)
        ox_ses_connect(&s, NULL, &out);
    size_t off = 1;
    uint64_t now = 0;
    while (off < size) {
        size_t len = data[off++];
        if (len > size - off)
            len = size - off;
        ox_buf_reset(&out);
        int rc = ox_ses_feed(&s, ox_span_of(data + off, len), now++, &out);
        off += len;
        ox_ses_ev ev;
        while (ox_ses_next_event(&s, &ev)) {
            /* answer what needs answering, so that the machine goes deep */
            switch (ev.kind) {
            case OX_SES_EV_CONNECT_IND: ox_ses_accept(&s, NULL, &out); break;
            case OX_SES_EV_MINOR_SYNC_IND:
                ox_ses_minor_sync_rsp(&s, ev.serial, ev.user_data, &out);
                break;
            case OX_SES_EV_ACTIVITY_END_IND: ox_ses_activity_end_rsp(&s, ev.user_data, &out); break;
            case OX_SES_EV_ACTIVITY_INTERRUPT_IND: ox_ses_activity_interrupt_rsp(&s, &out); break;
            case OX_SES_EV_ACTIVITY_DISCARD_IND: ox_ses_activity_discard_rsp(&s, &out); break;
            case OX_SES_EV_TOKEN_PLEASE_IND: ox_ses_give_tokens(&s, ev.tokens, &out); break;
            case OX_SES_EV_RELEASE_IND: ox_ses_release_rsp(&s, ev.user_data, &out); break;
            case OX_SES_EV_DATA_IND: ox_ses_data(&s, ev.user_data, &out); break;
            default: break;
            }
        }
        if (rc == OX_E_STATE)
            break;
    }
    ox_ses_free(&s);
    ox_buf_free(&out);
    return 0;
}
