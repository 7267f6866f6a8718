/* assoc.h - one MTA association: the X.228 RTSE protocol machine over the whole OSI stack
 *
 * Why: the MTA daemon drives one ox_assoc per TCP connection and speaks only in P1 terms:
 *      RT-OPEN carrying the MTA bind, RT-TRANSFER of one MTS-APDU (streamed, checkpointed,
 *      windowed), RT-TURN-PLEASE/GIVE, RT-CLOSE, RT-U-ABORT, and recovery of a transfer cut by
 *      a lost connection. Underneath: RFC 1006 (ox_tpkt), X.225 (ox_ses), X.226/X.227 (ox_pres,
 *      ox_acse) in normal mode or nothing in X.410-1984 mode, and the X.228 codecs (ox_rtse).
 * Shape: sans-I/O. Bytes in with ox_assoc_feed (stops after each transport event so event views
 *      stay valid: drain ox_assoc_next_event, then feed the rest), bytes out appended to the
 *      caller's ox_buf by every call (send them even when the call returned a peer error), time
 *      in as now_ms (ox_assoc_tick runs the timers). No sockets, clocks or globals.
 * Transfers: the sender announces the content length, then hands chunks; a confirmed minor
 *      sync every checkpoint-size octets; at most window checkpoints unconfirmed (then
 *      ox_assoc_transfer_data takes fewer octets than offered and OX_ASSOC_EV_WRITABLE says when
 *      to go on); activity end, and TRANSFER_CONF only once the peer sent the activity-end ack.
 *      The receiver gets TRANSFER_BEGIN_IND, TRANSFER_DATA_IND views, TRANSFER_END_IND and
 *      answers ox_assoc_transfer_confirm only after durable storage. Minor syncs are
 *      acknowledged by the machine itself: an MIA means "received", the AEA means "stored".
 * Recovery (X.228 9.6): after a lost connection both sides read ox_assoc_recovery(); a new
 *      object opens with ox_assoc_open_recover (RTORQ connectionDataRQ recover), and the sender
 *      resumes with ox_assoc_transfer_resume (S-ACTIVITY-RESUME at its last confirmed
 *      checkpoint; the caller re-reads its content from the returned byte offset). The
 *      receiver gets TRANSFER_RESUME_IND and answers ox_assoc_resume_rx with its own record.
 *      See docs/ASSOCIATION.md for every branch (timeout, unknown activity, refusal).
 * Errors: a peer fault in any layer aborts (AB, with ARU/ABRT/RTAB where the layer allows) and
 *      queues one ABORT_IND naming the layer, the rule and the stream offset; the object is
 *      then ABORTED and every request returns OX_E_STATE (sticky).
 * Standards: X.228 (1988) 7-9, X.225 (1995), X.226, X.227, X.410 (1984) 6, X.419 (1999) 11. */
#ifndef OPENX400_ASSOC_H
#define OPENX400_ASSOC_H

#include "openx400/rtse.h"
#include "openx400/ses.h"
#include "openx400/tpkt.h"

/* Modes: the X.226 mode-selector values. */
#define OX_ASSOC_NORMAL     OX_PRES_MODE_NORMAL    /* 1988: presentation + ACSE + RTSE */
#define OX_ASSOC_X410       OX_PRES_MODE_X410_1984 /* X.410-1984: RTSE straight on session */
#define OX_ASSOC_MAX_WINDOW 64u                    /* unconfirmed checkpoints we track */
#define OX_ASSOC_MAX_REF    32u                    /* session-connection reference octets */

typedef enum ox_assoc_role { OX_ASSOC_INITIATOR, OX_ASSOC_RESPONDER } ox_assoc_role;

typedef enum ox_assoc_state {
    OX_ASSOC_IDLE,           /* initiator before open */
    OX_ASSOC_AWAIT_CR,       /* responder: waiting for the transport connect */
    OX_ASSOC_AWAIT_CC,       /* initiator: CR sent */
    OX_ASSOC_AWAIT_CN,       /* responder: waiting for S-CONNECT */
    OX_ASSOC_AWAIT_AC,       /* initiator: CN (CP/PConnect) sent */
    OX_ASSOC_AWAIT_OPEN_RSP, /* responder: OPEN_IND delivered, accept or refuse */
    OX_ASSOC_OPEN,           /* associated */
    OX_ASSOC_AWAIT_DN,       /* FN sent */
    OX_ASSOC_CLOSED,         /* released or refused: close the connection */
    OX_ASSOC_ABORTED,        /* sticky */
} ox_assoc_state;

