/* pres.h - X.226 presentation PPDU codec (connection, user data, abort), normal and X.410-1984
 *
 * Why: the presentation layer of an MTA only ever negotiates a handful of contexts (ACSE,
 *      the MTS abstract syntaxes, BER); the codec turns CP/CPA/CPR/ARU/ARP PPDUs and the
 *      fully-encoded User-data into flat structs holding views, so the machine above never
 *      touches BER.
 * Shape: pure functions. Decoders borrow their input; every ox_span in a decoded struct is a
 *      view valid as long as that input. Encoders append to a caller-owned ox_buf (sticky
 *      error) and borrow every span they are given.
 * Limits: ox_pres_limits (BER depth/size, contexts per list, PDVs per User-data).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with the ox_ber_diag filled;
 *      ox_pres_abort_reason() maps it to the X.226 Abort-reason for an ARP.
 * Standards: X.226 (1994) clause 8 (ISO8823-PRESENTATION module); X.410 (1984) PConnect,
 *      PAccept, PRefuse for the x410-1984 mode. */
#ifndef OPENX400_PRES_H
#define OPENX400_PRES_H

#include "openx400/ber.h"

/* ---- Tags (ISO8823-PRESENTATION) ---- */
#define OX_PRES_TAG_CP_TYPE      OX_BER_UNIV(OX_BER_T_SET)      /* CP-type ::= SET */
#define OX_PRES_TAG_CPA          OX_BER_UNIV(OX_BER_T_SET)      /* CPA-PPDU ::= SET */
#define OX_PRES_TAG_CPR_NORMAL   OX_BER_UNIV(OX_BER_T_SEQUENCE) /* CPR-PPDU normal-mode SEQUENCE */
#define OX_PRES_TAG_CPR_X410     OX_BER_UNIV(OX_BER_T_SET)      /* CPR-PPDU x400-mode RTORJapdu */
#define OX_PRES_TAG_MODE_SEL     OX_BER_CTX(0) /* mode-selector [0] IMPLICIT Mode-selector (SET) */
#define OX_PRES_TAG_MODE_VALUE   OX_BER_CTX(0) /* Mode-selector mode-value [0] IMPLICIT INTEGER */
#define OX_PRES_TAG_X410_PARAMS  OX_BER_CTX(1) /* x410-mode-parameters [1] IMPLICIT RTORQ/RTOAC */
#define OX_PRES_TAG_NORMAL       OX_BER_CTX(2) /* normal-mode-parameters [2] IMPLICIT SEQUENCE */
#define OX_PRES_TAG_PROTO_VER    OX_BER_CTX(0) /* protocol-version [0] IMPLICIT BIT STRING */
#define OX_PRES_TAG_CALLING_SEL  OX_BER_CTX(1) /* calling-presentation-selector [1] IMPLICIT */
#define OX_PRES_TAG_CALLED_SEL   OX_BER_CTX(2) /* called-presentation-selector [2] IMPLICIT */
#define OX_PRES_TAG_RESPOND_SEL  OX_BER_CTX(3) /* responding-presentation-selector [3] IMPLICIT */
#define OX_PRES_TAG_CTX_DEF_LIST OX_BER_CTX(4) /* presentation-context-definition-list [4] */
#define OX_PRES_TAG_CTX_RES_LIST                                                                   \
    OX_BER_CTX(5)                             /* presentation-context-definition-result-list [5]   \
                                               */
#define OX_PRES_TAG_DEFAULT_CTX OX_BER_CTX(6) /* default-context-name [6] IMPLICIT SEQUENCE */
#define OX_PRES_TAG_DEFAULT_RES OX_BER_CTX(7) /* default-context-result [7] IMPLICIT Result */
#define OX_PRES_TAG_PRES_REQ    OX_BER_CTX(8) /* presentation-requirements [8] IMPLICIT BIT STRING */
#define OX_PRES_TAG_USER_SES_REQ                                                                   \
    OX_BER_CTX(9) /* user-session-requirements [9] IMPLICIT BIT STRING */
