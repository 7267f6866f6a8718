/* p1.h - X.411 / X.419 P1: O/R names, envelopes, MTS-APDUs and the MTA bind, 1988 and 1984
 *
 * Why: the MTA core stores, routes and reports with these structs; the association layer
 *      carries the bind and the MTS-APDU octets. Everything here is a pure codec (no state,
 *      no I/O): bytes in, structs out, and back.
 * Memory: short strings are fixed char arrays bounded by the X.411 ub-* upper bounds (NUL
 *      terminated; "" means absent unless a has_ flag says otherwise). Variable-length
 *      things (content, unknown extensions, security context, raw unmodelled elements) are
 *      ox_span views: after a decode they point into the input, which must outlive the
 *      struct; when you build a struct they point into your memory. Lists (recipients,
 *      trace, extensions) are heap arrays from the ox_alloc given to the decoder or to
 *      ox_p1_*_add; ox_p1_message_free / ox_p1_report_free release them.
 * Limits: ox_p1_limits (counts); strings by ub-*; BER by ox_ber_limits.
 * Diagnostics: OX_E_PEER or OX_E_LIMIT with ox_p1_diag (P1 reason + BER reason, offset, line).
 * Versions: OX_P1_1988 (X.411 1988+) and OX_P1_1984 (X.411-1984, for RTSE X.410-1984 mode):
 *      the 1984 forms have the same tags but no extensions, no extension attributes or
 *      directory names in O/R names, no extended content types or EITs, and only the
 *      authenticated bind with a simple password. Encoding a 1988-only field in 1984 mode
 *      returns OX_E_UNSUPPORTED; decoding one in 1984 mode is a peer error.
 * Standards: X.411 (1999) MTSAbstractService, MTAAbstractService, MTSUpperBounds; X.419;
 *      X.411 (1984) P1; F.401 / RFC 1685 for the textual O/R address. See docs/P1.md. */
#ifndef OPENX400_P1_H
#define OPENX400_P1_H

#include "openx400/ber.h"
#include "openx400/common.h"

/* ---- X.411 MTSUpperBounds (ub-*) ---- */
#define OX_P1_UB_COUNTRY_NUMERIC   3
#define OX_P1_UB_COUNTRY_ALPHA     2
#define OX_P1_UB_DOMAIN_NAME       16
#define OX_P1_UB_X121_ADDRESS      16
#define OX_P1_UB_TERMINAL_ID       24
#define OX_P1_UB_ORGANIZATION_NAME 64
#define OX_P1_UB_NUMERIC_USER_ID   32
#define OX_P1_UB_SURNAME           40
#define OX_P1_UB_GIVEN_NAME        16
#define OX_P1_UB_INITIALS          5
#define OX_P1_UB_GENERATION_QUAL   3
#define OX_P1_UB_OU_NAME           32
#define OX_P1_UB_OUS               4
#define OX_P1_UB_DDAS              4
#define OX_P1_UB_DDA_TYPE          8
#define OX_P1_UB_DDA_VALUE         128
#define OX_P1_UB_COMMON_NAME       64
#define OX_P1_UB_MTA_NAME          32
#define OX_P1_UB_LOCAL_ID          32
#define OX_P1_UB_CONTENT_ID        16
#define OX_P1_UB_PASSWORD          62
#define OX_P1_UB_SUPPL_INFO        256
#define OX_P1_UB_RECIPIENTS        32767
#define OX_P1_UB_TRANSFERS         512
#define OX_P1_UB_BUILTIN_CONTENT   32767
#define OX_P1_UB_REASON_CODES      32767
#define OX_P1_UB_DIAGNOSTIC_CODES  32767
#define OX_P1_UB_INTEGER_OPTIONS   256
#define OX_P1_UB_MTS_USER_TYPES    256

typedef enum ox_p1_version { OX_P1_1988 = 0, OX_P1_1984 = 1 } ox_p1_version;

