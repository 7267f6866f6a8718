/* cmd_demo.c - x400mta demo: two MTAs on loopback exchange mail, shown step by step
 *
 * Why: the README's first command, and an operator's first look with only the binary
 *      installed: two daemons (SITEA, SITEB) with the default embedded configuration on free
 *      127.0.0.1 ports, mail both ways with a delivery report, then what was delivered, the
 *      LTAB, the queue and the event log, and an orderly stop. Each step runs this same
 *      binary's own subcommands, so the demo shows exactly what an operator would type.
 *      The daemons die with the demo (PR_SET_PDEATHSIG), so Ctrl-C leaves nothing behind. */
#define _GNU_SOURCE
#include "cli.h"

#include "daemon/daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_DELIVERY_S 30

typedef struct site {
    const char *name, *prmd, *peer, *peer_prmd, *password, *peer_password;
    int port, peer_port;
    char ini[600], dir[560];
    pid_t pid;
} site;

static char self[4096];

/* A free 127.0.0.1 port below the kernel's ephemeral range: one from bind(0) is free now but
 * may become the source port of an outgoing connection (the demo's MTAs open several) before
 * its MTA binds it (scripts/free-port says the same for the tests). */
static int free_port(void)
{
    int low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &low) != 1)
            low = 32768;
        fclose(f);
    }
    int top = low - 1 > 2000 ? low - 1 : 2000, bottom = top - 12000 > 1024 ? top - 12000 : 1024;
    static unsigned seed;
    if (!seed)
        seed = ((unsigned)time(NULL) ^ (unsigned)getpid() << 8) | 1u;
    for (int tries = 0; tries < 500; tries++) {
        int port = bottom + (int)(rand_r(&seed) % (unsigned)(top - bottom + 1));
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return port;
    }
    return -1;
}

static void say(const char *what)
{
    printf("\n== %s\n", what);
    fflush(stdout);
}

/* Runs this binary with |args| (NULL-terminated), its output to ours (or to |capture|).
 * Returns its exit status, or -1. */
