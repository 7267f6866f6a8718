/* ses.h - X.225 (ISO 8327-1) session protocol, version 2: SPDU codec and protocol machine
 *
 * Why: RTSE (X.228) maps each transfer to an activity, checkpoints to minor syncs and the
 *      turn to the data token; so we implement kernel, half-duplex (duplex if the peer asks
 *      for it only), exceptions, minor synchronize and activity management, nothing else.
 * Shape: sans-I/O. ox_ses_feed takes one whole TSDU (from ox_tpkt's DATA_IND), events come
 *      out of ox_ses_next_event, and each request appends exactly one TSDU (category 2 SPDUs
 *      are concatenated behind an empty GT, X.225 6.3.7) to a caller-owned ox_buf that the
 *      caller hands to ox_tpkt_send.
 * Errors: a peer protocol error appends an AB (transport disconnect = released + protocol
 *      error) to |out|, queues one ABORT_IND (provider) and leaves the machine ABORTED
 *      (sticky: later calls return OX_E_STATE). Local misuse returns OX_E_STATE/OX_E_ARG and
 *      changes nothing.
 * Standards: X.225 (1995) clause 8 (SPDU structure and encoding), 7 (procedures), Annex A
 *      (state tables); SPDU codes and PIs as listed in X.225 tables 8.3 and in Wireshark's
 *      packet-ses.h (checked against tshark 4.0 decodes of our bytes). */
#ifndef OPENX400_SES_H
#define OPENX400_SES_H

#include "openx400/common.h"

/* ---- SPDU identifiers (SI), X.225 8.3 ------------------------------------------------ */
#define OX_SES_SI_ER  0  /* EXCEPTION REPORT, 8.3.28 (category 2) */
#define OX_SES_SI_DT  1  /* DATA TRANSFER 8.3.11 (category 2); same SI as GT */
#define OX_SES_SI_GT  1  /* GIVE TOKENS 8.3.16 (category 0) */
#define OX_SES_SI_PT  2  /* PLEASE TOKENS 8.3.17 (category 0) */
#define OX_SES_SI_NF  8  /* NOT FINISHED 8.3.7 */
#define OX_SES_SI_FN  9  /* FINISH 8.3.5 */
#define OX_SES_SI_DN  10 /* DISCONNECT 8.3.6 */
#define OX_SES_SI_RF  12 /* REFUSE 8.3.4 */
#define OX_SES_SI_CN  13 /* CONNECT 8.3.1 */
#define OX_SES_SI_AC  14 /* ACCEPT 8.3.3 */
#define OX_SES_SI_CDO 15 /* CONNECT DATA OVERFLOW 8.3.2 */
#define OX_SES_SI_OA  16 /* OVERFLOW ACCEPT 8.3.2 */
#define OX_SES_SI_AB  25 /* ABORT 8.3.9 (category 1); same SI as AI */
#define OX_SES_SI_AI  25 /* ACTIVITY INTERRUPT 8.3.25 (category 2) */
#define OX_SES_SI_AA  26 /* ABORT ACCEPT 8.3.10 (category 1); same SI as AIA */
#define OX_SES_SI_AIA 26 /* ACTIVITY INTERRUPT ACK 8.3.26 (category 2) */
#define OX_SES_SI_AR  29 /* ACTIVITY RESUME 8.3.24 */
#define OX_SES_SI_AE  41 /* ACTIVITY END 8.3.29 (same SI as MAP) */
#define OX_SES_SI_AEA 42 /* ACTIVITY END ACK 8.3.30 (same SI as MAA) */
#define OX_SES_SI_AS  45 /* ACTIVITY START 8.3.23 */
#define OX_SES_SI_ED  48 /* EXCEPTION DATA 8.3.29 */
#define OX_SES_SI_MIP 49 /* MINOR SYNC POINT 8.3.18 */
#define OX_SES_SI_MIA 50 /* MINOR SYNC ACK 8.3.19 */
#define OX_SES_SI_AD  57 /* ACTIVITY DISCARD 8.3.27 */
#define OX_SES_SI_ADA 58 /* ACTIVITY DISCARD ACK 8.3.28 */

