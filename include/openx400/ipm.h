/* ipm.h - X.420 interpersonal message (minimal): heading and IA5 / general-text body parts
 *
 * Why: the MTA builds and reads simple IPMs (tests, notifications, the demo); everything it
 *      does not model passes through byte-exact: unmodelled heading fields and other body
 *      parts are kept as raw elements and re-encoded unchanged.
 * Memory: strings are fixed arrays bounded by X.420 ub-*; texts and raw elements are views
 *      into the decoded input (or your memory when you build one); lists are heap arrays from
 *      the ox_alloc given to ox_ipm_init / the decoder, freed by ox_ipm_free.
 * Limits: ox_ipm_limits. Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag.
 * Standards: X.420 (1999) IPMSInformationObjects: InformationObject, IPM, Heading,
 *      IPMIdentifier, ORDescriptor, RecipientSpecifier, IA5TextBodyPart, general-text-body-part
 *      (id-ep-general-text 2.6.1.11.11, id-et-general-text 2.6.1.4.11). The content of P1
 *      content type 22 (and 2, the 1984 P2, whose IM-UAPDU has the same shape). */
#ifndef OPENX400_IPM_H
#define OPENX400_IPM_H

#include "openx400/p1.h"

#define OX_IPM_UB_LOCAL_IPM_ID  64  /* ub-local-ipm-identifier */
#define OX_IPM_UB_SUBJECT       128 /* ub-subject-field */
#define OX_IPM_UB_FREE_FORM     64  /* ub-free-form-name */
#define OX_IPM_UB_TELEPHONE     32  /* ub-telephone-number */
#define OX_IPM_MAX_OTHER_FIELDS 16  /* unmodelled heading fields kept (one per tag [1]..[15]) */

#define OX_IPM_TAG_IPM    OX_BER_CTX(0)  /* InformationObject ::= CHOICE { ipm [0] IPM, ... } */
#define OX_IPM_TAG_IPM_ID OX_BER_APP(11) /* IPMIdentifier ::= [APPLICATION 11] SET */

typedef struct ox_ipm_limits {
    uint32_t max_recipients; /* per heading field; OX_IPM_DEFAULT_MAX_RECIPIENTS */
    uint32_t max_body_parts; /* OX_IPM_DEFAULT_MAX_BODY_PARTS */
    ox_ber_limits ber;
} ox_ipm_limits;
/* Why: matches the P1 default recipient limit; 256 body parts is far beyond real mail and
 * bounds the array a hostile IPM can make us allocate. */
#define OX_IPM_DEFAULT_MAX_RECIPIENTS 1024u
#define OX_IPM_DEFAULT_MAX_BODY_PARTS 256u

typedef struct ox_ipm_ordesc { /* ORDescriptor */
    bool has_formal;
    ox_p1_orname formal;
    char free_form[OX_IPM_UB_FREE_FORM + 1]; /* TeletexString; "" = absent */
    char phone[OX_IPM_UB_TELEPHONE + 1];
} ox_ipm_ordesc;

enum {
    OX_IPM_NOTIFY_RN = 1u << 0,
    OX_IPM_NOTIFY_NRN = 1u << 1,
    OX_IPM_NOTIFY_IPM_RETURN = 1u << 2
};

typedef struct ox_ipm_recipient { /* RecipientSpecifier */
    ox_ipm_ordesc who;
    uint8_t notify; /* NotificationRequests bits */
    bool reply_requested;
    ox_span extensions; /* contents of recipient-extensions [3], byte-exact */
} ox_ipm_recipient;

typedef struct ox_ipm_id { /* IPMIdentifier */
    bool has_user;
    ox_p1_orname user;
    char local[OX_IPM_UB_LOCAL_IPM_ID + 1];
} ox_ipm_id;

typedef enum ox_ipm_bp_kind {
    OX_IPM_BP_IA5 = 0,          /* basic ia5-text [0] */
    OX_IPM_BP_GENERAL_TEXT = 1, /* extended [15] general-text */
    OX_IPM_BP_OTHER = 2,        /* anything else, byte-exact in |whole| */
} ox_ipm_bp_kind;

typedef struct ox_ipm_bodypart {
    ox_ipm_bp_kind kind;
    int repertoire;   /* IA5: ita2(2) or ia5(5) (the default) */
    ox_span text;     /* IA5String / GeneralString octets */
    ox_span charsets; /* general text: contents of the GeneralTextParameters SET OF INTEGER */
    ox_span whole;    /* OTHER: the BodyPart element */
} ox_ipm_bodypart;

typedef struct ox_ipm_field { /* an unmodelled Heading component, byte-exact */
    uint32_t tag;
    ox_span whole;
} ox_ipm_field;

typedef struct ox_ipm {
    ox_ipm_id this_ipm;
    bool has_originator;
    ox_ipm_ordesc originator; /* [0] */
    ox_ipm_recipient *to;     /* [2] primary-recipients */
    uint32_t n_to, cap_to;
    ox_ipm_recipient *cc; /* [3] copy-recipients */
    uint32_t n_cc, cap_cc;
    bool has_subject;
    char subject[OX_IPM_UB_SUBJECT + 1]; /* [8] TeletexString */
    int importance;                      /* [12] low(0) normal(1) high(2) */
    ox_ipm_field other[OX_IPM_MAX_OTHER_FIELDS];
    uint8_t n_other;
    ox_ipm_bodypart *body;
    uint32_t n_body, cap_body;
    const ox_alloc *alloc;
} ox_ipm;

/* Starts an empty IPM (importance normal) whose lists use |alloc| (may be NULL). */
void ox_ipm_init(ox_ipm *m, const ox_alloc *alloc);
void ox_ipm_free(ox_ipm *m);
/* Append copies. Return 0, OX_E_NOMEM or OX_E_LIMIT (ub-recipients / default body parts). */
int ox_ipm_add_to(ox_ipm *m, const ox_ipm_recipient *r);
int ox_ipm_add_cc(ox_ipm *m, const ox_ipm_recipient *r);
int ox_ipm_add_body(ox_ipm *m, const ox_ipm_bodypart *bp);

/* Writes InformationObject ipm [0]. Borrows |m|. Returns 0, OX_E_ARG (string outside its
 * set or bound), OX_E_NOMEM or OX_E_LIMIT. */
int ox_ipm_encode(ox_buf *w, const ox_ipm *m);
/* Decodes an InformationObject that must be an IPM ([1] IPN -> OX_E_UNSUPPORTED). Views
 * point into |in|. On failure nothing needs freeing. Returns 0, OX_E_PEER, OX_E_LIMIT,
 * OX_E_UNSUPPORTED or OX_E_NOMEM. */
int ox_ipm_decode(ox_span in, const ox_ipm_limits *lim, const ox_alloc *alloc, ox_ipm *m,
                  ox_p1_diag *diag);

#endif