/* Why a P1 decode failed, above the BER level. Stable numbers. */
typedef enum ox_p1_reason {
    OX_P1_R_NONE = 0,
    OX_P1_R_BER = 1,       /* see ber.reason */
    OX_P1_R_MISSING = 2,   /* a mandatory component is absent */
    OX_P1_R_DUPLICATE = 3, /* a SET component appears twice */
    OX_P1_R_UNKNOWN = 4,   /* a component the grammar has no place for */
    OX_P1_R_TOO_MANY = 5,  /* a count limit (OX_E_LIMIT) */
    OX_P1_R_VALUE = 6,     /* a value outside its range or size (ub-*) */
    OX_P1_R_VERSION = 7,   /* a 1988-only component in 1984 mode */
} ox_p1_reason;

typedef struct ox_p1_diag {
    ox_p1_reason reason;
    ox_ber_diag ber; /* offset and line are filled for P1 reasons too */
} ox_p1_diag;

const char *ox_p1_reason_name(ox_p1_reason r);

/* Counts a decoder accepts; 0 in a field = its default. */
typedef struct ox_p1_limits {
    ox_ber_limits ber;
    uint32_t max_recipients; /* per envelope; OX_P1_DEFAULT_MAX_RECIPIENTS */
    uint32_t max_trace;      /* trace elements per list; OX_P1_DEFAULT_MAX_TRACE */
    uint32_t max_extensions; /* extension fields per list; OX_P1_DEFAULT_MAX_EXTENSIONS */
} ox_p1_limits;
/* Why: 1024 recipients covers large distribution lists while bounding a hostile envelope to
 * about 1.5 MB of structs (ub-recipients 32767 is allowed by raising the limit); 128 trace
 * elements is far more than any real path (a loop is detected long before) and a quarter of
 * ub-transfers; 64 extensions per list is more than the standard defines for any one list. */
#define OX_P1_DEFAULT_MAX_RECIPIENTS 1024u
#define OX_P1_DEFAULT_MAX_TRACE      128u
#define OX_P1_DEFAULT_MAX_EXTENSIONS 64u

/* ---- Tags (X.411 MTSAbstractService / MTAAbstractService, IMPLICIT TAGS) ---- */
#define OX_P1_TAG_ORNAME       OX_BER_APP(0)  /* ORName ::= [APPLICATION 0] SEQUENCE */
#define OX_P1_TAG_COUNTRY      OX_BER_APP(1)  /* CountryName ::= [APPLICATION 1] CHOICE */
#define OX_P1_TAG_ADMD         OX_BER_APP(2)  /* AdministrationDomainName ::= [APPLICATION 2] */
#define OX_P1_TAG_GDI          OX_BER_APP(3)  /* GlobalDomainIdentifier ::= [APPLICATION 3] */
#define OX_P1_TAG_MTSID        OX_BER_APP(4)  /* MTSIdentifier ::= [APPLICATION 4] SEQUENCE */
#define OX_P1_TAG_EITS         OX_BER_APP(5)  /* EncodedInformationTypes ::= [APPLICATION 5] */
#define OX_P1_TAG_CONTENT_TYPE OX_BER_APP(6)  /* BuiltInContentType ::= [APPLICATION 6] INT */
#define OX_P1_TAG_PRIORITY     OX_BER_APP(7)  /* Priority ::= [APPLICATION 7] ENUMERATED */
#define OX_P1_TAG_PMI          OX_BER_APP(8)  /* PerMessageIndicators ::= [APPLICATION 8] */
#define OX_P1_TAG_TRACE        OX_BER_APP(9)  /* TraceInformation ::= [APPLICATION 9] SEQ OF */
#define OX_P1_TAG_CONTENT_ID   OX_BER_APP(10) /* ContentIdentifier ::= [APPLICATION 10] */
/* MTS-APDU ::= CHOICE { message [0] Message, probe [2] Probe, report [1] Report } */
#define OX_P1_TAG_APDU_MESSAGE OX_BER_CTX(0)
#define OX_P1_TAG_APDU_REPORT  OX_BER_CTX(1)
#define OX_P1_TAG_APDU_PROBE   OX_BER_CTX(2)

/* ---- O/R names (X.411 clause 18.5, ORName / ORAddress) ---- */
typedef struct ox_p1_dda { /* BuiltInDomainDefinedAttribute (or the teletex form) */
    char type[OX_P1_UB_DDA_TYPE + 1];
    char value[OX_P1_UB_DDA_VALUE + 1];
} ox_p1_dda;