/* ---- parameter group and parameter identifiers (PGI/PI), X.225 8.3 -------------------- */
#define OX_SES_PGI_CONN_ID     1   /* Connection Identifier */
#define OX_SES_PGI_CONN_ACCEPT 5   /* Connect/Accept Item */
#define OX_SES_PGI_LINKING     33  /* Linking Information (AR) */
#define OX_SES_PGI_USER_DATA   193 /* User Data */
#define OX_SES_PGI_EXT_UD      194 /* Extended User Data (CN, version 2) */
#define OX_SES_PI_CALLED_REF   9   /* Called SS-user Reference */
#define OX_SES_PI_CALLING_REF  10  /* Calling SS-user Reference */
#define OX_SES_PI_COMMON_REF   11  /* Common Reference */
#define OX_SES_PI_ADD_REF      12  /* Additional Reference Information */
#define OX_SES_PI_SYNC_TYPE    15  /* Sync Type Item (MIP) */
#define OX_SES_PI_TOKEN_ITEM   16  /* Token Item */
#define OX_SES_PI_TRANSPORT_DC 17  /* Transport Disconnect */
#define OX_SES_PI_PROTO_OPT    19  /* Protocol Options */
#define OX_SES_PI_REQUIREMENTS 20  /* Session User Requirements */
#define OX_SES_PI_TSDU_MAX     21  /* TSDU Maximum Size */
#define OX_SES_PI_VERSION      22  /* Version Number */
#define OX_SES_PI_INITIAL_SN   23  /* Initial Serial Number */
#define OX_SES_PI_ENCLOSURE    25  /* Enclosure Item */
#define OX_SES_PI_TOKEN_SET    26  /* Token Setting Item */
#define OX_SES_PI_ACTIVITY_ID  41  /* Activity Identifier (also Old Activity Id in PGI 33) */
#define OX_SES_PI_SERIAL       42  /* Serial Number */
#define OX_SES_PI_REFLECT      49  /* Reflect Parameter Values */
#define OX_SES_PI_REASON       50  /* Reason Code */
#define OX_SES_PI_CALLING_SSEL 51  /* Calling Session Selector */
#define OX_SES_PI_CALLED_SSEL  52  /* Called (Responding) Session Selector */
#define OX_SES_PI_DATA_OVERFL  60  /* Data Overflow */

/* Session user requirements (PI 20), X.225 8.3.1.16. */
#define OX_SES_FU_HALF_DUPLEX 0x0001
#define OX_SES_FU_DUPLEX      0x0002
#define OX_SES_FU_MINOR_SYNC  0x0008
#define OX_SES_FU_ACTIVITY    0x0040
#define OX_SES_FU_EXCEPTIONS  0x0200
/* What we propose and accept: what RTSE (X.228 7.1) asks for. */
#define OX_SES_FU_RTSE                                                                             \
    (OX_SES_FU_HALF_DUPLEX | OX_SES_FU_MINOR_SYNC | OX_SES_FU_ACTIVITY | OX_SES_FU_EXCEPTIONS)

/* Tokens (Token Item PI 16 bits), X.225 8.3.16.2. */
#define OX_SES_TOKEN_DATA    0x01
#define OX_SES_TOKEN_MINOR   0x04
#define OX_SES_TOKEN_MAJOR   0x10 /* major/activity token */
#define OX_SES_TOKEN_RELEASE 0x40

/* Token Setting Item (PI 26) values per token, two bits each (8.3.1.13). */
#define OX_SES_TS_INITIATOR 0
#define OX_SES_TS_RESPONDER 1
#define OX_SES_TS_CHOICE    2 /* called SS-user's choice */

/* Version Number (PI 22) bits. */
#define OX_SES_VERSION_1 0x01
#define OX_SES_VERSION_2 0x02

/* Transport Disconnect (PI 17) bits, 8.3.9.2. */
#define OX_SES_TD_RELEASED       0x01 /* transport connection released (else kept) */
#define OX_SES_TD_USER_ABORT     0x02
#define OX_SES_TD_PROTOCOL_ERROR 0x04
#define OX_SES_TD_NO_REASON      0x08
#define OX_SES_TD_IMPL_RESTRICT  0x10

/* Refuse reason codes (RF PI 50), 8.3.4.2. */
#define OX_SES_RF_USER_NOT_SPECIFIED 0
#define OX_SES_RF_USER_CONGESTION    1
#define OX_SES_RF_USER_DATA          2 /* rejection by SS-user; user data follows */
#define OX_SES_RF_SSEL_UNKNOWN       129
#define OX_SES_RF_NOT_ATTACHED       130
#define OX_SES_RF_SPM_CONGESTION     131
#define OX_SES_RF_VERSION            132 /* proposed protocol versions not supported */
#define OX_SES_RF_SPM_NOT_SPECIFIED  133
#define OX_SES_RF_SPM_RESTRICTION    134