#define OX_PRES_TAG_PROVIDER_RSN OX_BER_CTX(10) /* CPR provider-reason [10] IMPLICIT */
#define OX_PRES_TAG_PROTO_OPTS   OX_BER_CTX(11) /* protocol-options [11] (1994) */
#define OX_PRES_TAG_INIT_NOMCTX  OX_BER_CTX(12) /* initiators-nominated-context [12] */
#define OX_PRES_TAG_RESP_NOMCTX  OX_BER_CTX(13) /* responders-nominated-context [13] */
#define OX_PRES_TAG_EXTENSIONS   OX_BER_CTX(14) /* extensions [14] */
#define OX_PRES_TAG_DEFAULT_AS   OX_BER_CTX(0)  /* Default-context-name abstract [0] IMPLICIT */
#define OX_PRES_TAG_DEFAULT_TS   OX_BER_CTX(1)  /* Default-context-name transfer [1] IMPLICIT */
#define OX_PRES_TAG_RES_RESULT   OX_BER_CTX(0)  /* Result-list item result [0] IMPLICIT Result */
#define OX_PRES_TAG_RES_TS       OX_BER_CTX(1)  /* Result-list item transfer-syntax-name [1] */
#define OX_PRES_TAG_RES_REASON   OX_BER_CTX(2)  /* Result-list item provider-reason [2] */
#define OX_PRES_TAG_SIMPLE_UD    OX_BER_APP(0)  /* Simply-encoded-data [APPLICATION 0] */
#define OX_PRES_TAG_FULLY_UD     OX_BER_APP(1)  /* Fully-encoded-data [APPLICATION 1] */
#define OX_PRES_TAG_PDV_SINGLE   OX_BER_CTX(0)  /* PDV-list single-ASN1-type [0] (explicit) */
#define OX_PRES_TAG_PDV_OCTETS   OX_BER_CTX(1)  /* PDV-list octet-aligned [1] IMPLICIT */
#define OX_PRES_TAG_PDV_ARBITR   OX_BER_CTX(2)  /* PDV-list arbitrary [2] IMPLICIT BIT STRING */
#define OX_PRES_TAG_ARU_NORMAL   OX_BER_CTX(0)  /* ARU-PPDU normal-mode [0] IMPLICIT SEQUENCE */
#define OX_PRES_TAG_ARU_X410     OX_BER_UNIV(OX_BER_T_SET) /* ARU-PPDU x400-mode RTABapdu */
#define OX_PRES_TAG_ARU_CTX_LIST OX_BER_CTX(0) /* ARU presentation-context-identifier-list [0] */
#define OX_PRES_TAG_ARP          OX_BER_UNIV(OX_BER_T_SEQUENCE) /* ARP-PPDU ::= SEQUENCE */
#define OX_PRES_TAG_ARP_REASON   OX_BER_CTX(0) /* ARP provider-reason [0] IMPLICIT Abort-reason */
#define OX_PRES_TAG_ARP_EVENT    OX_BER_CTX(1) /* ARP event-identifier [1] IMPLICIT */

/* Mode-selector mode-value. */
enum { OX_PRES_MODE_X410_1984 = 0, OX_PRES_MODE_NORMAL = 1 };

/* Result (context definition results and default-context-result). */
enum {
    OX_PRES_RESULT_ACCEPT = 0,
    OX_PRES_RESULT_USER_REJECT = 1,
    OX_PRES_RESULT_PROVIDER_REJECT = 2
};
/* Result-list provider-reason. */
enum {
    OX_PRES_CTXR_NOT_SPECIFIED = 0,
    OX_PRES_CTXR_AS_NOT_SUPPORTED = 1,
    OX_PRES_CTXR_TS_NOT_SUPPORTED = 2,
    OX_PRES_CTXR_DCS_LIMIT = 3,
};
/* Provider-reason (CPR). */
enum {
    OX_PRES_PR_NOT_SPECIFIED = 0,
    OX_PRES_PR_TEMP_CONGESTION = 1,
    OX_PRES_PR_LOCAL_LIMIT = 2,
    OX_PRES_PR_ADDRESS_UNKNOWN = 3,
    OX_PRES_PR_VERSION_NOT_SUPPORTED = 4,
    OX_PRES_PR_DEFAULT_CTX_NOT_SUPPORTED = 5,
    OX_PRES_PR_USER_DATA_NOT_READABLE = 6,
    OX_PRES_PR_NO_PSAP = 7,
};
/* Abort-reason (ARP). */
enum {
    OX_PRES_AR_NOT_SPECIFIED = 0,
    OX_PRES_AR_UNRECOGNIZED_PPDU = 1,
    OX_PRES_AR_UNEXPECTED_PPDU = 2,
    OX_PRES_AR_UNEXPECTED_SS_PRIMITIVE = 3,
    OX_PRES_AR_UNRECOGNIZED_PARAM = 4,
    OX_PRES_AR_UNEXPECTED_PARAM = 5,
    OX_PRES_AR_INVALID_PARAM_VALUE = 6,
};
/* Event-identifier values used with ARP (X.226 8.3.1; only the PPDU ones). */
enum {
    OX_PRES_EV_CP = 0,
    OX_PRES_EV_CPA = 1,
    OX_PRES_EV_CPR = 2,
    OX_PRES_EV_ARU = 3,
    OX_PRES_EV_ARP = 4,
    OX_PRES_EV_TD = 7,
};

