/* tool_assoc_peer.c - an MTA association over real TCP on loopback, driving ox_assoc
 *
 * Why: the integration tests (assoc_loopback.sh, assoc_recovery.sh) and the throughput figures
 *      need both ends of a real association: open with a P1 bind, N transfers of real P1
 *      MTS-APDUs each way with turn please/give, release; recovery after a cut connection.
 * Usage: tool_assoc_peer --listen PORT | --connect PORT [options]; --help lists them.
 * Content: message i of S octets is a P1 Message (ox_p1_message_encode_head, content type
 *      unidentified) followed by generated content octets; both ends compute every octet from
 *      (i, S), so the receiver checks each received octet where it lands, resumptions included.
 * Output: one line per step on stdout; the last line "RESULT ..." has the counts, the octets
 *      re-sent after recoveries and the throughput. Exit 0 only if everything checked out. */
#include "openx400/assoc.h"
#include "openx400/p1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct opts {
    bool listen;
    int port;
    int64_t mode;
    uint32_t checkpoint, window, max_data;
    int count;           /* messages this side sends */
    uint64_t size;       /* octets per message (the MTS-APDU) */
    uint64_t peer_size;  /* octets per message the peer sends (checks) */
    int peer_count;      /* messages expected from the peer */
    uint64_t recover_ms; /* recovery timeout */
    int max_seconds;
    bool segments; /* one S-DATA per send() (for captures) */
    bool plain;    /* plain TCP copy of count*size octets, for comparison */
    bool quiet;
} opts;

static opts O = {.mode = OX_ASSOC_NORMAL,
                 .checkpoint = 30 * 1024,
                 .window = 5,
                 .max_data = 60000,
                 .size = 10000,
                 .recover_ms = 10000,
                 .max_seconds = 120};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (O.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%s] ", O.listen ? "responder" : "initiator");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

/* ---- message content ---- */

typedef struct msg {
    ox_buf head;
    uint64_t total;
} msg;

static void put_len(ox_buf *b, uint64_t n)
{
    if (n < 128) {
        ox_buf_put_u8(b, (uint8_t)n);
        return;
    }
    int k = 0;
    for (uint64_t v = n; v; v >>= 8)
        k++;
    ox_buf_put_u8(b, (uint8_t)(0x80 | k));
    while (k--)
        ox_buf_put_u8(b, (uint8_t)(n >> (8 * k)));
}

static size_t len_len(uint64_t n)
{
    size_t k = 1;
    if (n >= 128)
        for (uint64_t v = n; v; v >>= 8)
            k++;
    return k;
}

/* The start of an X.420 IPM whose one ia5-text body part holds |text| octets (the generated
 * content follows): IPM { heading { this-IPM [APPLICATION 11] { PrintableString id } },
 * body { ia5-text [0] { parameters SET {}, data IA5String } } }. */
static void ipm_prefix(ox_buf *b, int index, uint64_t text)
{
    char id[32];
    size_t idn = (size_t)snprintf(id, sizeof(id), "assoc-peer-%d", index);
    uint64_t l3 = 2 + idn, l2 = 1 + len_len(l3) + l3;
    uint64_t l5 = 2 + 1 + len_len(text) + text, l4 = 1 + len_len(l5) + l5;
    uint64_t l1 = 1 + len_len(l2) + l2 + 1 + len_len(l4) + l4;
    ox_buf_put_u8(b, 0x30), put_len(b, l1);
    ox_buf_put_u8(b, 0x31), put_len(b, l2);
    ox_buf_put_u8(b, 0x6B), put_len(b, l3);
    ox_buf_put_u8(b, 0x13), put_len(b, idn), ox_buf_append(b, id, idn);
    ox_buf_put_u8(b, 0x30), put_len(b, l4);
    ox_buf_put_u8(b, 0xA0), put_len(b, l5);
    ox_buf_put_u8(b, 0x31), ox_buf_put_u8(b, 0x00);
    ox_buf_put_u8(b, 0x16), put_len(b, text);
}