/* Limits of the encoding (X.225 8.2, 8.3.1.19/20, 8.3.18.3). */
#define OX_SES_MAX_SSEL      16    /* session selector octets */
#define OX_SES_MAX_ACT_ID    6     /* activity identifier octets */
#define OX_SES_MAX_REF       64    /* SS-user/common reference octets */
#define OX_SES_MAX_CN_UD     512   /* CN user data in PGI 193 */
#define OX_SES_MAX_CN_EXT_UD 10240 /* CN extended user data, version 2 */
#define OX_SES_MAX_SERIAL    999998u
#define OX_SES_MAX_SPDU      65539u /* SI + 3-octet LI + 65535, version 2 */

/* ---- SPDU codec (ses_pdu.c): pure functions ------------------------------------------- */

/* Which SPDU, once the category has resolved the shared SIs. */
typedef enum ox_ses_kind {
    OX_SES_K_NONE,
    OX_SES_K_CN,
    OX_SES_K_AC,
    OX_SES_K_RF,
    OX_SES_K_FN,
    OX_SES_K_DN,
    OX_SES_K_NF,
    OX_SES_K_AB,
    OX_SES_K_AA,
    OX_SES_K_GT,
    OX_SES_K_PT,
    OX_SES_K_DT,
    OX_SES_K_MIP,
    OX_SES_K_MIA,
    OX_SES_K_AS,
    OX_SES_K_AR,
    OX_SES_K_AI,
    OX_SES_K_AIA,
    OX_SES_K_AD,
    OX_SES_K_ADA,
    OX_SES_K_AE,
    OX_SES_K_AEA,
    OX_SES_K_ER,
    OX_SES_K_ED,
    OX_SES_K_CDO,
    OX_SES_K_OA,
    OX_SES_K_COUNT
} ox_ses_kind;

/* Presence bits of ox_ses_spdu.have. */
enum {
    OX_SES_HAVE_PROTO_OPT = 1u << 0,
    OX_SES_HAVE_TSDU_MAX = 1u << 1,
    OX_SES_HAVE_VERSION = 1u << 2,
    OX_SES_HAVE_INITIAL_SN = 1u << 3,
    OX_SES_HAVE_TOKEN_SET = 1u << 4,
    OX_SES_HAVE_REQUIREMENTS = 1u << 5,
    OX_SES_HAVE_CALLING_SSEL = 1u << 6,
    OX_SES_HAVE_CALLED_SSEL = 1u << 7,
    OX_SES_HAVE_TOKEN_ITEM = 1u << 8,
    OX_SES_HAVE_TRANSPORT_DC = 1u << 9,
    OX_SES_HAVE_SYNC_TYPE = 1u << 10,
    OX_SES_HAVE_SERIAL = 1u << 11,
    OX_SES_HAVE_ACTIVITY_ID = 1u << 12,
    OX_SES_HAVE_LINKING = 1u << 13,
    OX_SES_HAVE_REASON = 1u << 14,
    OX_SES_HAVE_DATA_OVERFL = 1u << 15,
    OX_SES_HAVE_ENCLOSURE = 1u << 16,
    OX_SES_HAVE_USER_DATA = 1u << 17,
    OX_SES_HAVE_REFLECT = 1u << 18,
    OX_SES_HAVE_CONN_ID = 1u << 19,
};

/* One decoded SPDU. Spans are views into the decoded bytes. */
typedef struct ox_ses_spdu {
    ox_ses_kind kind;
    uint32_t have; /* OX_SES_HAVE_* */
    uint8_t proto_opt;
    uint32_t tsdu_max; /* PI 21: initiator->responder << 16 | responder->initiator */
    uint8_t version;
    uint32_t initial_sn;
    uint8_t token_set;
    uint16_t requirements;
    ox_span calling_ssel, called_ssel;
    uint8_t token_item;
    uint8_t transport_dc;
    uint8_t sync_type;
    uint32_t serial;
    ox_span activity_id;
    /* AR Linking Information (PGI 33) */
    ox_span called_ref, calling_ref, common_ref, add_ref, old_activity_id;
    uint8_t reason;      /* PI 50 first octet */
    ox_span reason_data; /* RF: octets after the reason (user data for reason 2) */
    uint8_t data_overflow;
    uint8_t enclosure;
    ox_span reflect;
    ox_span conn_id;   /* PGI 1, kept opaque */
    ox_span user_data; /* PGI 193/194, or DT's user information field */
    bool extended_ud;  /* user data came (or goes) in PGI 194 */
} ox_ses_spdu;

