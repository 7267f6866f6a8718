/* rtse.h - X.228 RTSE APDU codec, streaming RTTR framing and the MTA association assembly
 *
 * Why: RTSE is what P1 rides on. This header has three parts, all pure functions:
 *      1. the APDU codec (RTORQ, RTOAC, RTORJ, RTTP, RTTR, RTAB) with the outer tag as a
 *         parameter, because the same SETs appear as [16]/[17]/[18]/[22] in normal mode and as
 *         the x410-mode-parameters [1] (or a bare SET) of the 1984 PConnect/PAccept/PRefuse;
 *      2. streaming RTTR framing: the headers of a P-DATA / RTTR / EXTERNAL of known total
 *         length, written before the content, and an incremental reader that returns the
 *         content as views of each received chunk (a 100 MB message is never held whole);
 *      3. the association assembly: the CP user data (contexts + AARQ + RTORQ) an MTA sends,
 *         the CPA (AARE + RTOAC) and CPR (AARE reject + RTORJ) it answers, and the 1984
 *         PConnect/PAccept/PRefuse, built and parsed in one call each.
 * Shape: decoders borrow their input and return views into it; encoders append to a
 *      caller-owned ox_buf (sticky error) and borrow every span. No state, no allocation
 *      beyond the output buffer.
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag; the assembly decoders report a
 *      wrong application context or missing context/EXTERNAL as OX_E_PEER with reason
 *      UNEXPECTED_TAG or TRUNC_TAG at the offending element.
 * Standards: X.228 (1988) / ISO 9066-2 (Reliable-Transfer-APDUs); X.410 (1984) 6 (1984 mode);
 *      X.419 (1999) 11.2-11.3 (mts-transfer context, MTA-bind over RT-OPEN); X.219 9 (BIND
 *      macro: argument [16], result [17], error [18]). See docs/UPPER-LAYERS.md. */
#ifndef OPENX400_RTSE_H
#define OPENX400_RTSE_H

#include "openx400/acse.h"
#include "openx400/pres.h"

/* ---- Tags (Reliable-Transfer-APDUs) ---- */
#define OX_RTSE_TAG_RTORQ       OX_BER_CTX(16) /* rtorq-apdu [16] IMPLICIT RTORQapdu (SET) */
#define OX_RTSE_TAG_RTOAC       OX_BER_CTX(17) /* rtoac-apdu [17] IMPLICIT RTOACapdu */
#define OX_RTSE_TAG_RTORJ       OX_BER_CTX(18) /* rtorj-apdu [18] IMPLICIT RTORJapdu */
#define OX_RTSE_TAG_RTTP        OX_BER_UNIV(OX_BER_T_INTEGER)      /* rttp-apdu RTTPapdu */
#define OX_RTSE_TAG_RTTR        OX_BER_UNIV(OX_BER_T_OCTET_STRING) /* rttr-apdu RTTRapdu */
#define OX_RTSE_TAG_RTAB        OX_BER_CTX(22)            /* rtab-apdu [22] IMPLICIT RTABapdu */
#define OX_RTSE_TAG_SET         OX_BER_UNIV(OX_BER_T_SET) /* the bare SETs (1984 PRefuse, ARU) */
#define OX_RTSE_TAG_CKPT        OX_BER_CTX(0) /* checkpointSize [0] IMPLICIT INTEGER DEFAULT 0 */
#define OX_RTSE_TAG_WINDOW      OX_BER_CTX(1) /* windowSize [1] IMPLICIT INTEGER DEFAULT 3 */
#define OX_RTSE_TAG_DIALOGUE    OX_BER_CTX(2) /* RTORQ dialogueMode [2] IMPLICIT INTEGER */
#define OX_RTSE_TAG_CONN_RQ     OX_BER_CTX(3) /* RTORQ connectionDataRQ [3] ConnectionData */
#define OX_RTSE_TAG_APP_PROTO   OX_BER_CTX(4) /* RTORQ applicationProtocol [4] IMPLICIT INT */
#define OX_RTSE_TAG_CONN_AC     OX_BER_CTX(2) /* RTOAC connectionDataAC [2] ConnectionData */
#define OX_RTSE_TAG_OPEN        OX_BER_CTX(0) /* ConnectionData open [0] ANY (explicit) */
#define OX_RTSE_TAG_RECOVER     OX_BER_CTX(1) /* recover [1] IMPLICIT SessionConnectionId */
#define OX_RTSE_TAG_ADD_REF     OX_BER_CTX(0) /* additionalReferenceInformation [0] IMPLICIT */
#define OX_RTSE_TAG_REFUSE_RSN  OX_BER_CTX(0) /* RTORJ refuseReason [0] IMPLICIT INTEGER */
#define OX_RTSE_TAG_USER_RJ     OX_BER_CTX(1) /* RTORJ userDataRJ [1] ANY (explicit) */
#define OX_RTSE_TAG_ABORT_RSN   OX_BER_CTX(0) /* RTAB abortReason [0] IMPLICIT INTEGER */
#define OX_RTSE_TAG_REFLECTED   OX_BER_CTX(1) /* RTAB reflectedParameter [1] IMPLICIT BITS */
#define OX_RTSE_TAG_USER_AB     OX_BER_CTX(2) /* RTAB userdataAB [2] ANY (explicit) */
#define OX_RTSE_TAG_X410_PARAMS OX_BER_CTX(1) /* X.226 x410-mode-parameters [1] IMPLICIT */
/* X.219 BIND macro values carried in RTORQ open / RTOAC open / RTORJ userDataRJ. */
#define OX_RTSE_TAG_BIND_ARG OX_BER_CTX(16) /* ARGUMENT value [16] EXPLICIT */
#define OX_RTSE_TAG_BIND_RES OX_BER_CTX(17) /* RESULT value [17] EXPLICIT */
#define OX_RTSE_TAG_BIND_ERR OX_BER_CTX(18) /* ERROR value [18] EXPLICIT */