static int msg_make(msg *m, int index, uint64_t total, int64_t mode)
{
    ox_buf_init(&m->head, NULL, NULL, 0);
    m->total = total;
    ox_p1_message pm;
    ox_p1_message_init(&pm, NULL);
    snprintf(pm.id.gdi.country, sizeof(pm.id.gdi.country), "GB");
    snprintf(pm.id.gdi.admd, sizeof(pm.id.gdi.admd), " ");
    snprintf(pm.id.gdi.prmd, sizeof(pm.id.gdi.prmd), "Site");
    snprintf(pm.id.local_id, sizeof(pm.id.local_id), "assoc-peer-%d", index);
    pm.content_type.builtin = OX_P1_CT_P22_1988;
    pm.orig_eits.present = true;
    pm.orig_eits.builtin = OX_P1_EIT_IA5_TEXT;
    int rc = ox_p1_orname_parse(&pm.originator, "C=GB;A= ;P=Site;O=Org;S=Sender");
    ox_p1_recipient r;
    memset(&r, 0, sizeof(r));
    r.orig_number = 1;
    r.explicit_conversion = -1;
    r.indicators = OX_P1_PRI_RESPONSIBILITY;
    if (rc == 0)
        rc = ox_p1_orname_parse(&r.name, "C=GB;A= ;P=Far;O=Dest;S=Receiver");
    if (rc == 0)
        rc = ox_p1_message_add_recipient(&pm, &r);
    ox_p1_trace t;
    memset(&t, 0, sizeof(t));
    t.gdi = pm.id.gdi;
    t.arrival = 1700000000;
    if (rc == 0)
        rc = ox_p1_message_add_trace(&pm, &t);
    ox_p1_version v = mode == OX_ASSOC_X410 ? OX_P1_1984 : OX_P1_1988;
    /* the head with a content length that makes the whole APDU |total| octets */
    uint64_t c = total > 300 ? total - 300 : 100; /* content octets: IPM prefix + text */
    size_t plen = 0;
    for (int k = 0; rc == 0 && k < 8; k++) {
        ox_buf ip;
        ox_buf_init(&ip, NULL, NULL, 0);
        ipm_prefix(&ip, index, c > 40 ? c - 40 : 0);
        uint64_t text = c - ip.len; /* settle the prefix for this text length */
        ox_buf_reset(&ip);
        ipm_prefix(&ip, index, text);
        plen = ip.len;
        ox_buf_reset(&m->head);
        rc = ox_p1_message_encode_head(&m->head, &pm, v, plen + text);
        ox_buf_append(&m->head, ip.p, ip.len);
        ox_buf_free(&ip);
        if (rc == 0 && m->head.len + text == total) {
            c = plen + text;
            break;
        }
        if (rc == 0 && total > m->head.len - plen + 80)
            c = total - (m->head.len - plen);
    }
    (void)plen;
    ox_p1_message_free(&pm);
    if (rc == 0)
        m->total = m->head.len + (c - plen);
    return rc;
}

static inline uint8_t content_octet(int index, uint64_t k)
{
    return (uint8_t)('a' + (k * 7 + (k >> 9) + (uint64_t)index) % 26); /* IA5 text */
}

static void msg_read(const msg *m, int index, uint64_t off, uint8_t *dst, size_t n)
{
    for (size_t j = 0; j < n; j++, off++)
        dst[j] = off < m->head.len ? m->head.p[off] : content_octet(index, off);
}

/* ---- sockets ---- */

static int set_nb(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int do_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
        perror("listen");
        exit(1);
    }
    return fd;
}

static int do_connect(int port)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        sleep_ms(50);
    }
    perror("connect");
    exit(1);
}

/* ---- one side's application state ---- */

typedef struct app {
    ox_assoc a;
    ox_buf out;
    int fd;
    bool done, failed, closed;
    /* sending */
    int sent;             /* messages confirmed */
    bool in_tx, tx_ended; /* a transfer in progress */
    msg m;
    uint64_t tx_off;
    bool resume_pending; /* recovery association: resume first */
    bool want_turn_back; /* we gave the turn and wait for it back */
    bool peer_wants;     /* the peer asked for the turn */
    bool asked;          /* we asked for the turn */
    /* receiving */
    int received;
    msg rm;
    bool rm_ok;
    uint64_t rx_bad;
    /* recovery */
    ox_assoc_rec rec;
    bool have_rec;
    bool norec;      /* the peer cannot recover: the next association starts afresh */
    uint64_t resent; /* octets sent again after resumptions */
    uint64_t sent_before_cut;
    int recoveries, restarts;
    /* figures */
    uint64_t octets, t0, t1;
} app;