/* Appends |pdu| (borrowed) to |out|: SI, LI (one octet, or 0xFF and two), the parameters the
 * kind allows in X.225's order, user data. Returns 0, OX_E_ARG (a field too long for its
 * parameter, or the SPDU beyond OX_SES_MAX_SPDU) or the buffer's error. */
int ox_ses_pdu_encode(const ox_ses_spdu *pdu, ox_buf *out);

/* Decodes one TSDU into at most two SPDUs (a category 0 SPDU and the category 2 SPDU after it,
 * or one category 0 or 1 SPDU). |pdus| views point into |tsdu|. Returns 0 and sets *n, or
 * OX_E_PEER (malformed, unknown SI, a PI too long, more than basic concatenation) with
 * *offset at the octet that failed. */
int ox_ses_pdu_decode(ox_span tsdu, ox_ses_spdu pdus[2], size_t *n, size_t *offset);

const char *ox_ses_kind_name(ox_ses_kind k);

/* ---- protocol machine (ses.c) -------------------------------------------------------- */

typedef enum ox_ses_state {
    OX_SES_IDLE,              /* initiator before connect */
    OX_SES_AWAIT_CN,          /* responder waiting for CN */
    OX_SES_AWAIT_AC,          /* CN sent */
    OX_SES_AWAIT_CONNECT_RSP, /* CONNECT_IND delivered: accept or refuse */
    OX_SES_OPEN,              /* data transfer (activity and waits are in sub-fields) */
    OX_SES_AWAIT_DN,          /* FN sent */
    OX_SES_AWAIT_RELEASE_RSP, /* RELEASE_IND delivered: release_rsp */
    OX_SES_CLOSED,            /* refused or released: close the transport */
    OX_SES_ABORTED,           /* aborted by us or the peer (sticky) */
    OX_SES_AWAIT_OA,          /* initiator: CN with Data Overflow sent, waiting for OA */
    OX_SES_AWAIT_CDO,         /* responder: OA sent, reassembling the CDOs */
} ox_ses_state;

/* What we wait for inside OPEN after a confirmed request. */
typedef enum ox_ses_wait {
    OX_SES_W_NONE,
    OX_SES_W_AIA, /* AI sent */
    OX_SES_W_ADA, /* AD sent */
    OX_SES_W_AEA, /* AE sent */
    OX_SES_W_EXC, /* ED sent: until the peer interrupts, discards, gives the data token */
} ox_ses_wait;

/* What the peer waits for from our user inside OPEN. */
typedef enum ox_ses_owe {
    OX_SES_O_NONE,
    OX_SES_O_AIA, /* ACTIVITY_INTERRUPT_IND delivered: activity_interrupt_rsp */
    OX_SES_O_ADA,
    OX_SES_O_AEA,
    OX_SES_O_EXC, /* an exception report arrived: interrupt, discard, give data token or abort */
} ox_ses_owe;

typedef enum ox_ses_ev_kind {
    OX_SES_EV_NONE,
    OX_SES_EV_CONNECT_IND,            /* user_data, calling/called_ssel, requirements, tokens */
    OX_SES_EV_CONNECT_CONF,           /* accepted; or refused with reason (RF) */
    OX_SES_EV_DATA_IND,               /* user_data */
    OX_SES_EV_TOKEN_GIVE_IND,         /* tokens: now ours */
    OX_SES_EV_TOKEN_PLEASE_IND,       /* tokens the peer asks for, user_data */
    OX_SES_EV_MINOR_SYNC_IND,         /* serial, confirm (explicit confirmation asked), user_data */
    OX_SES_EV_MINOR_SYNC_CONF,        /* serial */
    OX_SES_EV_ACTIVITY_START_IND,     /* activity_id, user_data */
    OX_SES_EV_ACTIVITY_RESUME_IND,    /* activity_id, old_activity_id, serial, refs */
    OX_SES_EV_ACTIVITY_INTERRUPT_IND, /* reason */
    OX_SES_EV_ACTIVITY_INTERRUPT_CONF,
    OX_SES_EV_ACTIVITY_DISCARD_IND, /* reason */
    OX_SES_EV_ACTIVITY_DISCARD_CONF,
    OX_SES_EV_ACTIVITY_END_IND, /* serial, user_data */
    OX_SES_EV_ACTIVITY_END_CONF,
    OX_SES_EV_U_EXCEPTION_IND, /* ED: reason, user_data */
    OX_SES_EV_P_EXCEPTION_IND, /* ER from the peer's provider */
    OX_SES_EV_RELEASE_IND,     /* FN: user_data */
    OX_SES_EV_RELEASE_CONF,    /* DN: user_data; close the transport */
    OX_SES_EV_ABORT_IND,       /* AB: reason (PI 17 bits), user_data; provider if local */
} ox_ses_ev_kind;