typedef enum ox_assoc_ev_kind {
    OX_ASSOC_EV_NONE,
    OX_ASSOC_EV_OPEN_IND,  /* responder: data = bind argument (empty for recover), mode,
                              checkpoint, window, dialogue, recover (+ refs) */
    OX_ASSOC_EV_OPEN_CONF, /* initiator: accepted (data = bind result) or refused (data = bind
                              error element, may be empty; reason = refuse reason; why) */
    OX_ASSOC_EV_TRANSFER_BEGIN_IND,  /* a transfer starts; activity_id */
    OX_ASSOC_EV_TRANSFER_DATA_IND,   /* data = content octets; offset = their position */
    OX_ASSOC_EV_TRANSFER_END_IND,    /* length = total: store it, then transfer_confirm */
    OX_ASSOC_EV_TRANSFER_RESUME_IND, /* receiver: the peer resumes activity_id at serial:
                                        answer ox_assoc_resume_rx before feeding more */
    OX_ASSOC_EV_TRANSFER_RESUMED,    /* receiver: resumed; offset = where content goes on */
    OX_ASSOC_EV_TRANSFER_CONF,       /* the peer confirmed (stored) our transfer */
    OX_ASSOC_EV_WRITABLE,            /* the window has room again */
    OX_ASSOC_EV_TURN_PLEASE_IND,     /* the peer asks for the turn (priority) */
    OX_ASSOC_EV_TURN_GIVE_IND,       /* we hold the turn now */
    OX_ASSOC_EV_RELEASE_IND,         /* the peer released (answered already): close */
    OX_ASSOC_EV_RELEASE_CONF,        /* our release completed: close */
    OX_ASSOC_EV_ABORT_IND,           /* aborted: local (we raised it) or by the peer */
} ox_assoc_ev_kind;

/* Which layer an abort or refusal came from (for the daemon's log). */
typedef enum ox_assoc_layer {
    OX_ASSOC_L_NONE,
    OX_ASSOC_L_TRANSPORT,    /* RFC 1006 / class 0, or the TCP connection */
    OX_ASSOC_L_SESSION,      /* X.225 */
    OX_ASSOC_L_PRESENTATION, /* X.226 */
    OX_ASSOC_L_ACSE,         /* X.227 */
    OX_ASSOC_L_RTSE,         /* X.228 */
    OX_ASSOC_L_TIMER,        /* a timer of this machine ran out */
    OX_ASSOC_L_USER,         /* the peer's RTSE user (RT-U-ABORT) */
} ox_assoc_layer;

typedef struct ox_assoc_ev {
    ox_assoc_ev_kind kind;
    ox_span data; /* views valid until the next feed */
    int64_t mode; /* OPEN_IND */
    bool accepted;
    bool recover;                    /* OPEN_IND/OPEN_CONF: a recovery association */
    ox_span calling_ref, common_ref; /* OPEN_IND recover: the interrupted connection */
    uint32_t checkpoint;             /* OPEN_IND/CONF: agreed checkpoint size in octets (0 none) */
    uint32_t window;                 /* OPEN_IND/CONF: agreed window */
    int64_t dialogue;                /* OPEN_IND */
    int64_t priority;                /* TURN_PLEASE_IND */
    uint64_t length;                 /* TRANSFER_BEGIN_IND (announced), TRANSFER_END_IND */
    uint64_t offset;                 /* DATA_IND / RESUMED: content offset */
    ox_span activity_id;             /* BEGIN_IND, RESUME_IND */
    uint32_t serial;                 /* RESUME_IND: checkpoint the sender resumes after */
    /* ABORT_IND and refused OPEN_CONF */
    bool local;           /* raised by this machine (peer fault, timer, lost transport) */
    ox_assoc_layer layer; /* where */
    int64_t reason;       /* RTAB abort reason, RTORJ refuse reason, or the layer's code; -1 */
    uint64_t at;          /* stream offset (octets received so far) where the fault was seen */
    char why[192];        /* in words: layer, rule, detail */
} ox_assoc_ev;