static app A;

static void flush_out(void)
{
    size_t off = 0;
    while (off < A.out.len) {
        ssize_t n = send(A.fd, A.out.p + off, A.out.len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        A.closed = true; /* the connection is gone */
        off = A.out.len;
        break;
    }
    ox_buf_consume(&A.out, off);
}

static void new_assoc(bool initiator)
{
    ox_assoc_cfg cfg = {.role = initiator ? OX_ASSOC_INITIATOR : OX_ASSOC_RESPONDER,
                        .mode = O.mode,
                        .checkpoint = O.checkpoint,
                        .window = O.window,
                        .max_data = O.max_data,
                        .id_base = (uint32_t)(now_ms() % 100000) * 10};
    if (ox_assoc_init(&A.a, &cfg)) {
        fprintf(stderr, "ox_assoc_init failed\n");
        exit(2);
    }
    ox_buf_reset(&A.out);
    A.closed = false;
}

static void start_next_transfer(void)
{
    if (A.in_tx || A.sent >= O.count || !ox_assoc_can_send(&A.a))
        return;
    ox_buf_free(&A.m.head);
    if (msg_make(&A.m, A.sent, O.size, O.mode)) {
        fprintf(stderr, "cannot build message\n");
        exit(2);
    }
    if (ox_assoc_transfer_begin(&A.a, A.m.total, &A.out))
        return;
    if (A.sent == 0)
        A.t0 = now_ms();
    A.in_tx = true;
    A.tx_ended = false;
    A.tx_off = 0;
    say("transfer %d begins: %llu octets", A.sent, (unsigned long long)A.m.total);
}

/* Hands content to the machine while the window and our output buffer allow. */
static void push_content(void)
{
    static uint8_t chunk[65536];
    while (A.in_tx && !A.tx_ended && A.out.len < 256 * 1024) {
        if (A.tx_off == A.m.total) {
            if (ox_assoc_transfer_end(&A.a, &A.out) == 0)
                A.tx_ended = true;
            return;
        }
        /* one S-DATA per send(): on loopback one TCP segment each, which is how tshark 4.0
         * reassembles RTTR segments (several DTs in one segment defeat its session state) */
        size_t n = O.segments ? O.max_data : sizeof(chunk);
        if (n > A.m.total - A.tx_off)
            n = (size_t)(A.m.total - A.tx_off);
        msg_read(&A.m, A.sent, A.tx_off, chunk, n);
        size_t taken = 0;
        if (ox_assoc_transfer_data(&A.a, ox_span_of(chunk, n), &A.out, &taken))
            return;
        A.tx_off += taken;
        A.octets += taken;
        if (O.segments)
            flush_out();
        if (taken < n)
            return; /* window full: wait for WRITABLE */
    }
}

/* What to do next when nothing is in flight. */
static void next_step(void)
{
    if (A.a.state != OX_ASSOC_OPEN || A.in_tx)
        return;
    if (A.resume_pending && ox_assoc_can_send(&A.a)) {
        uint64_t off;
        A.resume_pending = false;
        ox_buf_free(&A.m.head);
        if (msg_make(&A.m, A.sent, O.size, O.mode))
            exit(2);
        if (ox_assoc_transfer_resume(&A.a, &A.rec, &off, &A.out) == 0) {
            A.in_tx = true;
            A.tx_ended = false;
            A.tx_off = off;
            A.resent += A.sent_before_cut - off;
            say("transfer %d resumed at octet %llu (%llu octets sent again)", A.sent,
                (unsigned long long)off, (unsigned long long)(A.sent_before_cut - off));
            A.have_rec = false;
            return;
        }
    }
    if (A.sent < O.count) {
        start_next_transfer();
        return;
    }
    if (!ox_assoc_can_send(&A.a) || A.want_turn_back)
        return;
    bool peer_left = A.received < O.peer_count;
    if (peer_left && (A.peer_wants || !A.a.cfg.role)) {
        /* the peer has messages: hand it the turn and wait for it back */
        if (ox_assoc_turn_give(&A.a, &A.out) == 0) {
            say("turn given");
            A.peer_wants = false;
            A.want_turn_back = A.a.cfg.role == OX_ASSOC_INITIATOR;
        }
        return;
    }
    if (A.a.cfg.role == OX_ASSOC_INITIATOR && !peer_left) {
        if (ox_assoc_release(&A.a, &A.out) == 0)
            say("release requested");
    } else if (A.a.cfg.role == OX_ASSOC_RESPONDER) {
        if (ox_assoc_turn_give(&A.a, &A.out) == 0)
            say("turn given back");
    }
}

static void on_event(const ox_assoc_ev *e)
{
    switch (e->kind) {
    case OX_ASSOC_EV_OPEN_IND: {
        say("open-ind mode %s checkpoint %u window %u%s",
            e->mode == OX_ASSOC_X410 ? "1984" : "1988", e->checkpoint, e->window,
            e->recover ? " recover" : "");
        if (e->recover) {
            bool ok = A.have_rec && now_ms() - A.rec.lost_ms <= O.recover_ms;
            if (!ok) {
                say("refusing recovery (%s)", A.have_rec ? "timeout passed" : "no record");
                A.have_rec = false;
                ox_assoc_refuse(&A.a, ox_span_of(NULL, 0), OX_RTSE_RJ_CANNOT_RECOVER, &A.out);
                return;
            }
            ox_assoc_accept(&A.a, ox_span_of(NULL, 0), &A.out);
            return;
        }
        ox_p1_bind b;
        ox_p1_diag d;
        ox_p1_version v = e->mode == OX_ASSOC_X410 ? OX_P1_1984 : OX_P1_1988;
        if (ox_p1_bind_decode(e->data, false, v, &b, &d) != 0) {
            say("bind argument does not decode: refused");
            uint8_t t[8];
            ox_buf eb;
            ox_buf_init(&eb, NULL, t, sizeof(t));
            ox_p1_bind_error_encode(&eb, OX_P1_BIND_AUTHENTICATION_ERROR);
            ox_assoc_refuse(&A.a, ox_buf_span(&eb), OX_RTSE_RJ_VALIDATION_FAILURE, &A.out);
            A.failed = true;
            return;
        }
        say("bind from MTA \"%s\"", b.mta_name);
        ox_p1_bind r = {.authenticated = true};
        snprintf(r.mta_name, sizeof(r.mta_name), "responder-mta");
        memcpy(r.password, "secret", 6);
        r.password_len = 6;
        ox_buf rb;
        ox_buf_init(&rb, NULL, NULL, 0);
        ox_p1_bind_encode(&rb, &r, true, v);
        ox_assoc_accept(&A.a, ox_buf_span(&rb), &A.out);
        ox_buf_free(&rb);
        if (O.count > 0 && ox_assoc_turn_please(&A.a, 1, &A.out) == 0) {
            A.asked = true;
            say("turn please (priority 1)");
        }
        return;
    }
    case OX_ASSOC_EV_OPEN_CONF:
        say("open-conf %s checkpoint %u window %u%s%s%s", e->accepted ? "accepted" : "refused",
            e->checkpoint, e->window, e->recover ? " (recovery)" : "", e->accepted ? "" : ": ",
            e->accepted ? "" : e->why);
        if (!e->accepted && e->recover) {
            A.have_rec = false; /* restart from zero on a fresh association */
            A.norec = true;
            A.restarts++;
            A.resent += A.sent_before_cut;
            A.closed = true;
        } else if (!e->accepted) {
            A.failed = true;
        }
        return;
    case OX_ASSOC_EV_TRANSFER_BEGIN_IND:
        A.rm_ok = false;
        A.have_rec = false; /* a fresh transfer: any partial content is dropped */
        say("transfer-begin-ind activity %.*s", (int)e->activity_id.len,
            (const char *)e->activity_id.p);
        if (A.received == 0)
            A.t0 = now_ms();
        return;
    case OX_ASSOC_EV_TRANSFER_DATA_IND: {
        if (!A.rm_ok) {
            ox_buf_free(&A.rm.head);
            msg_make(&A.rm, A.received, O.peer_size, O.mode);
            A.rm_ok = true;
        }
        uint8_t exp[4096];
        for (size_t j = 0; j < e->data.len; j += sizeof(exp)) {
            size_t n = e->data.len - j < sizeof(exp) ? e->data.len - j : sizeof(exp);
            msg_read(&A.rm, A.received, e->offset + j, exp, n);
            if (memcmp(exp, e->data.p + j, n))
                A.rx_bad++;
        }
        A.octets += e->data.len;
        return;
    }
    case OX_ASSOC_EV_TRANSFER_END_IND:
        if (!A.rm_ok || e->length != A.rm.total || A.rx_bad) {
            say("transfer %d INVALID: %llu octets, %llu bad chunks", A.received,
                (unsigned long long)e->length, (unsigned long long)A.rx_bad);
            A.failed = true;
        }
        /* "stored": confirm */
        ox_assoc_transfer_confirm(&A.a, &A.out);
        say("transfer-end-ind %d: %llu octets, content checked; confirmed", A.received,
            (unsigned long long)e->length);
        A.received++;
        A.have_rec = false;
        A.rm_ok = false;
        A.t1 = now_ms();
        return;
    case OX_ASSOC_EV_TRANSFER_RESUME_IND: {
        bool ok = A.have_rec && now_ms() - A.rec.lost_ms <= O.recover_ms;
        say("transfer-resume-ind activity %.*s after checkpoint %u: %s", (int)e->activity_id.len,
            (const char *)e->activity_id.p, e->serial, ok ? "resuming" : "unknown/expired");
        ox_assoc_resume_rx(&A.a, ok ? &A.rec : NULL, &A.out);
        return;
    }
    case OX_ASSOC_EV_TRANSFER_RESUMED:
        say("transfer resumed at octet %llu of %llu", (unsigned long long)e->offset,
            (unsigned long long)e->length);
        A.have_rec = false;
        return;
    case OX_ASSOC_EV_TRANSFER_CONF:
        say("transfer-conf %d", A.sent);
        A.sent++;
        A.in_tx = false;
        A.t1 = now_ms();
        ox_buf_free(&A.m.head);
        return;
    case OX_ASSOC_EV_WRITABLE: return;
    case OX_ASSOC_EV_TURN_PLEASE_IND:
        say("turn-please-ind priority %lld", (long long)e->priority);
        A.peer_wants = true;
        return;
    case OX_ASSOC_EV_TURN_GIVE_IND:
        say("turn-give-ind");
        A.want_turn_back = false;
        return;
    case OX_ASSOC_EV_RELEASE_IND:
    case OX_ASSOC_EV_RELEASE_CONF:
        say("%s", e->kind == OX_ASSOC_EV_RELEASE_IND ? "release-ind" : "release-conf");
        A.done = true;
        return;
    case OX_ASSOC_EV_ABORT_IND:
        say("abort-ind %s layer %s reason %lld at octet %llu: %s", e->local ? "local" : "peer",
            ox_assoc_layer_name(e->layer), (long long)e->reason, (unsigned long long)e->at, e->why);
        if (e->reason == OX_RTSE_AB_UNRECOGNIZED_ACTIVITY && !e->local) {
            A.restarts++; /* the receiver has no record: restart from zero */
            A.resent += A.sent_before_cut - A.rec.offset; /* counted once resumed */
            A.have_rec = false;
            A.norec = true;
        }
        A.closed = true;
        return;
    default: return;
    }
}

static void drain(void)
{
    ox_assoc_ev e;
    while (ox_assoc_next_event(&A.a, &e))
        on_event(&e);
}

/* Runs one TCP connection until it ends. Returns true when the association finished. */
static bool run_connection(void)
{
    static uint8_t in[65536];
    uint64_t deadline = now_ms() + (uint64_t)O.max_seconds * 1000;
    while (!A.closed && !A.done && now_ms() < deadline) {
        next_step();
        push_content();
        flush_out();
        uint64_t next = 0;
        ox_assoc_tick(&A.a, now_ms(), &A.out, &next);
        drain();
        struct pollfd p = {.fd = A.fd, .events = POLLIN | (A.out.len ? POLLOUT : 0)};
        int rc = poll(&p, 1, 200);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(A.fd, in, sizeof(in), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            A.closed = true;
            break;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used = 0;
            int frc =
                ox_assoc_feed(&A.a, ox_span_of(in + off, (size_t)n - off), now_ms(), &A.out, &used);
            drain();
            off += used;
            if (!used && frc)
                break;
        }
    }
    flush_out();
    if (A.closed && !A.done) {
        ox_assoc_transport_lost(&A.a, now_ms());
        drain();
        if (!A.norec)
            A.have_rec = ox_assoc_recovery(&A.a, &A.rec) || A.have_rec;
        if (A.have_rec && A.rec.sender) {
            A.sent_before_cut = A.tx_off;
            say("connection lost during transfer %d at octet %llu (last confirmed checkpoint %u "
                "= octet %llu)",
                A.sent, (unsigned long long)A.tx_off, A.rec.serial,
                (unsigned long long)A.rec.offset);
        } else if (A.have_rec) {
            say("connection lost while receiving (last acknowledged checkpoint %u = octet %llu)",
                A.rec.serial, (unsigned long long)A.rec.offset);
        } else {
            say("connection lost");
        }
        A.in_tx = false;
    }
    A.norec = false;
    close(A.fd);
    ox_assoc_free(&A.a);
    return A.done;
}

/* ---- plain TCP comparison ---- */

static int run_plain(int fd)
{
    static uint8_t buf[65536];
    uint64_t total = (uint64_t)O.count * O.size, moved = 0, t0 = now_ms();
    uint64_t expect = (uint64_t)O.peer_count * O.peer_size;
    if (O.listen) {
        while (moved < expect) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0)
                break;
            moved += (size_t)n;
        }
    } else {
        for (size_t j = 0; j < sizeof(buf); j++)
            buf[j] = content_octet(0, j);
        while (moved < total) {
            size_t n = total - moved < sizeof(buf) ? (size_t)(total - moved) : sizeof(buf);
            ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            moved += (size_t)w;
        }
        shutdown(fd, SHUT_WR);
        recv(fd, buf, 1, 0); /* wait until the receiver has read everything */
    }
    uint64_t ms = now_ms() - t0;
    printf("RESULT plain octets %llu ms %llu MB/s %.1f\n", (unsigned long long)moved,
           (unsigned long long)ms, ms ? (double)moved / 1e3 / (double)ms : 0.0);
    close(fd);
    return O.listen ? (moved == expect ? 0 : 1) : (moved == total ? 0 : 1);
}