/* Why we aborted (ABORT_IND with local = true). */
typedef enum ox_ses_fault {
    OX_SES_F_NONE,
    OX_SES_F_MALFORMED,   /* SPDU encoding */
    OX_SES_F_UNEXPECTED,  /* SPDU not allowed in this state (Annex A) */
    OX_SES_F_TOKEN,       /* SPDU needs a token the peer does not hold */
    OX_SES_F_SERIAL,      /* serial number out of the window */
    OX_SES_F_NEGOTIATION, /* AC selects what we did not propose */
    OX_SES_F_LIMIT,       /* a configured limit */
    OX_SES_F_UNSUPPORTED, /* segmenting, overflow or a functional unit we do not do */
    OX_SES_F_TRANSPORT,   /* the transport connection was lost (ox_ses_transport_lost) */
} ox_ses_fault;

typedef struct ox_ses_ev {
    ox_ses_ev_kind kind;
    ox_span user_data; /* view valid until the next feed (it points into the fed TSDU) */
    ox_span calling_ssel, called_ssel;                    /* CONNECT_IND */
    ox_span activity_id, old_activity_id;                 /* ACTIVITY_START/RESUME_IND */
    ox_span called_ref, calling_ref, common_ref, add_ref; /* ACTIVITY_RESUME_IND */
    uint16_t requirements; /* CONNECT_IND: proposed; CONNECT_CONF: selected */
    uint8_t token_set;     /* CONNECT_IND: the peer's Token Setting Item */
    uint8_t tokens;        /* TOKEN_GIVE/PLEASE_IND */
    uint32_t serial;       /* MINOR_SYNC_*, ACTIVITY_END_*, ACTIVITY_RESUME_IND */
    bool confirm;          /* MINOR_SYNC_IND: explicit confirmation requested */
    bool accepted;         /* CONNECT_CONF */
    uint8_t reason;        /* RF reason, AI/AD/ED reason, AB transport-disconnect bits */
    bool local;            /* ABORT_IND: raised by our provider (fault says why) */
    ox_ses_fault fault;
    int line; /* ABORT_IND local: source line that noticed (diagnostics) */
} ox_ses_ev;

typedef struct ox_ses_limits {
    /* Largest TSDU we decode. Default 65539 + 4 (one unsegmented SPDU plus a GT): version 2
     * without segmenting never needs more; RTSE checkpoints are well inside it. */
    size_t max_tsdu;
    /* Largest connect user data, CN plus data overflow (CDO), that we send or reassemble.
     * Default 64 KiB: an MTA bind with certificates is a few KB; a peer cannot make us hold
     * more. */
    size_t max_connect_ud;
} ox_ses_limits;
#define OX_SES_DEFAULT_MAX_TSDU       ((size_t)OX_SES_MAX_SPDU + 4)
#define OX_SES_DEFAULT_MAX_CONNECT_UD ((size_t)64 * 1024)
/* Data Overflow (PI 60) value: more connect user data follows in CDO SPDUs (8.3.1.22). */
#define OX_SES_OVERFLOW_MORE 1
/* Enclosure Item bits (8.3.2.2): beginning and end of the SSDU. */
#define OX_SES_ENCL_BEGIN 1
#define OX_SES_ENCL_END   2
/* User data in one CDO we send: an SPDU stays below the 65539-octet version 2 limit. */
#define OX_SES_CDO_CHUNK 65000

typedef enum ox_ses_role { OX_SES_INITIATOR, OX_SES_RESPONDER } ox_ses_role;

