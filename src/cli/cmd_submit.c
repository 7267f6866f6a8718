/* cmd_submit.c - x400mta submit: build an IPM and hand it to the running MTA */
#include "cli.h"

#include "daemon/daemon.h"
#include "openx400/mta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_RCPTS 256
#define BODY_MAX  ((size_t)16 << 20)

static void help(void)
{
    printf("usage: x400mta submit [--config FILE] --from ADDR --to ADDR [--to ADDR ...]\n"
           "                      [--cc ADDR ...] [--subject TEXT] [--priority P]\n"
           "                      [--importance I] [--dr] [--body TEXT | --body-file FILE]\n\n"
           "Builds an X.420 interpersonal message and submits it to the running MTA, which\n"
           "queues it durably before it answers; prints the message identifier.\n"
           "  ADDR          an O/R address: \"C=GB;A= ;P=Site;O=Org;S=Smith;G=John\" or\n"
           "                \"/C=GB/A= /P=Site/O=Org/S=Smith/G=John/\"\n"
           "  --priority    urgent, normal (default) or non-urgent\n"
           "  --importance  low, normal (default) or high\n"
           "  --dr          ask for delivery reports (non-delivery reports always come)\n"
           "  --body        the text; without --body or --body-file it is read from stdin\n"
           "Exit status: 0 queued, 1 refused (the reason is printed), 2 usage or no MTA.\n");
}

static int read_all(FILE *f, ox_buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ox_buf_append(out, chunk, n) != 0)
            return -1;
    return ferror(f) ? -1 : 0;
}

/* Sends "submit N\n" + the APDU and reads the one-line answer. */
static int send_submission(const char *path, ox_span apdu, char *reply, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char head[64];
    int hn = snprintf(head, sizeof(head), "submit %zu\n", apdu.len);
    const uint8_t *p = apdu.p;
    size_t left = apdu.len;
    if (write(fd, head, (size_t)hn) != hn) {
        close(fd);
        return -1;
    }
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fd, reply + len, cap - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        len += (size_t)r;
    }
    reply[len] = '\0';
    close(fd);
    return len ? 0 : -1;
}

int cmd_submit(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    const char *to[MAX_RCPTS], *cc[MAX_RCPTS];
    ox_mta_submission s = {.to = to, .cc = cc, .priority = OX_P1_PRIO_NORMAL, .importance = 1};
    const char *body = NULL, *body_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--dr") != 0;
        if (takes && !v) {
            fprintf(stderr, "x400mta submit: %s needs a value; see --help\n", a);
            return 2;
        }
        if (!strcmp(a, "--dr")) {
            s.delivery_report = true;
            continue;
        }
        i++;
        if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
            continue;
        } else if (!strcmp(a, "--from")) {
            s.originator = v;
        } else if (!strcmp(a, "--to") || !strcmp(a, "--cc")) {
            bool is_to = a[2] == 't';
            size_t *n = is_to ? &s.n_to : &s.n_cc;
            if (*n >= MAX_RCPTS) {
                fprintf(stderr, "x400mta submit: more than %d %s recipients\n", MAX_RCPTS, a + 2);
                return 2;
            }
            (is_to ? to : cc)[(*n)++] = v;
        } else if (!strcmp(a, "--subject")) {
            s.subject = v;
        } else if (!strcmp(a, "--body")) {
            body = v;
        } else if (!strcmp(a, "--body-file")) {
            body_file = v;
        } else if (!strcmp(a, "--priority")) {
            if (!strcmp(v, "urgent"))
                s.priority = OX_P1_PRIO_URGENT;
            else if (!strcmp(v, "normal"))
                s.priority = OX_P1_PRIO_NORMAL;
            else if (!strcmp(v, "non-urgent"))
                s.priority = OX_P1_PRIO_NON_URGENT;
            else {
                fprintf(stderr, "x400mta submit: --priority is urgent, normal or non-urgent\n");
                return 2;
            }
        } else if (!strcmp(a, "--importance")) {
            if (!strcmp(v, "low"))
                s.importance = 0;
            else if (!strcmp(v, "normal"))
                s.importance = 1;
            else if (!strcmp(v, "high"))
                s.importance = 2;
            else {
                fprintf(stderr, "x400mta submit: --importance is low, normal or high\n");
                return 2;
            }
        } else {
            fprintf(stderr, "x400mta submit: unknown option '%s'; see --help\n", a);
            return 2;
        }
    }
    if (!s.originator || s.n_to + s.n_cc == 0) {
        fprintf(stderr, "x400mta submit: --from and at least one --to are required; see --help\n");
        return 2;
    }
    ox_buf text;
    ox_buf_init(&text, NULL, NULL, 0);
    text.max = BODY_MAX;
    if (body) {
        ox_buf_append(&text, body, strlen(body));
    } else {
        FILE *f = body_file ? fopen(body_file, "rb") : stdin;
        if (!f || read_all(f, &text) != 0) {
            fprintf(stderr, "x400mta submit: cannot read the body from %s: %s\n",
                    body_file ? body_file : "stdin",
                    text.err == OX_E_LIMIT ? "larger than 16 MB" : strerror(errno));
            return 2;
        }
        if (body_file)
            fclose(f);
    }
    s.body = ox_buf_span(&text);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    ox_buf apdu;
    ox_buf_init(&apdu, NULL, NULL, 0);
    char err[512];
    if (ox_mta_build_submission(&s, now, &apdu, err, sizeof(err)) != 0) {
        fprintf(stderr, "x400mta submit: %s\n", err);
        return 2;
    }
    const char *path = cli_config_path(argc, argv);
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (!cfg || !diag || (ox_config_load(cfg, path, diag) != 0 && !cfg->control_path[0])) {
        fprintf(stderr, "%sx400mta submit: cannot use the configuration %s\n",
                diag ? diag->text : "", path);
        return 2;
    }
    char reply[1024];
    int rc = send_submission(cfg->control_path, ox_buf_span(&apdu), reply, sizeof(reply));
    if (rc) {
        fprintf(stderr,
                "x400mta submit: no MTA answers on %s (is 'x400mta serve --config %s' "
                "running?)\n",
                cfg->control_path, path);
        rc = 2;
    } else if (!strncmp(reply, "ok ", 3)) {
        fputs(reply + 3, stdout);
    } else {
        fprintf(stderr, "x400mta submit: %s", reply);
        rc = 1;
    }
    free(cfg);
    free(diag);
    ox_buf_free(&apdu);
    ox_buf_free(&text);
    return rc;
}