typedef struct ox_p1_orname {
    /* BuiltInStandardAttributes; "" = absent */
    char country[OX_P1_UB_COUNTRY_NUMERIC + 1];
    bool country_numeric; /* x121-dcc-code rather than iso-3166-alpha2-code */
    bool has_admd;        /* the ADMD may be present and empty or " " */
    bool admd_numeric;
    char admd[OX_P1_UB_DOMAIN_NAME + 1];
    char network_address[OX_P1_UB_X121_ADDRESS + 1]; /* [0] X121Address */
    char terminal_id[OX_P1_UB_TERMINAL_ID + 1];      /* [1] */
    bool prmd_numeric;
    char prmd[OX_P1_UB_DOMAIN_NAME + 1];                /* [2] PrivateDomainName */
    char org[OX_P1_UB_ORGANIZATION_NAME + 1];           /* [3] */
    char numeric_user_id[OX_P1_UB_NUMERIC_USER_ID + 1]; /* [4] */
    char surname[OX_P1_UB_SURNAME + 1];                 /* [5] PersonalName; surname "" = absent */
    char given_name[OX_P1_UB_GIVEN_NAME + 1];
    char initials[OX_P1_UB_INITIALS + 1];
    char generation[OX_P1_UB_GENERATION_QUAL + 1];
    uint8_t n_ou; /* [6] OrganizationalUnitNames */
    char ou[OX_P1_UB_OUS][OX_P1_UB_OU_NAME + 1];
    uint8_t n_dda; /* BuiltInDomainDefinedAttributes */
    ox_p1_dda dda[OX_P1_UB_DDAS];
    /* ExtensionAttributes modelled here (1988 only) */
    char common_name[OX_P1_UB_COMMON_NAME + 1];         /* common-name (1) */
    char teletex_common_name[OX_P1_UB_COMMON_NAME + 1]; /* teletex-common-name (2) */
    char teletex_org[OX_P1_UB_ORGANIZATION_NAME + 1];   /* teletex-organization-name (3) */
    char teletex_surname[OX_P1_UB_SURNAME + 1];         /* teletex-personal-name (4) */
    char teletex_given_name[OX_P1_UB_GIVEN_NAME + 1];
    char teletex_initials[OX_P1_UB_INITIALS + 1];
    char teletex_generation[OX_P1_UB_GENERATION_QUAL + 1];
    uint8_t n_teletex_ou; /* teletex-organizational-unit-names (5) */
    char teletex_ou[OX_P1_UB_OUS][OX_P1_UB_OU_NAME + 1];
    uint8_t n_teletex_dda; /* teletex-domain-defined-attributes (6) */
    ox_p1_dda teletex_dda[OX_P1_UB_DDAS];
    /* Other ExtensionAttribute elements, byte-exact and concatenated (re-encoded after the
     * modelled ones: canonical input lists them with higher type numbers). */
    ox_span other_ext_attrs;
    ox_span directory_name; /* contents of directory-name [0] Name, kept opaque */
} ox_p1_orname;

/* Encodes |n| as ORName ([APPLICATION 0]). Borrows everything. Returns the writer status:
 * 0, OX_E_ARG (a string outside its character set or ub-*), OX_E_UNSUPPORTED (1988-only
 * part in 1984 mode), OX_E_NOMEM or OX_E_LIMIT. */
int ox_p1_orname_encode(ox_buf *w, const ox_p1_orname *n, ox_p1_version v);
/* Reads one ORName (tag |tag|: OX_P1_TAG_ORNAME or an IMPLICIT context tag) from |rd|.
 * Views in |n| point into rd's input. Returns 0, OX_E_PEER or OX_E_LIMIT (diag filled). */
int ox_p1_orname_read(ox_ber_rd *rd, uint32_t tag, ox_p1_orname *n, ox_p1_version v,
                      ox_p1_diag *diag);
/* Parses the operator's text form: "C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John" or
 * "/C=GB/A= /P=Site/O=Org/OU=Unit/S=Smith/G=John/". Keys (case-insensitive): C A P O OU
 * (up to 4, in order) S G I Q CN X121 T-ID UA-ID, DDA:type=value. '\' escapes the next
 * character (for ';', '/', '=', '\'). Spaces inside values are kept; "A= " is the single-
 * space ADMD. A country of digits is an x121-dcc-code, likewise numeric ADMD/PRMD.
 * Returns 0 or OX_E_ARG (unknown key, missing '=', value too long or outside
 * PrintableString, too many OUs or DDAs, duplicate key). */
