/* acse.h - X.227 ACSE APDU codec: AARQ, AARE, RLRQ, RLRE, ABRT
 *
 * Why: an MTA association is one ACSE exchange carrying the RTSE open in its user-information;
 *      this codec turns the APDUs into flat structs of views and back, with AP titles and AE
 *      qualifiers in form 2 (OBJECT IDENTIFIER / INTEGER), the form X.400 directories use.
 * Shape: pure functions. Decoders borrow their input: every ox_span in a decoded struct is a
 *      view valid as long as that input. Encoders append to a caller-owned ox_buf (sticky
 *      error) and borrow every span.
 * Limits: ox_acse_limits (BER limits, EXTERNALs per user-information).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag; ACSE answers a bad APDU with ABRT
 *      (source acse-service-provider, diagnostic protocol-error).
 * Standards: X.227 (1994) clause 7 (ACSE-1 module, explicit tagging by default);
 *      X.690 8.18 (EXTERNAL). */
#ifndef OPENX400_ACSE_H
#define OPENX400_ACSE_H

#include "openx400/ber.h"

/* ---- Tags (ACSE-1) ---- */
#define OX_ACSE_TAG_AARQ OX_BER_APP(0) /* AARQ-apdu ::= [APPLICATION 0] IMPLICIT SEQUENCE */
#define OX_ACSE_TAG_AARE OX_BER_APP(1) /* AARE-apdu ::= [APPLICATION 1] IMPLICIT SEQUENCE */
#define OX_ACSE_TAG_RLRQ OX_BER_APP(2) /* RLRQ-apdu ::= [APPLICATION 2] IMPLICIT SEQUENCE */
#define OX_ACSE_TAG_RLRE OX_BER_APP(3) /* RLRE-apdu ::= [APPLICATION 3] IMPLICIT SEQUENCE */
#define OX_ACSE_TAG_ABRT OX_BER_APP(4) /* ABRT-apdu ::= [APPLICATION 4] IMPLICIT SEQUENCE */
/* AARQ components */
#define OX_ACSE_TAG_PROTO_VER     OX_BER_CTX(0)  /* protocol-version [0] IMPLICIT BIT STRING */
#define OX_ACSE_TAG_APP_CTX       OX_BER_CTX(1)  /* application-context-name [1] (explicit) */
#define OX_ACSE_TAG_CALLED_AP     OX_BER_CTX(2)  /* called-AP-title [2] (explicit CHOICE) */
#define OX_ACSE_TAG_CALLED_AE     OX_BER_CTX(3)  /* called-AE-qualifier [3] */
#define OX_ACSE_TAG_CALLED_APINV  OX_BER_CTX(4)  /* called-AP-invocation-identifier [4] */
#define OX_ACSE_TAG_CALLED_AEINV  OX_BER_CTX(5)  /* called-AE-invocation-identifier [5] */
#define OX_ACSE_TAG_CALLING_AP    OX_BER_CTX(6)  /* calling-AP-title [6] */
#define OX_ACSE_TAG_CALLING_AE    OX_BER_CTX(7)  /* calling-AE-qualifier [7] */
#define OX_ACSE_TAG_CALLING_APINV OX_BER_CTX(8)  /* calling-AP-invocation-identifier [8] */
#define OX_ACSE_TAG_CALLING_AEINV OX_BER_CTX(9)  /* calling-AE-invocation-identifier [9] */
#define OX_ACSE_TAG_IMPL_INFO     OX_BER_CTX(29) /* implementation-information [29] IMPLICIT */
#define OX_ACSE_TAG_USER_INFO     OX_BER_CTX(30) /* user-information [30] IMPLICIT SEQ OF EXT */
/* AARE components */
#define OX_ACSE_TAG_RESULT           OX_BER_CTX(2) /* result [2] Associate-result (explicit) */
#define OX_ACSE_TAG_RESULT_DIAG      OX_BER_CTX(3) /* result-source-diagnostic [3] (explicit) */
#define OX_ACSE_TAG_DIAG_USER        OX_BER_CTX(1) /* acse-service-user [1] INTEGER (explicit) */
#define OX_ACSE_TAG_DIAG_PROVIDER    OX_BER_CTX(2) /* acse-service-provider [2] INTEGER */
#define OX_ACSE_TAG_RESPONDING_AP    OX_BER_CTX(4) /* responding-AP-title [4] */
#define OX_ACSE_TAG_RESPONDING_AE    OX_BER_CTX(5) /* responding-AE-qualifier [5] */
#define OX_ACSE_TAG_RESPONDING_APINV OX_BER_CTX(6) /* responding-AP-invocation-identifier [6] */
#define OX_ACSE_TAG_RESPONDING_AEINV OX_BER_CTX(7) /* responding-AE-invocation-identifier [7] */
/* RLRQ / RLRE / ABRT components */
#define OX_ACSE_TAG_REASON      OX_BER_CTX(0) /* RLRQ/RLRE reason [0] IMPLICIT INTEGER */
#define OX_ACSE_TAG_ABRT_SOURCE OX_BER_CTX(0) /* abort-source [0] IMPLICIT ABRT-source */
#define OX_ACSE_TAG_ABRT_DIAG   OX_BER_CTX(1) /* abort-diagnostic [1] IMPLICIT ENUMERATED */
/* EXTERNAL (X.690 8.18) */
#define OX_ACSE_TAG_EXTERNAL      OX_BER_UNIV(OX_BER_T_EXTERNAL)
#define OX_ACSE_TAG_EXT_SINGLE    OX_BER_CTX(0) /* encoding single-ASN1-type [0] (explicit) */
#define OX_ACSE_TAG_EXT_OCTETS    OX_BER_CTX(1) /* octet-aligned [1] IMPLICIT OCTET STRING */
#define OX_ACSE_TAG_EXT_ARBITRARY OX_BER_CTX(2) /* arbitrary [2] IMPLICIT BIT STRING */