typedef struct ox_assoc_limits {
    /* Largest reassembled TSDU we accept. Default 128 KiB: our S-DATA is at most max_data
     * (<= 65000) plus a few octets of SPDU header; 128 KiB leaves room for peers that send
     * bigger DTs while bounding what a peer can make us hold. */
    size_t max_tsdu;
} ox_assoc_limits;
#define OX_ASSOC_DEFAULT_MAX_TSDU ((size_t)128 * 1024)

typedef struct ox_assoc_timers {
    uint32_t open_ms;     /* CC, AC or the responder's CN/answer; default 60 s (X.400 practice) */
    uint32_t progress_ms; /* MIA when the window is full, AEA after AE; default 300 s: storing
                             a large message may take a while */
    uint32_t release_ms;  /* DN after FN (the disconnect timer); default 30 s */
} ox_assoc_timers;
#define OX_ASSOC_DEFAULT_OPEN_MS     60000u
#define OX_ASSOC_DEFAULT_PROGRESS_MS 300000u
#define OX_ASSOC_DEFAULT_RELEASE_MS  30000u

typedef struct ox_assoc_cfg {
    ox_assoc_role role;
    int64_t mode; /* initiator: OX_ASSOC_NORMAL or OX_ASSOC_X410; the responder takes the peer's */
    /* Selectors (copied): transport, session, presentation (normal mode only). */
    ox_span local_tsel, remote_tsel, local_ssel, remote_ssel, local_psel, remote_psel;
    uint32_t checkpoint;    /* octets between checkpoints we propose/accept (rounded up to KB in
                               the RTORQ); 0 = no checkpointing */
    uint32_t window;        /* unconfirmed checkpoints we propose/accept; 0 = the X.228 default 3 */
    uint32_t max_data;      /* largest content piece in one S-DATA; 0 = 16 KiB, at most 65000 */
    uint32_t id_base;       /* activity identifiers are id_base+1, id_base+2, ... (6 digits): give
                               each association a different base so ids stay unique per peer */
    ox_span calling_ref;    /* initiator: our session-connection reference, up to
                               OX_ASSOC_MAX_REF octets (copied); empty = "ox" + id_base */
    ox_assoc_timers timers; /* 0 fields = defaults */
    ox_assoc_limits limits; /* 0 fields = defaults */
    const ox_alloc *alloc;  /* borrowed, may be NULL */
} ox_assoc_cfg;

/* What survives a lost connection, read with ox_assoc_recovery(). Plain data: copy it, store
 * it, hand it to a new object. */
typedef struct ox_assoc_rec {
    bool valid;     /* a transfer was in progress */
    bool sender;    /* we were sending it */
    bool initiator; /* we initiated the association (X.228: the initiator recovers) */
    int64_t mode;
    uint8_t activity_id[OX_SES_MAX_ACT_ID];
    size_t activity_id_len;
    uint64_t length;     /* the APDU's content length */
    uint32_t checkpoint; /* agreed checkpoint size, octets */
    uint32_t window;
    /* sender: last checkpoint the peer confirmed (0 = none: start of the activity) and the
     * content octets before it; receiver: the last checkpoint it acknowledged. */
    uint32_t serial;
    uint64_t offset;
    /* receiver: every checkpoint it acknowledged still inside the window, so it can go back to
     * the one the sender saw confirmed (an MIA may be lost with the connection) */
    uint32_t n_acked;
    struct {
        uint32_t serial;
        uint64_t offset;
    } acked[OX_ASSOC_MAX_WINDOW];
    uint8_t calling_ref[OX_ASSOC_MAX_REF]; /* the interrupted connection's references */
    size_t calling_ref_len;
    char common_ref[16]; /* UTCTime text YYMMDDhhmmssZ */
    uint64_t lost_ms;    /* now_ms when the connection was lost */
} ox_assoc_rec;

#define OX_ASSOC_EVQ 16