enum { OX_RTSE_MONOLOGUE = 0, OX_RTSE_TWA = 1 };
/* RTORQ applicationProtocol (X.419: solely in X.410-1984 mode). */
enum { OX_RTSE_APP_P1_1984 = 1, OX_RTSE_APP_P1 = 12 };
/* RefuseReason */
enum {
    OX_RTSE_RJ_BUSY = 0,
    OX_RTSE_RJ_CANNOT_RECOVER = 1,
    OX_RTSE_RJ_VALIDATION_FAILURE = 2,
    OX_RTSE_RJ_UNACCEPTABLE_DIALOGUE = 3,
};
/* AbortReason */
enum {
    OX_RTSE_AB_LOCAL_SYSTEM_PROBLEM = 0,
    OX_RTSE_AB_INVALID_PARAMETER = 1,
    OX_RTSE_AB_UNRECOGNIZED_ACTIVITY = 2,
    OX_RTSE_AB_TEMPORARY_PROBLEM = 3,
    OX_RTSE_AB_PROTOCOL_ERROR = 4,
    OX_RTSE_AB_PERMANENT_PROBLEM = 5,
    OX_RTSE_AB_USER_ERROR = 6,
    OX_RTSE_AB_TRANSFER_COMPLETED = 7,
};
#define OX_RTSE_DEFAULT_CKPT   0 /* X.228 DEFAULT values, omitted on encode */
#define OX_RTSE_DEFAULT_WINDOW 3

/* ConnectionData ::= CHOICE { open [0] ANY, recover [1] IMPLICIT SessionConnectionIdentifier } */
typedef struct ox_rtse_conn_data {
    bool recover;
    /* open: one encoded ASN.1 element (the bind value, e.g. [16] MTABindArgument), or empty
     * for "no user data", sent as [0] IMPLICIT NULL as X.228 says. */
    ox_span open;
    /* recover: CallingSSuserReference (T61String in 1984 mode, OCTET STRING in normal mode),
     * CommonReference (UTCTime text), additionalReferenceInformation (T61String, optional). */
    bool ref_t61;
    ox_span calling_ref;
    ox_span common_ref;
    ox_span additional; /* p == NULL: absent */
} ox_rtse_conn_data;