int ox_p1_orname_parse(ox_p1_orname *n, const char *text);
/* Prints the ';' form (or the '/' form when |slash|) with escaping, into |dst| with a NUL.
 * Teletex attributes are not printed. Returns the length, or OX_E_LIMIT when |cap| is too
 * small (dst is then ""). */
int ox_p1_orname_print(const ox_p1_orname *n, bool slash, char *dst, size_t cap);
/* X.411 O/R name equality for printable attributes: case-insensitive, with leading, trailing
 * and repeated spaces folded; numeric and printable forms of the same text are equal. */
bool ox_p1_orname_eq(const ox_p1_orname *a, const ox_p1_orname *b);
/* The same rule for two strings. */
bool ox_p1_str_eq_folded(const char *a, const char *b);

/* ---- Domains, identifiers, times ---- */
typedef struct ox_p1_gdi { /* GlobalDomainIdentifier */
    char country[OX_P1_UB_COUNTRY_NUMERIC + 1];
    bool country_numeric;
    bool admd_numeric;
    char admd[OX_P1_UB_DOMAIN_NAME + 1]; /* may be "" or " " */
    bool prmd_numeric;
    char prmd[OX_P1_UB_DOMAIN_NAME + 1]; /* "" = absent */
} ox_p1_gdi;

typedef struct ox_p1_mtsid { /* MTSIdentifier (message, probe, report identifiers) */
    ox_p1_gdi gdi;
    char local_id[OX_P1_UB_LOCAL_ID + 1];
} ox_p1_mtsid;

/* MTAName ::= IA5String (SIZE (1..ub-mta-name-length)) */
typedef char ox_p1_mta_name[OX_P1_UB_MTA_NAME + 1];

/* Time ::= UTCTime. Held as seconds since 1970 UTC; written "YYMMDDhhmmssZ". */
typedef int64_t ox_p1_time;

int ox_p1_gdi_encode(ox_buf *w, const ox_p1_gdi *g);
int ox_p1_mtsid_encode(ox_buf *w, const ox_p1_mtsid *id);
bool ox_p1_gdi_eq(const ox_p1_gdi *a, const ox_p1_gdi *b);
bool ox_p1_mtsid_eq(const ox_p1_mtsid *a, const ox_p1_mtsid *b);

/* EncodedInformationTypes ([APPLICATION 5] SET) */
enum { /* BuiltInEncodedInformationTypes bits */
       OX_P1_EIT_UNKNOWN = 1u << 0,
       OX_P1_EIT_TELEX = 1u << 1,
       OX_P1_EIT_IA5_TEXT = 1u << 2,
       OX_P1_EIT_G3_FAX = 1u << 3,
       OX_P1_EIT_G4_CLASS1 = 1u << 4,
       OX_P1_EIT_TELETEX = 1u << 5,
       OX_P1_EIT_VIDEOTEX = 1u << 6,
       OX_P1_EIT_VOICE = 1u << 7,
       OX_P1_EIT_SFD = 1u << 8,
       OX_P1_EIT_MIXED_MODE = 1u << 9,
};
typedef struct ox_p1_eits {
    bool present;
    uint32_t builtin; /* [0] BuiltInEncodedInformationTypes, bit n = named bit n */
    ox_span nonbasic; /* [1] g3-facsimile and [2] teletex elements, byte-exact */
    ox_span extended; /* contents of [4] ExtendedEncodedInformationTypes (1988) */
} ox_p1_eits;

/* ContentType ::= CHOICE { built-in [APPLICATION 6] INTEGER, extended OBJECT IDENTIFIER } */
enum {
    OX_P1_CT_UNIDENTIFIED = 0,
    OX_P1_CT_EXTERNAL = 1,
    OX_P1_CT_P2_1984 = 2,   /* interpersonal-messaging-1984 */
    OX_P1_CT_P22_1988 = 22, /* interpersonal-messaging-1988 */
    OX_P1_CT_EDI = 35,
    OX_P1_CT_VOICE = 40,
};
typedef struct ox_p1_content_type {
    bool extended; /* the OID form (1988) */
    int32_t builtin;
    ox_oid oid;
} ox_p1_content_type;