/* Object identifiers the MTA negotiates. */
extern const ox_oid ox_oid_pres_ber;    /* 2.1.1 {joint-iso-itu-t asn1(1) basic-encoding(1)} */
extern const ox_oid ox_oid_as_acse;     /* 2.2.1.0.1 acse-as-id (X.227) */
extern const ox_oid ox_oid_as_mta_rtse; /* 2.6.0.2.12 id-as-mta-rtse (X.419) */
extern const ox_oid ox_oid_as_mtse;     /* 2.6.0.2.7 id-as-mtse (X.419) */

/* Compile-time capacities of the fixed arrays below. */
#define OX_PRES_MAX_CONTEXTS 8 /* an MTA proposes 3; 8 leaves room for peers' extras */
#define OX_PRES_MAX_TS       4 /* transfer syntaxes per context: BER is the only one used */
#define OX_PRES_MAX_PDVS     4 /* PDV-lists per User-data: one per PPDU in practice */

typedef struct ox_pres_limits {
    ox_ber_limits ber;   /* zeros = BER defaults */
    size_t max_contexts; /* 0 = OX_PRES_MAX_CONTEXTS; more in a list -> OX_E_LIMIT */
    size_t max_pdvs;     /* 0 = OX_PRES_MAX_PDVS; more -> OX_E_LIMIT */
} ox_pres_limits;

/* One item of a Presentation-context-definition-list. */
typedef struct ox_pres_ctx_def {
    int64_t id; /* odd for the initiator (X.226 6.2.2.7) */
    ox_oid abstract_syntax;
    ox_oid transfer[OX_PRES_MAX_TS];
    uint8_t n_transfer; /* >= 1 */
} ox_pres_ctx_def;

/* One item of a Presentation-context-definition-result-list (same order as the list). */
typedef struct ox_pres_ctx_result {
    int64_t result; /* OX_PRES_RESULT_* */
    bool has_transfer;
    ox_oid transfer; /* on acceptance */
    bool has_reason;
    int64_t reason; /* OX_PRES_CTXR_*, on provider rejection */
} ox_pres_ctx_result;

/* One PDV-list of Fully-encoded-data. */
typedef enum ox_pres_pdv_kind {
    OX_PRES_PDV_SINGLE = 0, /* single-ASN1-type [0]: value = one encoded ASN.1 element */
    OX_PRES_PDV_OCTETS = 1, /* octet-aligned [1]: value = the octets (primitive form) */
    OX_PRES_PDV_BITS = 2,   /* arbitrary [2]: value = BIT STRING contents incl. unused octet */
} ox_pres_pdv_kind;

typedef struct ox_pres_pdv {
    bool has_transfer;
    ox_oid transfer;
    int64_t ctx_id;
    ox_pres_pdv_kind kind;
    ox_span value;
} ox_pres_pdv;

/* User-data: Simply-encoded-data or Fully-encoded-data. */
typedef struct ox_pres_user_data {
    bool present;
    bool simple; /* Simply-encoded-data: value in |simple_data| */
    ox_span simple_data;
    ox_pres_pdv pdv[OX_PRES_MAX_PDVS];
    size_t n_pdv;
} ox_pres_user_data;

/* CP-type (the user data of S-CONNECT request). In x410-1984 mode only |x410| is used. */
typedef struct ox_pres_cp {
    int64_t mode; /* OX_PRES_MODE_* */
    ox_span x410; /* x410-1984: the whole [1] element (RTORQ components); see rtse.h */
    ox_span calling_sel, called_sel; /* Presentation-selector; p == NULL: absent */
    bool has_ctx_list;
    ox_pres_ctx_def ctx[OX_PRES_MAX_CONTEXTS];
    size_t n_ctx;
    bool has_default_ctx;
    ox_oid default_as, default_ts;
    ox_span pres_req, user_ses_req; /* BIT STRING contents as received; encoder ignores */
    ox_pres_user_data ud;
} ox_pres_cp;