typedef struct ox_rtse_rtorq {
    int64_t checkpoint; /* kilo-octets; 0: no checkpointing */
    int64_t window;
    int64_t dialogue; /* OX_RTSE_MONOLOGUE / OX_RTSE_TWA */
    ox_rtse_conn_data conn;
    bool has_app_proto;
    int64_t app_proto; /* OX_RTSE_APP_* (1984 mode only) */
} ox_rtse_rtorq;

typedef struct ox_rtse_rtoac {
    int64_t checkpoint;
    int64_t window;
    ox_rtse_conn_data conn;
} ox_rtse_rtoac;

typedef struct ox_rtse_rtorj {
    bool has_reason;
    int64_t reason;    /* OX_RTSE_RJ_* (1984 mode) */
    ox_span user_data; /* one element (normal mode), e.g. [18] bind error; p == NULL: absent */
} ox_rtse_rtorj;

typedef struct ox_rtse_rtab {
    bool has_reason;
    int64_t reason; /* OX_RTSE_AB_* */
    bool has_reflected;
    ox_span reflected; /* BIT STRING contents including the unused-bits octet */
    ox_span user_data; /* one element; p == NULL: absent */
} ox_rtse_rtab;

typedef enum ox_rtse_kind {
    OX_RTSE_RTORQ = 0,
    OX_RTSE_RTOAC = 1,
    OX_RTSE_RTORJ = 2,
    OX_RTSE_RTTP = 3,
    OX_RTSE_RTTR = 4,
    OX_RTSE_RTAB = 5,
} ox_rtse_kind;

typedef struct ox_rtse_apdu {
    ox_rtse_kind kind;
    union {
        ox_rtse_rtorq rtorq;
        ox_rtse_rtoac rtoac;
        ox_rtse_rtorj rtorj;
        int64_t rttp; /* priority */
        struct {
            ox_span content;  /* primitive: the octets; constructed: the whole element */
            bool constructed; /* reassemble with ox_ber_read_octets */
        } rttr;
        ox_rtse_rtab rtab;
    } u;
} ox_rtse_apdu;

/* ---- APDU codec ----
 * Encoders append one element to |w| with outer tag |tag| (e.g. OX_RTSE_TAG_RTORQ in normal
 * mode, OX_RTSE_TAG_X410_PARAMS inside a 1984 PConnect, OX_RTSE_TAG_SET for a 1984 PRefuse);
 * DEFAULT values are omitted. Borrow everything. Return w->err (0, OX_E_NOMEM, OX_E_LIMIT)
 * or OX_E_ARG (value out of its range, missing reason). */
int ox_rtse_rtorq_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtorq *r);
int ox_rtse_rtoac_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtoac *r);
int ox_rtse_rtorj_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtorj *r);
int ox_rtse_rtab_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtab *r);
int ox_rtse_rttp_encode(ox_buf *w, int64_t priority);
/* A whole RTTR (OCTET STRING) holding |content|; for large content see the streaming part. */
int ox_rtse_rttr_encode(ox_buf *w, ox_span content);

/* Decoders: |in| is exactly one element with outer tag |tag| (borrowed; views valid as long
 * as |in|); |lim|, |diag| may be NULL. Return 0, OX_E_PEER or OX_E_LIMIT. */
int ox_rtse_rtorq_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtorq *r,
                         ox_ber_diag *diag);
int ox_rtse_rtoac_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtoac *r,
                         ox_ber_diag *diag);
int ox_rtse_rtorj_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtorj *r,
                         ox_ber_diag *diag);
int ox_rtse_rtab_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtab *r,
                        ox_ber_diag *diag);
/* RTSE-apdus CHOICE (normal mode, and the RTTP/RTTR sent raw in 1984 mode). */
int ox_rtse_apdu_decode(ox_span in, const ox_ber_limits *lim, ox_rtse_apdu *a, ox_ber_diag *diag);

/* ---- Streaming RTTR ----
 * Wire form (docs/UPPER-LAYERS.md): all lengths definite and minimal.
 *   normal mode:  61 L { 30 L { 02 ctx  a0 L { 04 L { 28 L { [06 direct] [02 indirect]
 *                 a0 L { <content> } } } } } }
 *                 = Fully-encoded-data / PDV-list(ctx, single-ASN1-type) / RTTR OCTET STRING /
 *                   EXTERNAL(single-ASN1-type) / the MTS-APDU
 *   1984 mode:    04 L { <content> }   (raw S-DATA user data, no presentation PCI)
 * Flags pick the layers: |pdv| for the presentation wrapping, |external| for the EXTERNAL. */