/* ExtensionField (X.411 12.2.1.4): kept byte-exact; the type is decoded for lookup. */
typedef struct ox_p1_ext {
    bool is_private;
    int32_t standard; /* standard-extension number when !is_private */
    ox_oid private_oid;
    uint16_t criticality; /* bit 0 for-submission, 1 for-transfer, 2 for-delivery */
    ox_span value;        /* the encoded value inside [2] (the element), or empty */
    ox_span whole;        /* the ExtensionField SEQUENCE as received / to send */
} ox_p1_ext;
#define OX_P1_EXT_INTERNAL_TRACE 38 /* standard-extension:38 internal-trace-information */
#define OX_P1_EXT_TRACE          37
#define OX_P1_EXT_REPORTING_MTA  39

typedef struct ox_p1_exts {
    ox_p1_ext *v;
    uint32_t n, cap;
} ox_p1_exts;

/* TraceInformationElement and InternalTraceInformationElement in one struct. */
typedef struct ox_p1_trace {
    ox_p1_gdi gdi;
    ox_p1_mta_name mta; /* internal trace only: mta-name */
    ox_p1_time arrival;
    int routing_action; /* 0 relayed, 1 rerouted */
    bool has_attempted_domain;
    ox_p1_gdi attempted_domain;
    ox_p1_mta_name attempted_mta; /* internal trace: attempted CHOICE mta; "" = absent */
    bool has_deferred;
    ox_p1_time deferred;
    ox_p1_eits converted;
    uint16_t other_actions; /* bit 0 redirected, 1 dl-operation (1988) */
} ox_p1_trace;

typedef struct ox_p1_traces {
    ox_p1_trace *v;
    uint32_t n, cap;
} ox_p1_traces;

/* Appends a copy of |t|. Returns 0, OX_E_NOMEM, or OX_E_LIMIT past |max| (0 = default). */
int ox_p1_traces_add(ox_p1_traces *l, const ox_alloc *a, const ox_p1_trace *t, uint32_t max);
int ox_p1_exts_add(ox_p1_exts *l, const ox_alloc *a, const ox_p1_ext *e, uint32_t max);
/* TraceInformation ([APPLICATION 9]) <-> list. */
int ox_p1_trace_encode(ox_buf *w, const ox_p1_traces *l, ox_p1_version v);
/* InternalTraceInformation (SEQUENCE OF, the value of extension 38) <-> list. */
int ox_p1_internal_trace_encode(ox_buf *w, const ox_p1_traces *l);
/* Decodes the value of an internal-trace-information extension (|e->value|) into |out|
 * (appended). Returns 0, OX_E_PEER, OX_E_LIMIT or OX_E_NOMEM. */
int ox_p1_internal_trace_decode(const ox_p1_ext *e, const ox_p1_limits *lim, const ox_alloc *a,
                                ox_p1_traces *out, ox_p1_diag *diag);
/* Builds an ExtensionField for |standard| (>= 0) with criticality bits and |value| (one
 * encoded element, borrowed) into |storage|, and fills |e| with views into it. */
int ox_p1_ext_build(ox_buf *storage, int32_t standard, uint16_t criticality, ox_span value,
                    ox_p1_ext *e);
/* The first extension with standard type |standard|, or NULL. */
const ox_p1_ext *ox_p1_exts_find(const ox_p1_exts *l, int32_t standard);

/* ---- Message and probe (X.411 12.2.1.1 MessageTransferEnvelope, 12.2.1.3 Probe) ---- */
enum { /* PerRecipientIndicators */
       OX_P1_PRI_RESPONSIBILITY = 1u << 0,
       OX_P1_PRI_MTA_REPORT = 1u << 1,
       OX_P1_PRI_MTA_NDR = 1u << 2,
       OX_P1_PRI_ORIG_REPORT = 1u << 3,
       OX_P1_PRI_ORIG_NDR = 1u << 4,
};
enum { /* PerMessageIndicators */
       OX_P1_PMI_DISCLOSE_RECIPIENTS = 1u << 0,
       OX_P1_PMI_IMPLICIT_CONV_PROHIBITED = 1u << 1,
       OX_P1_PMI_ALTERNATE_RECIPIENT_ALLOWED = 1u << 2,
       OX_P1_PMI_CONTENT_RETURN = 1u << 3,
};
enum { OX_P1_PRIO_NORMAL = 0, OX_P1_PRIO_NON_URGENT = 1, OX_P1_PRIO_URGENT = 2 };