typedef struct ox_assoc {
    ox_assoc_cfg cfg;
    ox_assoc_state state;
    int64_t mode;
    ox_tpkt tpkt;
    ox_ses ses;
    uint8_t sel[2][OX_SES_MAX_SSEL]; /* our copies of the presentation selectors */
    uint8_t cref[OX_ASSOC_MAX_REF];
    int64_t ctx_acse, ctx_rtse, ctx_mtse;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS];
    size_t n_res;
    uint32_t checkpoint, window; /* agreed */
    bool recover;                /* this association recovers an earlier one */
    ox_assoc_rec rec;            /* what a lost connection leaves (see ox_assoc_rec) */
    ox_buf bind;                 /* initiator: bind argument until the CC */
    bool have_turn;
    uint32_t n_activity;
    uint64_t now_ms, deadline_ms; /* deadline 0: no timer running */
    uint64_t rx_total;            /* octets fed so far (diagnostic offsets) */
    /* sending */
    bool tx_active, tx_ending;
    uint64_t tx_total, tx_sent; /* content octets */
    ox_buf tx_hdr;              /* RTTR framing not yet sent */
    uint64_t tx_since_ckpt;     /* octets (framing included) since the last minor sync */
    uint32_t tx_unconfirmed;
    struct {
        uint32_t serial;
        uint64_t offset;
    } tx_ck[OX_ASSOC_MAX_WINDOW]; /* unconfirmed minor syncs, oldest first */
    bool tx_blocked;
    /* receiving */
    bool rx_active, rx_complete, rx_await_resume;
    uint64_t rx_got; /* content octets received */
    ox_rtse_rttr_rd rx;
    ox_buf ud;   /* user data being built */
    ox_buf tsdu; /* the session's output for the transport */
    ox_assoc_ev evq[OX_ASSOC_EVQ];
    size_t ev_head, ev_n;
} ox_assoc;

/* Initialises |a| (copies what it needs from |cfg|). The responder then waits for the CR.
 * Returns 0 or OX_E_ARG (selector or reference too long, window above OX_ASSOC_MAX_WINDOW,
 * max_data above 65000, bad mode). Always free with ox_assoc_free. */
int ox_assoc_init(ox_assoc *a, const ox_assoc_cfg *cfg);
void ox_assoc_free(ox_assoc *a);

/* Received octets (borrowed). *consumed says how many were used: feed stops after each
 * transport event; drain the events, then feed the rest. |out| receives replies (CC, MIA,
 * DN, the AB of a fault). Returns 0; OX_E_PEER / OX_E_LIMIT when the peer broke a protocol
 * (AB in |out|, ABORT_IND queued, state ABORTED); OX_E_STATE when a TRANSFER_RESUME_IND is
 * still unanswered (nothing consumed); OX_E_NOMEM. After CLOSED/ABORTED the input is
 * consumed and ignored. */
int ox_assoc_feed(ox_assoc *a, ox_span in, uint64_t now_ms, ox_buf *out, size_t *consumed);
/* Moves the oldest event to |ev|; false if none. Views valid until the next feed. */
bool ox_assoc_next_event(ox_assoc *a, ox_assoc_ev *ev);
/* Runs the timers: a deadline that passed aborts (AB in |out|, ABORT_IND with layer TIMER).
 * Sets *next_ms to the next deadline (0: none). Returns 0 or OX_E_STATE if it aborted now. */
int ox_assoc_tick(ox_assoc *a, uint64_t now_ms, ox_buf *out, uint64_t *next_ms);
/* The TCP connection is gone (EOF, reset): ABORT_IND (transport, local) unless finished;
 * the recovery record keeps what a transfer in progress needs. */
void ox_assoc_transport_lost(ox_assoc *a, uint64_t now_ms);
/* Copies the recovery record to |rec|; returns rec->valid. */
bool ox_assoc_recovery(const ox_assoc *a, ox_assoc_rec *rec);

/* Initiator: T-CONNECT now, S-CONNECT with the CP (or PConnect) carrying |bind_arg| (the
 * MTABindArgument element, copied) when the CC arrives. Returns 0, OX_E_STATE, OX_E_LIMIT
 * (CP above the 10240-octet session limit) or OX_E_NOMEM. */
