/* tpkt.h - RFC 1006 transport: TPKT framing and ISO 8073 class 0 (CR, CC, DR, DT, ER)
 *
 * Why: X.400 P1 runs over OSI transport on TCP port 102; the daemon glues one ox_tpkt to
 *      one TCP socket and the session layer (ses.h) above it sees whole TSDUs.
 * Shape: sans-I/O. Bytes from the socket go in with ox_tpkt_feed (split anywhere), events
 *      come out of ox_tpkt_next_event, and every request appends the TPDUs to send to a
 *      caller-owned ox_buf. feed() stops after each event so that a DATA_IND view stays
 *      valid: call it again with the rest of the input once the event is taken.
 * Errors: a peer fault (bad TPKT version or length, bad TPDU, wrong TPDU for the state, a
 *      class other than 0) returns OX_E_PEER, appends the ER or DR the standard asks for to
 *      |out|, queues an ERROR event and leaves the object ERROR (sticky: later calls get
 *      OX_E_STATE). The caller sends |out| and closes the TCP connection.
 * Standards: RFC 1006 (TPKT, TPDU size up to 65531), ISO 8073 / X.224 class 0 (13.3 CR,
 *      13.4 CC, 13.5 DR, 13.7 DT, 13.12 ER). */
#ifndef OPENX400_TPKT_H
#define OPENX400_TPKT_H

#include "openx400/common.h"

/* TPKT header, RFC 1006 section 6: version 3, reserved, 16-bit length of the whole packet. */
#define OX_TPKT_VERSION 3
#define OX_TPKT_HDR_LEN 4
/* Largest TPDU RFC 1006 allows: the 16-bit TPKT length less the 4-byte TPKT header. */
#define OX_TPKT_MAX_TPDU 65531u
/* Smallest class 0 TPDU size (ISO 8073 13.3.4 b: default 128 when not negotiated). */
#define OX_TPKT_MIN_TPDU 128u

/* TPDU codes, ISO 8073 13.1 table 8 (high nibble of the code octet). */
#define OX_TPKT_CODE_CR 0xE0 /* connection request */
#define OX_TPKT_CODE_CC 0xD0 /* connection confirm */
#define OX_TPKT_CODE_DR 0x80 /* disconnect request */
#define OX_TPKT_CODE_DT 0xF0 /* data */
#define OX_TPKT_CODE_ER 0x70 /* TPDU error */
#define OX_TPKT_DT_EOT  0x80 /* DT: end of TSDU mark (13.7.3 c) */

/* Variable-part parameter codes, ISO 8073 13.3.4. */
#define OX_TPKT_PAR_TPDU_SIZE      0xC0 /* 13.3.4 b: 1 octet, 2^n, 7..13 */
#define OX_TPKT_PAR_CALLING_TSAP   0xC1 /* 13.3.4 a: calling transport selector */
#define OX_TPKT_PAR_CALLED_TSAP    0xC2 /* 13.3.4 a: called transport selector */
#define OX_TPKT_PAR_PREF_TPDU_SIZE 0xF0 /* 13.3.4 c: preferred max TPDU size, units of 128 */
#define OX_TPKT_PAR_ADD_INFO       0xE0 /* 13.5.4: DR additional information */
#define OX_TPKT_PAR_INVALID_TPDU   0xC1 /* 13.12.4: ER, the octets of the rejected TPDU */

/* DR reasons, ISO 8073 13.5.3 d. */
#define OX_TPKT_DR_NOT_SPECIFIED      0x00
#define OX_TPKT_DR_CONGESTION         0x01
#define OX_TPKT_DR_NOT_ATTACHED       0x02 /* session entity not attached to TSAP */
#define OX_TPKT_DR_ADDRESS_UNKNOWN    0x03
#define OX_TPKT_DR_NORMAL             0x80
#define OX_TPKT_DR_NEGOTIATION_FAILED 0x82 /* e.g. a class other than 0 */
#define OX_TPKT_DR_PROTOCOL_ERROR     0x85
#define OX_TPKT_DR_REFUSED            0x88
#define OX_TPKT_DR_BAD_LENGTH         0x8A /* header or parameter length invalid */