typedef struct ox_p1_recipient { /* PerRecipientMessageTransferFields / ProbeTransferFields */
    ox_p1_orname name;
    int32_t orig_number;         /* originally-specified-recipient-number, 1..ub-recipients */
    uint16_t indicators;         /* OX_P1_PRI_* */
    int32_t explicit_conversion; /* -1 = absent */
    ox_p1_exts exts;
} ox_p1_recipient;

typedef struct ox_p1_message {
    bool is_probe;  /* Probe: no content, priority or deferred time; content_length */
    ox_p1_mtsid id; /* message-identifier / probe-identifier */
    ox_p1_orname originator;
    ox_p1_eits orig_eits;
    ox_p1_content_type content_type;
    char content_id[OX_P1_UB_CONTENT_ID + 1]; /* "" = absent */
    int priority;                             /* OX_P1_PRIO_* */
    uint16_t pmi;                             /* OX_P1_PMI_* */
    bool has_deferred;
    ox_p1_time deferred;
    bool has_content_length; /* probe only: [0] ContentLength */
    int64_t content_length;
    ox_span bilateral; /* contents of [1] per-domain-bilateral-information, byte-exact */
    ox_p1_traces trace;
    ox_p1_exts exts;
    ox_p1_recipient *rcpt;
    uint32_t n_rcpt, cap_rcpt;
    ox_span content; /* message only: the Content octets (view; see decode_head) */
    const ox_alloc *alloc;
} ox_p1_message;

/* Starts an empty message (or probe) whose lists will use |alloc| (may be NULL). */
void ox_p1_message_init(ox_p1_message *m, const ox_alloc *alloc);
/* Frees the lists; views are not owned. */
void ox_p1_message_free(ox_p1_message *m);
/* Appends a recipient (copied; its exts list is taken). Returns 0, OX_E_NOMEM or
 * OX_E_LIMIT (ub-recipients). */
int ox_p1_message_add_recipient(ox_p1_message *m, const ox_p1_recipient *r);
/* Adds the trace element an MTA adds on relay (appended at the end of the list). */
int ox_p1_message_add_trace(ox_p1_message *m, const ox_p1_trace *t);
/* True when |gdi| already appears in the trace with routing action relayed: the loop check
 * of X.411 (the MTA core adds its own internal-trace check on MTA names if it wants one). */
bool ox_p1_message_trace_has(const ox_p1_message *m, const ox_p1_gdi *gdi);

/* Writes the whole MTS-APDU ([0] message or [2] probe). Borrows |m|. Returns 0,
 * OX_E_ARG, OX_E_UNSUPPORTED (1984), OX_E_NOMEM or OX_E_LIMIT. */
int ox_p1_message_encode(ox_buf *w, const ox_p1_message *m, ox_p1_version v);
/* Writes the MTS-APDU up to and including the content OCTET STRING header for
 * |content_len| octets; the caller sends exactly that many content octets after it.
 * m->content is ignored. Same returns. */
int ox_p1_message_encode_head(ox_buf *w, const ox_p1_message *m, ox_p1_version v,
                              uint64_t content_len);

/* ---- Report (X.411 12.2.1.2) ---- */
enum { /* NonDeliveryReasonCode */
       OX_P1_NDR_TRANSFER_FAILURE = 0,
       OX_P1_NDR_UNABLE_TO_TRANSFER = 1,
       OX_P1_NDR_CONVERSION_NOT_PERFORMED = 2,
       OX_P1_NDR_RESTRICTED_DELIVERY = 5,
};
enum { /* NonDeliveryDiagnosticCode (a few of them) */
       OX_P1_DIAG_UNRECOGNISED_ORNAME = 0,
       OX_P1_DIAG_AMBIGUOUS_ORNAME = 1,
       OX_P1_DIAG_MTS_CONGESTION = 2,
       OX_P1_DIAG_LOOP_DETECTED = 3,
       OX_P1_DIAG_RECIPIENT_UNAVAILABLE = 4,
       OX_P1_DIAG_MAXIMUM_TIME_EXPIRED = 5,
       OX_P1_DIAG_CONTENT_TOO_LONG = 7,
       OX_P1_DIAG_PROTOCOL_VIOLATION = 14,
       OX_P1_DIAG_CONTENT_TYPE_NOT_SUPPORTED = 15,
       OX_P1_DIAG_TOO_MANY_RECIPIENTS = 16,
};