typedef struct ox_ses_cfg {
    ox_ses_role role;
    ox_span local_ssel;    /* copied; at most OX_SES_MAX_SSEL */
    ox_span remote_ssel;   /* initiator: called selector; copied */
    uint16_t requirements; /* proposed / accepted functional units; 0 = OX_SES_FU_RTSE */
    ox_ses_limits limits;
} ox_ses_cfg;

#define OX_SES_EVQ 4

typedef struct ox_ses {
    ox_ses_cfg cfg;
    ox_ses_state state;
    uint8_t local_ssel[OX_SES_MAX_SSEL];
    uint8_t remote_ssel[OX_SES_MAX_SSEL];
    uint16_t fu;     /* selected functional units (OPEN) */
    uint8_t avail;   /* tokens that exist under fu */
    uint8_t own;     /* tokens we hold */
    uint8_t peer_ts; /* CN's Token Setting Item (responder) */
    bool in_activity;
    ox_ses_wait wait;
    ox_ses_owe owe;
    uint32_t vm;       /* V(M): next serial number */
    uint32_t va;       /* V(A): lowest serial not yet confirmed */
    uint32_t last_ind; /* serial of the last MIP/AE received */
    uint64_t now_ms;
    ox_ses_ev evq[OX_SES_EVQ];
    size_t ev_head, ev_n;
    /* Data overflow (X.225 7.1.4): the initiator's connect user data after the first 10240
     * octets (borrowed from ox_ses_connect's caller until the OA) and the responder's
     * reassembly of CN + CDOs (heap, freed by ox_ses_free). */
    ox_span ovf_rest;
    ox_buf cn_ud;
    uint8_t called_ssel[OX_SES_MAX_SSEL];
    size_t called_ssel_len;
} ox_ses;

/* Initialises |s|; copies what it needs from |cfg|. Returns 0 or OX_E_ARG. */
int ox_ses_init(ox_ses *s, const ox_ses_cfg *cfg);
/* Frees what a data-overflow connect allocated (NULL-safe, idempotent). */
void ox_ses_free(ox_ses *s);

typedef struct ox_ses_connect_req {
    ox_span user_data; /* borrowed: up to OX_SES_MAX_CN_EXT_UD in the CN (PGI 194 above 512);
                          beyond, up to limits.max_connect_ud with data overflow: the rest
                          goes in CDOs when the OA arrives, so keep it valid until then */
    uint8_t token_set; /* Token Setting Item for the tokens that exist (OX_SES_TS_* pairs);
                          0 = all on the initiator's side */
} ox_ses_connect_req;
/* Initiator: appends CN (with Data Overflow when the user data exceeds 10240 octets; then
 * CDOs follow the peer's OA by themselves). Returns 0, OX_E_STATE, OX_E_LIMIT (user data
 * above limits.max_connect_ud) or the buffer's error. */
int ox_ses_connect(ox_ses *s, const ox_ses_connect_req *req, ox_buf *out);

typedef struct ox_ses_accept_req {
    ox_span user_data;     /* borrowed */
    uint16_t requirements; /* 0 = what the peer proposed that we support */
    uint8_t take_tokens;   /* tokens set to "called user's choice" that the responder takes */
} ox_ses_accept_req;
/* Responder after CONNECT_IND: appends AC. Returns 0, OX_E_STATE, OX_E_ARG (requirements
 * not proposed, or neither or both of half-duplex and duplex) or the buffer's error. */
int ox_ses_accept(ox_ses *s, const ox_ses_accept_req *req, ox_buf *out);
/* Responder after CONNECT_IND: appends RF with |reason| (OX_SES_RF_*); user data only with
 * reason 2. State CLOSED. Returns 0, OX_E_STATE or the buffer's error. */
int ox_ses_refuse(ox_ses *s, uint8_t reason, ox_span user_data, ox_buf *out);

/* S-DATA: appends GT+DT with |user_data| (borrowed; copied once into |out|). Needs the data
 * token (half-duplex) and an activity (activity management). Returns 0, OX_E_STATE or the
 * buffer's error. */
int ox_ses_data(ox_ses *s, ox_span user_data, ox_buf *out);
/* S-TOKEN-GIVE: appends GT giving |tokens| (all held by us). OX_E_STATE / OX_E_ARG. */
int ox_ses_give_tokens(ox_ses *s, uint8_t tokens, ox_buf *out);
/* S-TOKEN-PLEASE: appends PT asking for |tokens| (held by the peer). */
int ox_ses_please_tokens(ox_ses *s, uint8_t tokens, ox_span user_data, ox_buf *out);
/* S-SYNC-MINOR request: appends GT+MIP with serial V(M) (returned in *serial, may be NULL).
 * Needs the minor-sync and data tokens and, with activities, an activity. */