/* Associate-result */
enum {
    OX_ACSE_RESULT_ACCEPTED = 0,
    OX_ACSE_RESULT_REJECTED_PERMANENT = 1,
    OX_ACSE_RESULT_REJECTED_TRANSIENT = 2,
};
/* Associate-source-diagnostic: which alternative */
enum { OX_ACSE_DIAG_SERVICE_USER = 1, OX_ACSE_DIAG_SERVICE_PROVIDER = 2 };
/* acse-service-user codes */
enum {
    OX_ACSE_USER_NULL = 0,
    OX_ACSE_USER_NO_REASON = 1,
    OX_ACSE_USER_APP_CTX_NOT_SUPPORTED = 2,
    OX_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED = 3,
    OX_ACSE_USER_CALLING_AP_INV_NOT_RECOGNIZED = 4,
    OX_ACSE_USER_CALLING_AE_QUAL_NOT_RECOGNIZED = 5,
    OX_ACSE_USER_CALLING_AE_INV_NOT_RECOGNIZED = 6,
    OX_ACSE_USER_CALLED_AP_TITLE_NOT_RECOGNIZED = 7,
    OX_ACSE_USER_CALLED_AP_INV_NOT_RECOGNIZED = 8,
    OX_ACSE_USER_CALLED_AE_QUAL_NOT_RECOGNIZED = 9,
    OX_ACSE_USER_CALLED_AE_INV_NOT_RECOGNIZED = 10,
    OX_ACSE_USER_AUTH_MECH_NOT_RECOGNIZED = 11,
    OX_ACSE_USER_AUTH_MECH_REQUIRED = 12,
    OX_ACSE_USER_AUTH_FAILURE = 13,
    OX_ACSE_USER_AUTH_REQUIRED = 14,
};
/* acse-service-provider codes */
enum { OX_ACSE_PROV_NULL = 0, OX_ACSE_PROV_NO_REASON = 1, OX_ACSE_PROV_NO_COMMON_VERSION = 2 };
/* Release-request-reason / Release-response-reason */
enum {
    OX_ACSE_RLRQ_NORMAL = 0,
    OX_ACSE_RLRQ_URGENT = 1,
    OX_ACSE_RLRQ_USER_DEFINED = 30,
    OX_ACSE_RLRE_NORMAL = 0,
    OX_ACSE_RLRE_NOT_FINISHED = 1,
    OX_ACSE_RLRE_USER_DEFINED = 30,
};
/* ABRT-source, ABRT-diagnostic */
enum { OX_ACSE_ABRT_SOURCE_USER = 0, OX_ACSE_ABRT_SOURCE_PROVIDER = 1 };
enum {
    OX_ACSE_ABRT_NO_REASON = 1,
    OX_ACSE_ABRT_PROTOCOL_ERROR = 2,
    OX_ACSE_ABRT_AUTH_MECH_NOT_RECOGNIZED = 3,
    OX_ACSE_ABRT_AUTH_MECH_REQUIRED = 4,
    OX_ACSE_ABRT_AUTH_FAILURE = 5,
    OX_ACSE_ABRT_AUTH_REQUIRED = 6,
};

/* id-ac-mts-transfer {joint-iso-itu-t mhs(6) protocols(0) ac(1) mts-transfer(6)} (X.419). */
extern const ox_oid ox_oid_ac_mts_transfer;

#define OX_ACSE_MAX_EXTERNALS 4 /* user-information items: RTSE sends exactly one */

typedef struct ox_acse_limits {
    ox_ber_limits ber;
    size_t max_externals; /* 0 = OX_ACSE_MAX_EXTERNALS */
} ox_acse_limits;

/* AP-title / AE-qualifier: form 2 decoded; form 1 (a directory Name / RDN) kept as a view of
 * the whole element so it can be echoed or logged. */