typedef struct ox_p1_report_recipient { /* PerRecipientReportTransferFields */
    ox_p1_orname actual;                /* [0] actual-recipient-name */
    int32_t orig_number;                /* [1] */
    uint16_t indicators;                /* [2] */
    ox_p1_time arrival;                 /* [3] LastTraceInformation */
    ox_p1_eits converted;
    bool delivered; /* report-type: delivery [0] or non-delivery [1] */
    ox_p1_time delivery_time;
    int type_of_user; /* delivery: TypeOfMTSUser DEFAULT public(0) */
    int reason;       /* non-delivery-reason-code */
    int diagnostic;   /* non-delivery-diagnostic-code, -1 = absent */
    bool has_intended;
    ox_p1_orname intended;                       /* [4] originally-intended-recipient-name */
    char supplementary[OX_P1_UB_SUPPL_INFO + 1]; /* [5] "" = absent */
    ox_p1_exts exts;                             /* [6] */
} ox_p1_report_recipient;

typedef struct ox_p1_report {
    ox_p1_mtsid id;           /* report-identifier */
    ox_p1_orname destination; /* report-destination-name */
    ox_p1_traces trace;
    ox_p1_exts exts; /* envelope [1] */
    /* ReportTransferContent */
    ox_p1_mtsid subject_id;
    bool has_subject_trace;
    ox_p1_traces subject_trace;
    ox_p1_eits orig_eits;
    bool has_content_type;
    ox_p1_content_type content_type;
    char content_id[OX_P1_UB_CONTENT_ID + 1];
    bool has_returned_content;
    ox_span returned_content; /* [1] Content */
    ox_span additional_info;  /* the element inside [2], byte-exact */
    ox_p1_exts content_exts;  /* [3] */
    ox_p1_report_recipient *rcpt;
    uint32_t n_rcpt, cap_rcpt;
    const ox_alloc *alloc;
} ox_p1_report;

void ox_p1_report_init(ox_p1_report *r, const ox_alloc *alloc);
void ox_p1_report_free(ox_p1_report *r);
int ox_p1_report_add_recipient(ox_p1_report *r, const ox_p1_report_recipient *rr);
/* Starts a report about |subject| (message or probe): report id |id|, destination the
 * subject's originator, subject id, content type and identifier and the subject's trace as
 * subject-intermediate-trace-information are copied; the report's own trace gets |here|.
 * Then add one ox_p1_report_recipient per reported recipient (see
 * ox_p1_report_recipient_for). |r| must be initialised. Returns 0 or OX_E_NOMEM. */
int ox_p1_report_for(ox_p1_report *r, const ox_p1_message *subject, const ox_p1_mtsid *id,
                     const ox_p1_trace *here);
/* Fills |rr| for recipient |i| of |subject|: delivered at |when| (|delivered|) or not, with
 * |reason| and |diagnostic| (-1 = none). Returns 0 or OX_E_ARG (i out of range). */
int ox_p1_report_recipient_for(ox_p1_report_recipient *rr, const ox_p1_message *subject, uint32_t i,
                               bool delivered, ox_p1_time when, int reason, int diagnostic);
int ox_p1_report_encode(ox_buf *w, const ox_p1_report *r, ox_p1_version v);

/* ---- MTS-APDU ---- */
typedef enum ox_p1_apdu_kind {
    OX_P1_APDU_MESSAGE = 0,
    OX_P1_APDU_REPORT = 1,
    OX_P1_APDU_PROBE = 2
} ox_p1_apdu_kind;

typedef struct ox_p1_apdu {
    ox_p1_apdu_kind kind;
    ox_p1_message msg; /* message and probe */
    ox_p1_report rep;  /* report */
} ox_p1_apdu;