/* ER reject causes, ISO 8073 13.12.3 d. */
#define OX_TPKT_ER_NOT_SPECIFIED 0x00
#define OX_TPKT_ER_BAD_PARAM     0x01 /* invalid parameter code */
#define OX_TPKT_ER_BAD_TYPE      0x02 /* invalid TPDU type */
#define OX_TPKT_ER_BAD_VALUE     0x03 /* invalid parameter value */

/* Largest transport selector we accept (ISO 8073 leaves it open; ISO 8348 NSAP-style
 * selectors in X.400 deployments are at most a few octets, 32 leaves ample room). */
#define OX_TPKT_MAX_TSEL 32u

typedef struct ox_tpkt_limits {
    /* Largest reassembled TSDU. Default 1 MiB: a session SPDU is at most 65539 octets
     * unsegmented and RTSE checkpoints are tens of KB, so 1 MiB is far above need and bounds
     * what a peer can make us hold. */
    size_t max_tsdu;
} ox_tpkt_limits;
#define OX_TPKT_DEFAULT_MAX_TSDU ((size_t)1 << 20)

typedef enum ox_tpkt_role { OX_TPKT_INITIATOR, OX_TPKT_RESPONDER } ox_tpkt_role;

typedef struct ox_tpkt_cfg {
    ox_tpkt_role role;
    ox_span local_tsel;  /* copied at init; at most OX_TPKT_MAX_TSEL octets */
    ox_span remote_tsel; /* initiator: the called TSAP; copied at init */
    /* Largest TPDU we propose or accept, 128..65531; 0 = 65531. Sizes above 8192 are
     * proposed with the preferred-max-TPDU-size parameter as well as the 8192 code. */
    uint32_t max_tpdu;
    uint16_t local_ref; /* our SRC-REF; 0 = 1 */
    ox_tpkt_limits limits;
} ox_tpkt_cfg;

typedef enum ox_tpkt_state {
    OX_TPKT_IDLE,         /* initiator before ox_tpkt_connect */
    OX_TPKT_AWAIT_CC,     /* CR sent */
    OX_TPKT_AWAIT_CR,     /* responder waiting for the peer */
    OX_TPKT_AWAIT_ACCEPT, /* CR received, CONNECT_IND delivered; accept or refuse */
    OX_TPKT_OPEN,         /* data transfer */
    OX_TPKT_CLOSED,       /* DR sent or received, or disconnected: close the socket */
    OX_TPKT_ERROR,        /* protocol error (sticky) */
} ox_tpkt_state;

typedef enum ox_tpkt_ev_kind {
    OX_TPKT_EV_NONE,
    OX_TPKT_EV_CONNECT_IND,    /* responder: CR received; calling/called_tsel, tpdu_size */
    OX_TPKT_EV_CONNECT_CONF,   /* initiator: CC received; tpdu_size negotiated */
    OX_TPKT_EV_DATA_IND,       /* one whole reassembled TSDU in |data| */
    OX_TPKT_EV_DISCONNECT_IND, /* DR received; |reason| is its reason code */
    OX_TPKT_EV_ERROR,          /* protocol error: ER received (peer_er) or detected by us */
} ox_tpkt_ev_kind;

typedef struct ox_tpkt_ev {
    ox_tpkt_ev_kind kind;
    ox_span data;         /* DATA_IND: view valid until the next feed */
    ox_span calling_tsel; /* CONNECT_IND: views valid until the next feed */
    ox_span called_tsel;
    uint32_t tpdu_size; /* CONNECT_IND: proposed by the peer; CONNECT_CONF: negotiated */
    uint8_t reason;     /* DISCONNECT_IND: DR reason; ERROR: ER cause or our DR/ER reason */
    bool peer_er;       /* ERROR: true if the peer sent an ER TPDU */
    int code;           /* ERROR: OX_E_PEER or OX_E_LIMIT */
} ox_tpkt_ev;