typedef struct ox_rtse_rttr_frame {
    bool pdv;
    int64_t pdv_ctx; /* presentation context of the RTSE abstract syntax (id-as-mta-rtse) */
    bool external;
    bool ext_has_direct;
    ox_oid ext_direct;
    bool ext_has_indirect;
    int64_t ext_indirect; /* presentation context of the content (id-as-mtse) */
} ox_rtse_rttr_frame;

/* Appends the headers for |content_len| content octets; the caller then appends exactly that
 * many octets (in any number of pieces) and the element is complete. Borrows |f|.
 * Returns w->err or OX_E_ARG (a frame with no reference in its EXTERNAL). */
int ox_rtse_rttr_begin(ox_buf *w, const ox_rtse_rttr_frame *f, uint64_t content_len);

/* Incremental reader for the same framing. Initialise with ox_rtse_rttr_rd_init, then give it
 * each received chunk: it keeps at most OX_RTSE_RTTR_HDR_MAX header octets and hands back the
 * content as views into the chunk. */
#define OX_RTSE_RTTR_HDR_MAX 160 /* headers of 6 nested elements plus two references */
typedef struct ox_rtse_rttr_rd {
    bool pdv, external; /* the framing expected */
    uint8_t hdr[OX_RTSE_RTTR_HDR_MAX];
    size_t hdr_len;
    bool in_content;
    uint64_t remaining;     /* content octets still to come */
    uint64_t content_len;   /* total, known once the headers are read */
    ox_rtse_rttr_frame got; /* references as received (valid once in_content) */
    int err;                /* sticky */
    ox_ber_diag diag;
    bool segments; /* fed the contents of successive RTTR segments: EXTERNAL first */
} ox_rtse_rttr_rd;

void ox_rtse_rttr_rd_init(ox_rtse_rttr_rd *r, bool pdv, bool external);
/* Segmented transfer (X.228 9.4, normal mode): each S-DATA carries one whole RTTR APDU, an
 * OCTET STRING holding the next segment of the EXTERNAL's encoding; the caller unwraps each
 * RTTR and feeds the reader the segments' contents, which start with the EXTERNAL header. */
void ox_rtse_rttr_rd_init_segments(ox_rtse_rttr_rd *r);
/* The EXTERNAL's headers alone (the start of the first segment of a segmented transfer):
 * as ox_rtse_rttr_begin with |f|'s EXTERNAL references and no PDV or OCTET STRING. */
int ox_rtse_external_begin(ox_buf *w, const ox_rtse_rttr_frame *f, uint64_t content_len);
/* Consumes octets of |in|: sets |*used| (how many were consumed) and |*content| (a view into
 * |in| of the content octets among them, possibly empty). Returns 0 when progress was made
 * and more content is expected, 1 when the element is complete (remaining octets of |in|
 * after *used are not part of it), OX_E_AGAIN when all of |in| was header octets and more are
 * needed, OX_E_PEER (bad framing; r->diag), OX_E_LIMIT (headers longer than
 * OX_RTSE_RTTR_HDR_MAX) or OX_E_UNSUPPORTED (indefinite length or a constructed RTTR: use the
 * whole-APDU decoder). Errors are sticky. */
int ox_rtse_rttr_rd_feed(ox_rtse_rttr_rd *r, ox_span in, size_t *used, ox_span *content);

/* ---- Association assembly (X.419 mts-transfer over RTSE, both modes) ----
 * Presentation contexts proposed in normal mode, each with the BER transfer syntax. */
enum {
    OX_RTSE_CTX_ACSE = 1,     /* 2.2.1.0.1 acse abstract syntax */
    OX_RTSE_CTX_MTA_RTSE = 3, /* 2.6.0.2.12 id-as-mta-rtse: RTSE APDUs with bind/unbind */
    OX_RTSE_CTX_MTSE = 5,     /* 2.6.0.2.7 id-as-mtse: MTS-APDU inside RTTR */
};