static int run_self(const char *const *args, char *capture, size_t cap)
{
    int pfd[2] = {-1, -1};
    if (capture && pipe(pfd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (capture) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
        }
        execv(self, (char *const *)args);
        _exit(127);
    }
    if (capture) {
        close(pfd[1]);
        size_t len = 0;
        ssize_t n;
        while ((n = read(pfd[0], capture + len, cap - 1 - len)) > 0 && len + 1 < cap)
            len += (size_t)n;
        capture[len] = '\0';
        close(pfd[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_config(site *s)
{
    FILE *f = fopen(s->ini, "w");
    if (!f)
        return -1;
    fprintf(f,
            "; the default embedded configuration of x400mta demo\n"
            "[mta]\nname = %s\npassword = %s\nlisten = 127.0.0.1:%d\n"
            "global-domain = /C=GB/A= /P=%s/\nlocal-address-space = /C=GB/A= /P=%s/\n"
            "queue = %s/queue.db\nmailbox = %s/mailbox\nevent-log = %s/events.jsonl\n"
            "control-socket = %s/control.sock\n"
            "[log]\nx400-service = medium\ninterface = medium\nsecurity = medium\n\n"
            "[connector to-%s]\nkind = lan\npeer-mta = %s\npeer-password = %s\n"
            "peer-address = 127.0.0.1:%d\naddress-space = /C=GB/A= /P=%s/\n",
            s->name, s->password, s->port, s->prmd, s->prmd, s->dir, s->dir, s->dir, s->dir,
            s->peer, s->peer, s->peer_password, s->peer_port, s->peer_prmd);
    return fclose(f);
}

static pid_t start_daemon(const site *s)
{
    char log[640];
    snprintf(log, sizeof(log), "%s/serve.log", s->dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* the daemons go when the demo goes */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execl(self, "x400mta", "serve", "--config", s->ini, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool answers(const site *s)
{
    char path[640], reply[256];
    snprintf(path, sizeof(path), "%s/control.sock", s->dir);
    return ox_control_request(path, "ping", reply, sizeof(reply)) == 0 && !strncmp(reply, "ok", 2);
}

/* Delivered files (*.p1) in a site's mailbox; |find| (may be NULL) gets the first whose
 * contents hold |needle| ("!text": the first that does not). */
static int count_files(const site *s, const char *needle, char *find, size_t cap)
{
    char mb[640];
    snprintf(mb, sizeof(mb), "%s/mailbox", s->dir);
    DIR *d = opendir(mb);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", mb, e->d_name);
        DIR *d2 = opendir(sub);
        if (!d2)
            continue;
        struct dirent *f;
        while ((f = readdir(d2))) {
            size_t len = strlen(f->d_name);
            if (len < 3 || strcmp(f->d_name + len - 3, ".p1"))
                continue;
            n++;
            if (needle && find && !find[0]) {
                char path[1400];
                snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
                static char buf[65536];
                FILE *fp = fopen(path, "rb");
                size_t got = fp ? fread(buf, 1, sizeof(buf), fp) : 0;
                if (fp)
                    fclose(fp);
                bool not = needle[0] == '!';
                const char *want = needle + not ;
                if ((memmem(buf, got, want, strlen(want)) != NULL) != not )
                    snprintf(find, cap, "%s", path);
            }
        }
        closedir(d2);
    }
    closedir(d);
    return n;
}

static void stop_all(site *sites, int n)
{
    for (int i = 0; i < n; i++) {
        if (sites[i].pid <= 0)
            continue;
        const char *args[] = {"x400mta", "stop", "--config", sites[i].ini, NULL};
        run_self(args, NULL, 0);
    }
    for (int i = 0; i < n; i++) {
        if (sites[i].pid <= 0)
            continue;
        int st;
        for (int t = 0; t < 100 && waitpid(sites[i].pid, &st, WNOHANG) == 0; t++)
            usleep(100000);
        if (waitpid(sites[i].pid, &st, WNOHANG) == 0) { /* last resort */
            kill(sites[i].pid, SIGKILL);
            waitpid(sites[i].pid, &st, 0);
        }
        sites[i].pid = 0;
    }
}

int cmd_demo(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta demo [--dir DIR] [--keep] [--messages N]\n\n"
               "Starts two MTAs, SITEA and SITEB, on free 127.0.0.1 ports with the default\n"
               "embedded configuration (printed into DIR), submits mail both ways (Alice at\n"
               "SITEA to Bob at SITEB with a delivery report, Bob to Alice, and N more from\n"
               "Alice, default 3), waits for delivery (at most %d s), shows a delivered message,\n"
               "the delivery report, the association table, the queue and the event log, and\n"
               "stops both. DIR defaults to a new /tmp/openx400-demo-XXXXXX, removed at the end\n"
               "unless --keep. Exit status 0 when everything was delivered.\n",
               WAIT_DELIVERY_S);
        return 0;
    }
    const char *dir_arg = NULL;
    bool keep = false;
    int extra = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir_arg = argv[++i];
        } else if (!strcmp(argv[i], "--messages") && i + 1 < argc) {
            extra = atoi(argv[++i]);
            if (extra < 0 || extra > 10000) {
                fprintf(stderr, "x400mta demo: --messages is 0..10000\n");
                return 2;
            }
        } else {
            fprintf(stderr, "x400mta demo: unknown option '%s'; see --help\n", argv[i]);
            return 2;
        }
    }
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0) {
        fprintf(stderr, "x400mta demo: cannot find this program (/proc/self/exe)\n");
        return 2;
    }
    self[sl] = '\0';
    char dir[512];
    if (dir_arg) {
        snprintf(dir, sizeof(dir), "%s", dir_arg);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "x400mta demo: cannot create %s: %s\n", dir, strerror(errno));
            return 2;
        }
    } else {
        snprintf(dir, sizeof(dir), "/tmp/openx400-demo-XXXXXX");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "x400mta demo: cannot create a directory in /tmp: %s\n",
                    strerror(errno));
            return 2;
        }
    }
    site sites[2] = {
        {.name = "SITEA",
         .prmd = "SiteA",
         .peer = "SITEB",
         .peer_prmd = "SiteB",
         .password = "secret-a",
         .peer_password = "secret-b"},
        {.name = "SITEB",
         .prmd = "SiteB",
         .peer = "SITEA",
         .peer_prmd = "SiteA",
         .password = "secret-b",
         .peer_password = "secret-a"},
    };
    sites[0].port = free_port();
    sites[1].port = free_port();
    while (sites[1].port == sites[0].port)
        sites[1].port = free_port();
    sites[0].peer_port = sites[1].port;
    sites[1].peer_port = sites[0].port;
    for (int i = 0; i < 2; i++) {
        snprintf(sites[i].dir, sizeof(sites[i].dir), "%s/%s", dir, sites[i].name);
        snprintf(sites[i].ini, sizeof(sites[i].ini), "%s/%s.ini", dir, sites[i].name);
        mkdir(sites[i].dir, 0755);
        if (sites[i].port < 0 || write_config(&sites[i]) != 0) {
            fprintf(stderr, "x400mta demo: cannot prepare %s in %s\n", sites[i].name, dir);
            return 2;
        }
    }
    printf("\n== openx400 %s: two MTAs in %s\n", OX_VERSION, dir);
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"x400mta", "check-config", "--config", sites[i].ini, NULL};
        if (run_self(args, NULL, 0) != 0)
            return 2;
    }
    int status = 0;
    for (int i = 0; i < 2; i++)
        sites[i].pid = start_daemon(&sites[i]);
    for (int i = 0; i < 2; i++) {
        int t = 0;
        while (!answers(&sites[i]) && t++ < 100)
            usleep(100000);
        if (!answers(&sites[i])) {
            fprintf(stderr, "x400mta demo: %s did not start; its log %s/serve.log says:\n",
                    sites[i].name, sites[i].dir);
            char log[640];
            snprintf(log, sizeof(log), "%s/serve.log", sites[i].dir);
            FILE *f = fopen(log, "r");
            char line[512];
            while (f && fgets(line, sizeof(line), f))
                fputs(line, stderr);
            if (f)
                fclose(f);
            stop_all(sites, 2);
            return 1;
        }
        const char *args[] = {"x400mta", "status", "--config", sites[i].ini, NULL};
        run_self(args, NULL, 0);
    }

    say("submitting: Alice at SITEA -> Bob at SITEB (with a delivery report), Bob -> Alice");
    const char *a1[] = {"x400mta",
                        "submit",
                        "--config",
                        sites[0].ini,
                        "--from",
                        "C=GB;A= ;P=SiteA;S=Alice",
                        "--to",
                        "C=GB;A= ;P=SiteB;S=Bob",
                        "--subject",
                        "Hello from SITEA",
                        "--dr",
                        "--body",
                        "Bob, this crossed two MTAs over the OSI stack.",
                        NULL};
    const char *a2[] = {"x400mta",   "submit",
                        "--config",  sites[1].ini,
                        "--from",    "C=GB;A= ;P=SiteB;S=Bob",
                        "--to",      "C=GB;A= ;P=SiteA;S=Alice",
                        "--subject", "Hello from SITEB",
                        "--body",    "Alice, and this came back the other way.",
                        NULL};
    if (run_self(a1, NULL, 0) != 0 || run_self(a2, NULL, 0) != 0)
        status = 1;
    for (int i = 0; i < extra; i++) {
        char subject[32], body[32], out[512];
        snprintf(subject, sizeof(subject), "batch %d", i + 1);
        snprintf(body, sizeof(body), "message %d", i + 1);
        const char *a3[] = {"x400mta",   "submit",
                            "--config",  sites[0].ini,
                            "--from",    "C=GB;A= ;P=SiteA;S=Alice",
                            "--to",      "C=GB;A= ;P=SiteB;S=Bob",
                            "--subject", subject,
                            "--body",    body,
                            NULL};
        if (run_self(a3, out, sizeof(out)) != 0)
            status = 1;
    }

    say("waiting for delivery");
    int want_b = 1 + extra, want_a = 2; /* Alice: Bob's message and the delivery report */
    int nb = 0, na = 0;
    time_t end = time(NULL) + WAIT_DELIVERY_S;
    while (time(NULL) < end) {
        nb = count_files(&sites[1], NULL, NULL, 0);
        na = count_files(&sites[0], NULL, NULL, 0);
        if (nb >= want_b && na >= want_a)
            break;
        putchar('.');
        fflush(stdout);
        usleep(200000);
    }
    printf("\nSITEB delivered %d message(s) to Bob; SITEA delivered %d to Alice (message + "
           "delivery report)\n",
           nb, na);
    if (nb < want_b || na < want_a)
        status = 1;

    char file[1400] = "";
    count_files(&sites[1], "Hello from SITEA", file, sizeof(file));
    if (file[0]) {
        say("a message as delivered at SITEB");
        const char *args[] = {"x400mta", "show", file, NULL};
        run_self(args, NULL, 0);
    }
    file[0] = '\0';
    count_files(&sites[0], "!Hello from SITEB", file, sizeof(file)); /* not Bob's message */
    if (file[0]) {
        say("the delivery report Alice received");
        const char *args[] = {"x400mta", "show", file, NULL};
        run_self(args, NULL, 0);
    }
    say("association table (LTAB) at SITEA");
    const char *lt[] = {"x400mta", "assoc", "--config", sites[0].ini, NULL};
    run_self(lt, NULL, 0);
    say("queue at SITEA");
    const char *qu[] = {"x400mta", "queue", "--config", sites[0].ini, NULL};
    run_self(qu, NULL, 0);
    say("event log at SITEB");
    const char *ev[] = {"x400mta", "events", "--config", sites[1].ini, NULL};
    run_self(ev, NULL, 0);

    say("stopping");
    stop_all(sites, 2);
    if (status == 0)
        printf("demo: ok%s%s%s\n", keep ? " (files kept in " : "", keep ? dir : "",
               keep ? ")" : "");
    else
        printf("demo: FAILED: not everything was delivered (logs kept in %s)\n", dir);
    if (status == 0 && !keep) {
        const char *rm[] = {"/bin/rm", "-rf", dir, NULL};
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execv(rm[0], (char *const *)rm);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
    }
    return status;
}