typedef struct ox_tpkt {
    ox_tpkt_cfg cfg;
    ox_tpkt_state state;
    const ox_alloc *alloc;
    uint8_t local_tsel[OX_TPKT_MAX_TSEL];
    uint8_t remote_tsel[OX_TPKT_MAX_TSEL];
    uint16_t remote_ref;
    uint32_t tpdu_size;  /* negotiated (OPEN) or proposed by the peer (AWAIT_ACCEPT) */
    bool peer_pref_size; /* the peer's CR used the preferred-size parameter */
    /* input */
    uint8_t hdr[OX_TPKT_HDR_LEN];
    size_t hdr_have;
    size_t tpdu_len;  /* current TPDU length (TPKT length - 4) */
    size_t tpdu_have; /* octets of it seen so far */
    ox_buf pdu;       /* current TPDU header (and non-DT body) */
    ox_buf tsdu;      /* TSDU being reassembled */
    bool tsdu_done;   /* tsdu was delivered: reset at the next feed */
    ox_tpkt_ev ev;
    bool ev_ready;
} ox_tpkt;

/* Initialises |t|. Copies what it needs from |cfg|; |alloc| (may be NULL) is borrowed and must
 * outlive |t|. Returns 0 or OX_E_ARG (selector too long, max_tpdu out of range). */
int ox_tpkt_init(ox_tpkt *t, const ox_tpkt_cfg *cfg, const ox_alloc *alloc);
/* Frees what |t| holds. */
void ox_tpkt_free(ox_tpkt *t);

/* Initiator: appends a CR to |out| (borrowed). Returns 0, OX_E_STATE or the buffer's error. */
int ox_tpkt_connect(ox_tpkt *t, ox_buf *out);
/* Responder after CONNECT_IND: appends the CC. Returns 0, OX_E_STATE or the buffer's error. */
int ox_tpkt_accept(ox_tpkt *t, ox_buf *out);
/* Responder after CONNECT_IND: appends a DR with |reason| (OX_TPKT_DR_*). The state becomes
 * CLOSED. Returns 0, OX_E_STATE or the buffer's error. */
int ox_tpkt_refuse(ox_tpkt *t, uint8_t reason, ox_buf *out);
/* OPEN: appends |tsdu| (borrowed) as DT TPDUs of the negotiated size, EOT on the last.
 * Returns 0, OX_E_STATE or the buffer's error. */
int ox_tpkt_send(ox_tpkt *t, ox_span tsdu, ox_buf *out);
/* Ends the connection. Class 0 has no DR after CC (ISO 8073 6.7.1.4): the caller closes the
 * TCP connection, so nothing is appended. Returns 0 or OX_E_STATE (already closed). */
int ox_tpkt_disconnect(ox_tpkt *t, ox_buf *out);

/* Reads bytes from |in| (borrowed), split at any point. Stops after the first event; sets
 * *consumed to the bytes used (feed the rest after ox_tpkt_next_event). |out| (borrowed)
 * receives the ER or DR sent on a peer error. Returns 0, OX_E_PEER or OX_E_LIMIT (an ERROR
 * event is queued and the state is ERROR), OX_E_STATE (ERROR/CLOSED, or an event is still
 * pending) or OX_E_NOMEM. */
int ox_tpkt_feed(ox_tpkt *t, ox_span in, size_t *consumed, ox_buf *out);
/* Moves the pending event into |ev|. Returns true if there was one. Views inside |ev| are
 * valid until the next feed. */
bool ox_tpkt_next_event(ox_tpkt *t, ox_tpkt_ev *ev);

/* The negotiated TPDU size (OPEN), else 0. */
uint32_t ox_tpkt_tpdu_size(const ox_tpkt *t);
const char *ox_tpkt_state_name(ox_tpkt_state s);

#endif