int ox_assoc_open(ox_assoc *a, ox_span bind_arg, uint64_t now_ms, ox_buf *out);
/* Initiator: opens a recovery association for |rec| (copied; from the interrupted object,
 * initiator side). If we were the receiver, the turn goes to the responder (the sender) in
 * the session token setting. Returns as ox_assoc_open, or OX_E_ARG (rec not valid). */
int ox_assoc_open_recover(ox_assoc *a, const ox_assoc_rec *rec, uint64_t now_ms, ox_buf *out);
/* Responder after OPEN_IND: accepts with the MTABindResult element (empty for a recovery).
 * Returns 0, OX_E_STATE or an encoder error. */
int ox_assoc_accept(ox_assoc *a, ox_span bind_result, ox_buf *out);
/* Responder after OPEN_IND: refuses. Normal mode: AARE rejected-permanent with RTORJ carrying
 * the [18] MTABindError |bind_error| (may be empty); 1984 mode: PRefuse with |reason|
 * (OX_RTSE_RJ_*; use OX_RTSE_RJ_CANNOT_RECOVER for a recovery we cannot do). State CLOSED. */
int ox_assoc_refuse(ox_assoc *a, ox_span bind_error, int64_t reason, ox_buf *out);

/* RT-TRANSFER. begin: needs the turn and no transfer either way; starts an activity.
 * Returns 0, OX_E_STATE or an encoder error. */
int ox_assoc_transfer_begin(ox_assoc *a, uint64_t length, ox_buf *out);
/* Takes up to data.len content octets (borrowed, copied into |out|); *taken may be fewer when
 * the window is full (wait for WRITABLE). Returns 0, OX_E_STATE or OX_E_ARG (more than
 * announced). */
int ox_assoc_transfer_data(ox_assoc *a, ox_span data, ox_buf *out, size_t *taken);
/* After all announced octets: activity end; TRANSFER_CONF follows the peer's AEA. */
int ox_assoc_transfer_end(ox_assoc *a, ox_buf *out);
/* Receiver after TRANSFER_END_IND, once the APDU is durably stored: sends the AEA. */
int ox_assoc_transfer_confirm(ox_assoc *a, ox_buf *out);
/* Sender on a recovery association (holding the turn): S-ACTIVITY-RESUME of the record's
 * activity at its last confirmed checkpoint; *offset is the content octet to go on from
 * (re-read the content from there and call transfer_data/transfer_end as usual).
 * Returns 0, OX_E_STATE (not a recovery, no turn) or an encoder error. */
int ox_assoc_transfer_resume(ox_assoc *a, const ox_assoc_rec *rec, uint64_t *offset, ox_buf *out);
/* Receiver after TRANSFER_RESUME_IND: |rec| is the record it kept for that activity (NULL:
 * none, or the recovery timeout passed). A match queues TRANSFER_RESUMED with the offset to
 * truncate the partial content to; no match aborts with RTAB unrecognized-activity, which
 * tells the sender to restart the transfer from zero. Returns 0, OX_E_STATE, or OX_E_PEER
 * when it aborted. */
int ox_assoc_resume_rx(ox_assoc *a, const ox_assoc_rec *rec, ox_buf *out);

/* RT-TURN-PLEASE (not holding the turn) and RT-TURN-GIVE (holding it, no transfer). */
int ox_assoc_turn_please(ox_assoc *a, int64_t priority, ox_buf *out);
int ox_assoc_turn_give(ox_assoc *a, ox_buf *out);
/* RT-CLOSE: needs the turn and no transfer. RELEASE_CONF follows. */
int ox_assoc_release(ox_assoc *a, ox_buf *out);
/* RT-U-ABORT with an RTAB reason (OX_RTSE_AB_*). State ABORTED; no event for our own abort.
 * Returns 0, OX_E_STATE (closed/aborted) or an encoder error. */
int ox_assoc_abort(ox_assoc *a, int64_t reason, ox_buf *out);

/* Open, turn held, no transfer either way. */
bool ox_assoc_can_send(const ox_assoc *a);
const char *ox_assoc_state_name(ox_assoc_state s);
const char *ox_assoc_ev_name(ox_assoc_ev_kind k);
const char *ox_assoc_layer_name(ox_assoc_layer l);

#endif