/* CPA-PPDU (the user data of S-CONNECT accept). */
typedef struct ox_pres_cpa {
    int64_t mode;
    ox_span x410; /* x410-1984: the whole [1] element (RTOAC components) */
    ox_span responding_sel;
    bool has_results;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
    ox_span pres_req, user_ses_req;
    ox_pres_user_data ud;
} ox_pres_cpa;

/* CPR-PPDU (the user data of S-CONNECT refuse). x410: |x410| is the whole RTORJ SET. */
typedef struct ox_pres_cpr {
    int64_t mode;
    ox_span x410;
    ox_span responding_sel;
    bool has_results;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
    bool has_default_result;
    int64_t default_result;
    bool has_provider_reason;
    int64_t provider_reason; /* OX_PRES_PR_* */
    ox_pres_user_data ud;
} ox_pres_cpr;

/* Abort-type: ARU (normal or x410) or ARP. */
typedef enum ox_pres_abort_kind {
    OX_PRES_ABORT_ARU = 0,      /* normal-mode ARU: |ctx_ids| and |ud| */
    OX_PRES_ABORT_ARU_X410 = 1, /* x410-1984 ARU: |x410| is the whole RTABapdu SET */
    OX_PRES_ABORT_ARP = 2,      /* ARP: reason and event */
} ox_pres_abort_kind;

typedef struct ox_pres_abort {
    ox_pres_abort_kind kind;
    ox_span x410;
    size_t n_ctx_ids; /* ARU presentation-context-identifier-list */
    int64_t ctx_ids[OX_PRES_MAX_CONTEXTS];
    ox_oid ctx_ts[OX_PRES_MAX_CONTEXTS];
    ox_pres_user_data ud;
    bool has_reason;
    int64_t reason; /* OX_PRES_AR_* */
    bool has_event;
    int64_t event; /* OX_PRES_EV_* */
} ox_pres_abort;

/* ---- Encoders: append to |w|; return w->err (0, OX_E_NOMEM, OX_E_LIMIT) or OX_E_ARG for a
 * struct that cannot be encoded (bad mode, too many items). Borrow everything. ---- */

/* User-data: Simply- or Fully-encoded, as in |ud| (|ud->present| must be true). */
int ox_pres_user_data_encode(ox_buf *w, const ox_pres_user_data *ud);
/* Fully-encoded-data holding one PDV-list, single-ASN1-type: the common case (P-DATA, the
 * release user data, the CP/CPA user data). |value| is one encoded ASN.1 element. */
int ox_pres_ud_single_encode(ox_buf *w, int64_t ctx_id, ox_span value);
int ox_pres_cp_encode(ox_buf *w, const ox_pres_cp *cp);
int ox_pres_cpa_encode(ox_buf *w, const ox_pres_cpa *cpa);
int ox_pres_cpr_encode(ox_buf *w, const ox_pres_cpr *cpr);
/* ARU (normal or x410), or ARP, as |a->kind| says. */
int ox_pres_abort_encode(ox_buf *w, const ox_pres_abort *a);

/* ---- Decoders: |in| is the whole PPDU (borrowed; views valid as long as |in|); |lim| and
 * |diag| may be NULL. Return 0, OX_E_PEER (grammar or BER fault; diag says where),
 * OX_E_LIMIT (a limit; diag reason DEPTH/SIZE or UNEXPECTED_TAG for counts). Trailing bytes
 * after the PPDU are a peer error. ---- */
int ox_pres_user_data_decode(ox_span in, const ox_pres_limits *lim, ox_pres_user_data *ud,
                             ox_ber_diag *diag);
int ox_pres_cp_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cp *cp, ox_ber_diag *diag);
int ox_pres_cpa_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cpa *cpa, ox_ber_diag *diag);
int ox_pres_cpr_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cpr *cpr, ox_ber_diag *diag);
int ox_pres_abort_decode(ox_span in, const ox_pres_limits *lim, ox_pres_abort *a,
                         ox_ber_diag *diag);

/* Finds the PDV for |ctx_id| in |ud|; returns it or NULL. */
const ox_pres_pdv *ox_pres_ud_find(const ox_pres_user_data *ud, int64_t ctx_id);
/* The X.226 Abort-reason (OX_PRES_AR_*) to put in an ARP after a decode failed with |diag|. */
int ox_pres_abort_reason(const ox_ber_diag *diag);

#endif