static void usage(void)
{
    puts("tool_assoc_peer --listen PORT | --connect PORT [options]\n"
         "  --mode 1988|1984     association mode (initiator; the responder follows)\n"
         "  --checkpoint OCTETS  checkpoint size proposed/accepted (default 30720)\n"
         "  --window N           window proposed/accepted (default 5)\n"
         "  --max-data OCTETS    largest S-DATA (default 60000)\n"
         "  --count N --size S   messages this side sends and their size (default 0, 10000)\n"
         "  --peer-count N --peer-size S   messages expected from the peer, and their size\n"
         "  --recover-timeout MS recovery timeout (default 10000): within it a cut transfer is\n"
         "                       resumed from the last confirmed checkpoint, after it restarted\n"
         "  --segments           one S-DATA per send() (captures judged by tshark)\n"
         "  --plain              a plain TCP copy of count*size octets instead (figures)\n"
         "  --max-seconds S      stop after S seconds (default 120)\n"
         "  --quiet              only the RESULT line");
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(k, "--help")) {
            usage();
            return 0;
        } else if (!strcmp(k, "--listen") || !strcmp(k, "--connect")) {
            O.listen = k[2] == 'l';
            port = atoi(v), i++;
        } else if (!strcmp(k, "--mode")) {
            O.mode = !strcmp(v, "1984") ? OX_ASSOC_X410 : OX_ASSOC_NORMAL, i++;
        } else if (!strcmp(k, "--checkpoint")) {
            O.checkpoint = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (!strcmp(k, "--window")) {
            O.window = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (!strcmp(k, "--max-data")) {
            O.max_data = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (!strcmp(k, "--count")) {
            O.count = atoi(v), i++;
        } else if (!strcmp(k, "--size")) {
            O.size = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(k, "--peer-count")) {
            O.peer_count = atoi(v), i++;
        } else if (!strcmp(k, "--peer-size")) {
            O.peer_size = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(k, "--recover-timeout")) {
            O.recover_ms = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(k, "--max-seconds")) {
            O.max_seconds = atoi(v), i++;
        } else if (!strcmp(k, "--segments")) {
            O.segments = true;
        } else if (!strcmp(k, "--plain")) {
            O.plain = true;
        } else if (!strcmp(k, "--quiet")) {
            O.quiet = true;
        } else {
            usage();
            return 2;
        }
    }
    if (!port) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    ox_buf_init(&A.out, NULL, NULL, 0);
    int lfd = O.listen ? do_listen(port) : -1;
    if (O.plain) {
        int fd = O.listen ? accept(lfd, NULL, NULL) : do_connect(port);
        return run_plain(fd);
    }
    uint64_t end = now_ms() + (uint64_t)O.max_seconds * 1000;
    int connections = 0;
    while (!A.done && !A.failed && now_ms() < end && connections < 20) {
        connections++;
        if (O.listen) {
            struct pollfd p = {.fd = lfd, .events = POLLIN};
            if (poll(&p, 1, (int)(end - now_ms())) <= 0)
                break;
            A.fd = accept(lfd, NULL, NULL);
            set_nb(A.fd);
            new_assoc(false);
            say("connection %d accepted", connections);
        } else {
            A.fd = do_connect(port);
            set_nb(A.fd);
            new_assoc(true);
            say("connection %d", connections);
            bool recover = A.have_rec && now_ms() - A.rec.lost_ms <= O.recover_ms;
            if (A.have_rec && !recover) {
                say("recovery timeout passed: transfer %d restarts from zero", A.sent);
                A.have_rec = false;
                A.restarts++;
                A.resent += A.sent_before_cut;
            }
            if (recover) {
                A.recoveries++;
                A.resume_pending = A.rec.sender;
                ox_assoc_open_recover(&A.a, &A.rec, now_ms(), &A.out);
                say("open (recover activity %.*s)", (int)A.rec.activity_id_len,
                    (const char *)A.rec.activity_id);
            } else {
                A.resume_pending = false;
                ox_p1_bind b = {.authenticated = true};
                snprintf(b.mta_name, sizeof(b.mta_name), "initiator-mta");
                memcpy(b.password, "secret", 6);
                b.password_len = 6;
                ox_buf bb;
                ox_buf_init(&bb, NULL, NULL, 0);
                ox_p1_bind_encode(&bb, &b, false,
                                  O.mode == OX_ASSOC_X410 ? OX_P1_1984 : OX_P1_1988);
                ox_assoc_open(&A.a, ox_buf_span(&bb), now_ms(), &A.out);
                ox_buf_free(&bb);
                say("open (mode %s, checkpoint %u, window %u)",
                    O.mode == OX_ASSOC_X410 ? "1984" : "1988", O.checkpoint, O.window);
            }
        }
        if (run_connection())
            break;
        if (!O.listen)
            sleep_ms(200); /* the recovery delay */
    }
    if (lfd >= 0)
        close(lfd);
    bool ok = A.done && !A.failed && A.sent == O.count && A.received == O.peer_count;
    uint64_t ms = A.t1 > A.t0 ? A.t1 - A.t0 : 0;
    printf("RESULT %s sent %d received %d octets %llu ms %llu MB/s %.1f recoveries %d restarts %d "
           "resent %llu\n",
           ok ? "ok" : "FAILED", A.sent, A.received, (unsigned long long)A.octets,
           (unsigned long long)ms, ms ? (double)A.octets / 1e3 / (double)ms : 0.0, A.recoveries,
           A.restarts, (unsigned long long)A.resent);
    ox_buf_free(&A.out);
    return ok ? 0 : 1;
}