typedef enum ox_acse_form { OX_ACSE_ABSENT = 0, OX_ACSE_FORM2 = 2, OX_ACSE_FORM1 = 1 } ox_acse_form;
typedef struct ox_acse_ap_title {
    ox_acse_form form;
    ox_oid oid;    /* FORM2 */
    ox_span form1; /* FORM1: the Name element, whole */
} ox_acse_ap_title;
typedef struct ox_acse_ae_qual {
    ox_acse_form form;
    int64_t value; /* FORM2 */
    ox_span form1; /* FORM1: the RelativeDistinguishedName element, whole */
} ox_acse_ae_qual;

/* One EXTERNAL of user-information. */
typedef enum ox_acse_ext_enc {
    OX_ACSE_EXT_SINGLE = 0, /* value = one encoded ASN.1 element (the RTSE APDU) */
    OX_ACSE_EXT_OCTETS = 1, /* value = the octets (primitive form) */
    OX_ACSE_EXT_BITS = 2,   /* value = BIT STRING contents incl. the unused-bits octet */
} ox_acse_ext_enc;
typedef struct ox_acse_external {
    bool has_direct;
    ox_oid direct;
    bool has_indirect;
    int64_t indirect; /* presentation-context-identifier */
    ox_acse_ext_enc enc;
    ox_span value;
} ox_acse_external;

typedef struct ox_acse_user_info {
    bool present;
    ox_acse_external ext[OX_ACSE_MAX_EXTERNALS];
    size_t n;
} ox_acse_user_info;

typedef struct ox_acse_opt_int {
    bool present;
    int64_t v;
} ox_acse_opt_int;

typedef struct ox_acse_aarq {
    ox_oid app_ctx;
    ox_acse_ap_title called_ap, calling_ap;
    ox_acse_ae_qual called_ae, calling_ae;
    ox_acse_opt_int called_ap_inv, called_ae_inv, calling_ap_inv, calling_ae_inv;
    ox_span impl_info; /* GraphicString contents; p == NULL: absent */
    ox_acse_user_info ui;
} ox_acse_aarq;

typedef struct ox_acse_aare {
    ox_oid app_ctx;
    int64_t result;      /* OX_ACSE_RESULT_* */
    int64_t diag_source; /* OX_ACSE_DIAG_SERVICE_USER / _PROVIDER */
    int64_t diag;        /* the code within that alternative */
    ox_acse_ap_title responding_ap;
    ox_acse_ae_qual responding_ae;
    ox_acse_opt_int responding_ap_inv, responding_ae_inv;
    ox_span impl_info;
    ox_acse_user_info ui;
} ox_acse_aare;

typedef struct ox_acse_rlrx { /* RLRQ and RLRE */
    ox_acse_opt_int reason;
    ox_acse_user_info ui;
} ox_acse_rlrx;

typedef struct ox_acse_abrt {
    int64_t source; /* OX_ACSE_ABRT_SOURCE_* */
    ox_acse_opt_int diag;
    ox_acse_user_info ui;
} ox_acse_abrt;

typedef enum ox_acse_kind {
    OX_ACSE_AARQ = 0,
    OX_ACSE_AARE = 1,
    OX_ACSE_RLRQ = 2,
    OX_ACSE_RLRE = 3,
    OX_ACSE_ABRT = 4,
} ox_acse_kind;

typedef struct ox_acse_apdu {
    ox_acse_kind kind;
    union {
        ox_acse_aarq aarq;
        ox_acse_aare aare;
        ox_acse_rlrx rlrq; /* also RLRE */
        ox_acse_abrt abrt;
    } u;
} ox_acse_apdu;

/* ---- Encoders: append one APDU to |w|; borrow everything. Return w->err (0, OX_E_NOMEM,
 * OX_E_LIMIT) or OX_E_ARG (bad result/diagnostic alternative, too many EXTERNALs). ---- */
int ox_acse_aarq_encode(ox_buf *w, const ox_acse_aarq *a);
int ox_acse_aare_encode(ox_buf *w, const ox_acse_aare *a);
int ox_acse_rlrq_encode(ox_buf *w, const ox_acse_rlrx *a);
int ox_acse_rlre_encode(ox_buf *w, const ox_acse_rlrx *a);
int ox_acse_abrt_encode(ox_buf *w, const ox_acse_abrt *a);
/* One EXTERNAL (used by user-information and by RTSE's RTTR content). */
int ox_acse_external_encode(ox_buf *w, const ox_acse_external *e);

/* ---- Decoders: |in| is exactly one APDU (borrowed; views valid as long as |in|); |lim| and
 * |diag| may be NULL. Return 0, OX_E_PEER (diag says why and where) or OX_E_LIMIT. ---- */
int ox_acse_decode(ox_span in, const ox_acse_limits *lim, ox_acse_apdu *apdu, ox_ber_diag *diag);
/* One EXTERNAL element, exactly. */
int ox_acse_external_decode(ox_span in, const ox_ber_limits *lim, ox_acse_external *e,
                            ox_ber_diag *diag);

#endif