int ox_ses_minor_sync(ox_ses *s, bool confirm, ox_span user_data, uint32_t *serial, ox_buf *out);
/* S-SYNC-MINOR response: appends GT+MIA confirming |serial| (at most the last one received). */
int ox_ses_minor_sync_rsp(ox_ses *s, uint32_t serial, ox_span user_data, ox_buf *out);
/* S-ACTIVITY-START: appends GT+AS; |id| 1..6 octets. V(M) becomes 1. */
int ox_ses_activity_start(ox_ses *s, ox_span id, ox_span user_data, ox_buf *out);
/* S-ACTIVITY-RESUME (RTSE recovery): appends GT+AR naming the interrupted activity |old_id|
 * and the last confirmed |serial|; the new activity is |id|. V(M) becomes serial + 1.
 * |refs| (may be NULL) are the old connection's references (called, calling, common,
 * additional), each at most OX_SES_MAX_REF octets. */
typedef struct ox_ses_refs {
    ox_span called, calling, common, additional;
} ox_ses_refs;
int ox_ses_activity_resume(ox_ses *s, ox_span id, ox_span old_id, uint32_t serial,
                           const ox_ses_refs *refs, ox_span user_data, ox_buf *out);
/* S-ACTIVITY-INTERRUPT / -DISCARD request and response (GT+AI, GT+AIA, GT+AD, GT+ADA). */
int ox_ses_activity_interrupt(ox_ses *s, uint8_t reason, ox_buf *out);
int ox_ses_activity_interrupt_rsp(ox_ses *s, ox_buf *out);
int ox_ses_activity_discard(ox_ses *s, uint8_t reason, ox_buf *out);
int ox_ses_activity_discard_rsp(ox_ses *s, ox_buf *out);
/* S-ACTIVITY-END request (GT+AE with serial V(M)) and response (GT+AEA). */
int ox_ses_activity_end(ox_ses *s, ox_span user_data, uint32_t *serial, ox_buf *out);
int ox_ses_activity_end_rsp(ox_ses *s, ox_span user_data, ox_buf *out);
/* S-U-EXCEPTION-REPORT: GT+ED; needs the exceptions unit and the peer to hold the data
 * token. */
int ox_ses_u_exception(ox_ses *s, uint8_t reason, ox_span user_data, ox_buf *out);
/* S-RELEASE request (FN; needs every token that exists and no activity) and response (DN;
 * state CLOSED). */
int ox_ses_release(ox_ses *s, ox_span user_data, ox_buf *out);
int ox_ses_release_rsp(ox_ses *s, ox_span user_data, ox_buf *out);
/* S-U-ABORT: appends AB (transport released, user abort) with |user_data|. State ABORTED.
 * Returns 0, OX_E_STATE (closed or aborted already) or the buffer's error. */
int ox_ses_abort(ox_ses *s, ox_span user_data, ox_buf *out);

/* Feeds one whole TSDU (borrowed; the events' views point into it). |out| receives the AB of
 * a protocol error. Returns 0, OX_E_PEER (AB appended, ABORT_IND queued, ABORTED),
 * OX_E_STATE (closed/aborted, or events still pending) or the buffer's error. */
int ox_ses_feed(ox_ses *s, ox_span tsdu, uint64_t now_ms, ox_buf *out);
/* The transport went away: queues a provider ABORT_IND unless CLOSED/ABORTED. */
void ox_ses_transport_lost(ox_ses *s);
/* Moves the oldest pending event to |ev|; returns false if none. */
bool ox_ses_next_event(ox_ses *s, ox_ses_ev *ev);

/* State for the layer above (RTSE). */
static inline uint8_t ox_ses_tokens_held(const ox_ses *s)
{
    return s->own;
}
static inline uint8_t ox_ses_tokens_available(const ox_ses *s)
{
    return s->avail;
}
/* V(M): the serial number the next minor sync or activity end will carry. */
static inline uint32_t ox_ses_serial(const ox_ses *s)
{
    return s->vm;
}
static inline bool ox_ses_in_activity(const ox_ses *s)
{
    return s->in_activity;
}
const char *ox_ses_state_name(ox_ses_state st);
const char *ox_ses_ev_name(ox_ses_ev_kind k);

#endif