typedef struct ox_rtse_assoc_rq {
    int64_t mode; /* OX_PRES_MODE_NORMAL or OX_PRES_MODE_X410_1984 */
    /* normal mode only */
    ox_span calling_sel, called_sel;        /* presentation selectors; p == NULL: absent */
    ox_acse_ap_title calling_ap, called_ap; /* optional */
    ox_acse_ae_qual calling_ae, called_ae;  /* optional */
    /* RTORQ */
    int64_t checkpoint, window, dialogue;
    /* The bind value: in normal mode the MTABindArgument, sent wrapped as the X.219 BIND
     * argument [16]; in 1984 mode the bare MTABindArgument. Opaque: one encoded element. */
    ox_span bind;
    /* Filled by decode (normal mode): the context ids the peer proposed for ACSE, RTSE and MTSE
     * (0: not proposed), and the result list to answer with (acceptance for those three with
     * BER, provider-rejection for anything else), in the order of the proposal. The encoder
     * ignores these and proposes OX_RTSE_CTX_*. */
    int64_t ctx_acse, ctx_rtse, ctx_mtse;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
    ox_oid app_ctx; /* as received (decode fails with OX_E_PEER unless id-ac-mts-transfer) */
} ox_rtse_assoc_rq;

typedef struct ox_rtse_assoc_ac {
    int64_t mode;
    ox_span responding_sel;
    ox_acse_ap_title responding_ap;
    ox_acse_ae_qual responding_ae;
    int64_t checkpoint, window;
    ox_span bind_result; /* MTABindResult (wrapped [17] in normal mode) */
    /* Normal mode: the peer's context ids and the result list, copied from the decoded
     * ox_rtse_assoc_rq (ctx ids 0 and n_res 0: our own ids OX_RTSE_CTX_*, all accepted). */
    int64_t ctx_acse, ctx_rtse;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
} ox_rtse_assoc_ac;

typedef struct ox_rtse_assoc_rj {
    int64_t mode;
    ox_span responding_sel;
    /* normal: AARE result (rejected-permanent/-transient) and its acse-service-user code */
    int64_t acse_result;
    int64_t acse_diag;
    /* normal: MTABindError (wrapped [18]), optional; 1984: refuse reason */
    ox_span bind_error;
    int64_t refuse_reason; /* OX_RTSE_RJ_*, 1984 mode */
    /* As in ox_rtse_assoc_ac. */
    int64_t ctx_acse, ctx_rtse;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
    /* Decode only: a CPR without ACSE user data (a provider refusal) gives its provider
     * reason here (-1: none) and acse_result -1. */
    int64_t provider_reason;
} ox_rtse_assoc_rj;

/* CP-type for S-CONNECT request user data. Returns w->err or OX_E_ARG. */
int ox_rtse_assoc_encode_cp(ox_buf *w, const ox_rtse_assoc_rq *rq);
/* Parses a CP-type: checks the contexts (ACSE and id-as-mta-rtse with BER must be offered),
 * the application context id-ac-mts-transfer and the RTORQ; fills |rq| with views into |in|
 * (|rq->bind| without the [16] wrapper). Returns 0, OX_E_PEER, OX_E_LIMIT, OX_E_UNSUPPORTED (RTORQ
 * with recover: no recovery in this version). */
int ox_rtse_assoc_decode_cp(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_rq *rq,
                            ox_ber_diag *diag);
/* CPA-PPDU for S-CONNECT accept: accepts the three contexts (normal mode) with BER. */
int ox_rtse_assoc_encode_cpa(ox_buf *w, const ox_rtse_assoc_ac *ac);
int ox_rtse_assoc_decode_cpa(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_ac *ac,
                             ox_ber_diag *diag);
/* CPR-PPDU for S-CONNECT refuse: normal mode = user rejection carrying AARE(rejected) with
 * RTORJ(userDataRJ = [18] bind error); 1984 mode = PRefuse (RTORJ with refuseReason). */
int ox_rtse_assoc_encode_cpr(ox_buf *w, const ox_rtse_assoc_rj *rj);
int ox_rtse_assoc_decode_cpr(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_rj *rj,
                             ox_ber_diag *diag);

#endif