/* Decodes one whole MTS-APDU from |in| (borrowed: views point into it). |lim| and |alloc|
 * may be NULL. On success free with ox_p1_apdu_free; on failure nothing needs freeing.
 * Returns 0, OX_E_PEER / OX_E_LIMIT (diag filled), or OX_E_NOMEM. */
int ox_p1_apdu_decode(ox_span in, ox_p1_version v, const ox_p1_limits *lim, const ox_alloc *alloc,
                      ox_p1_apdu *out, ox_p1_diag *diag);
void ox_p1_apdu_free(ox_p1_apdu *a);
int ox_p1_apdu_encode(ox_buf *w, const ox_p1_apdu *a, ox_p1_version v);

/* Decodes a message whose content may not be in |in| yet: |in| holds at least everything up
 * to the content's OCTET STRING header (a primitive, definite-length header is required).
 * Fills |m| (content left empty) and |content_off| / |content_len| (offset of the first
 * content octet in |in| and the content's length). Returns 0, OX_E_AGAIN (|in| ends before
 * the content header), OX_E_PEER, OX_E_LIMIT, OX_E_UNSUPPORTED (constructed content) or
 * OX_E_NOMEM. */
int ox_p1_message_decode_head(ox_span in, ox_p1_version v, const ox_p1_limits *lim,
                              const ox_alloc *alloc, ox_p1_message *m, size_t *content_off,
                              uint64_t *content_len, ox_p1_diag *diag);

/* ---- MTA bind (X.411 12.1.1 MTABindArgument / MTABindResult / MTABindError) ----
 * These are the values RTSE carries in RTORQ/RTOAC/RTORJ user data (connectionDataRQ open
 * [0] / connectionDataAC open [0] / userDataRJ), inside the ROS bind wrapping in 1988 mode
 * (the association layer's concern). In X.410-1984 mode the same authenticated SET is the
 * RTS "open" value, and the error is RTS's refuse reason, whose values 0, 2 and 3 coincide. */
typedef struct ox_p1_bind {
    bool authenticated;      /* false: unauthenticated NULL */
    ox_p1_mta_name mta_name; /* [0] initiator-name / responder-name */
    bool password_octets;    /* Password CHOICE: octet-string rather than ia5-string */
    uint8_t password[OX_P1_UB_PASSWORD];
    size_t password_len;
    ox_span strong;           /* strong [0] StrongCredentials contents, opaque */
    ox_span security_context; /* argument only: contents of [2] SecurityContext */
} ox_p1_bind;

typedef enum ox_p1_bind_error {
    OX_P1_BIND_BUSY = 0,
    OX_P1_BIND_AUTHENTICATION_ERROR = 2,
    OX_P1_BIND_UNACCEPTABLE_DIALOGUE_MODE = 3,
    OX_P1_BIND_UNACCEPTABLE_SECURITY_CONTEXT = 4,
    OX_P1_BIND_INADEQUATE_ASSOCIATION_CONFIDENTIALITY = 5,
} ox_p1_bind_error;
const char *ox_p1_bind_error_name(int e);

/* MTABindArgument / MTABindResult (|result| true omits the security context). Borrows.
 * Returns 0, OX_E_ARG, OX_E_UNSUPPORTED (1984: unauthenticated, strong, security context),
 * OX_E_NOMEM or OX_E_LIMIT. */
int ox_p1_bind_encode(ox_buf *w, const ox_p1_bind *b, bool result, ox_p1_version v);
/* Decodes a whole MTABindArgument (|result| false) or MTABindResult from |in|; views point
 * into |in|. Returns 0, OX_E_PEER or OX_E_LIMIT. */
int ox_p1_bind_decode(ox_span in, bool result, ox_p1_version v, ox_p1_bind *b, ox_p1_diag *diag);
/* MTABindError ::= INTEGER (0..ub-integer-options). */
int ox_p1_bind_error_encode(ox_buf *w, int err);
int ox_p1_bind_error_decode(ox_span in, int *err, ox_p1_diag *diag);

/* Helpers shared with ox_ipm (X.420 re-uses ORName and Time). */
int ox_p1_time_read(ox_ber_rd *rd, uint32_t tag, ox_p1_time *t);
void ox_p1_time_put(ox_buf *w, uint32_t tag, ox_p1_time t);

#endif
