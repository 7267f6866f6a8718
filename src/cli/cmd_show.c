/* cmd_show.c - x400mta show FILE: print a delivered message (envelope, IPM heading, body) */
#include "cli.h"

#include "openx400/ipm.h"
#include "openx400/mta.h"
#include "openx400/p1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_time(const char *label, ox_p1_time t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-13s %s\n", label, buf);
}

static void print_name(const char *label, const ox_p1_orname *n)
{
    char text[600];
    ox_p1_orname_print(n, false, text, sizeof(text));
    printf("%-13s %s\n", label, text);
}

static void show_message(const ox_p1_message *m)
{
    char id[300];
    ox_mta_id_text(&m->id, id, sizeof(id));
    static const char *const prio[] = {"normal", "non-urgent", "urgent"};
    printf("%-13s %s\n", m->is_probe ? "Probe" : "Message", id);
    print_name("From:", &m->originator);
    for (uint32_t i = 0; i < m->n_rcpt; i++)
        print_name(i ? "" : "To:", &m->rcpt[i].name);
    printf("%-13s %s\n",
           "Priority:", m->priority >= 0 && m->priority <= 2 ? prio[m->priority] : "?");
    for (uint32_t i = 0; i < m->trace.n; i++) {
        char what[80];
        snprintf(what, sizeof(what), "Trace %u:", i + 1);
        time_t tt = (time_t)m->trace.v[i].arrival;
        struct tm tm;
        char when[32];
        gmtime_r(&tt, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-13s C=%s;A=%s;P=%s %s%s\n", what, m->trace.v[i].gdi.country,
               m->trace.v[i].gdi.admd, m->trace.v[i].gdi.prmd, m->trace.v[i].mta[0] ? "MTA " : "",
               when);
    }
    if (m->is_probe)
        return;
    ox_ipm ipm;
    ox_p1_diag d;
    if (m->content_type.extended ||
        (m->content_type.builtin != OX_P1_CT_P22_1988 &&
         m->content_type.builtin != OX_P1_CT_P2_1984) ||
        ox_ipm_decode(m->content, NULL, NULL, &ipm, &d) != 0) {
        printf("%-13s %zu octets (not an interpersonal message this version can show)\n",
               "Content:", m->content.len);
        return;
    }
    printf("%-13s %s\n", "Subject:", ipm.has_subject ? ipm.subject : "");
    static const char *const imp[] = {"low", "normal", "high"};
    printf("%-13s %s\n",
           "Importance:", ipm.importance >= 0 && ipm.importance <= 2 ? imp[ipm.importance] : "?");
    printf("\n");
    for (uint32_t i = 0; i < ipm.n_body; i++) {
        if (ipm.body[i].kind == OX_IPM_BP_OTHER)
            printf("[body part %u: %zu octets of another type]\n", i + 1, ipm.body[i].whole.len);
        else
            fwrite(ipm.body[i].text.p, 1, ipm.body[i].text.len, stdout);
        printf("\n");
    }
    ox_ipm_free(&ipm);
}

static void show_report(const ox_p1_report *r)
{
    char id[300], subj[300];
    ox_mta_id_text(&r->id, id, sizeof(id));
    ox_mta_id_text(&r->subject_id, subj, sizeof(subj));
    printf("%-13s %s\n", "Report", id);
    printf("%-13s %s\n", "About:", subj);
    print_name("To:", &r->destination);
    for (uint32_t i = 0; i < r->n_rcpt; i++) {
        const ox_p1_report_recipient *rr = &r->rcpt[i];
        print_name(rr->delivered ? "Delivered:" : "Not deliv.:", &rr->actual);
        if (rr->delivered)
            print_time("  at", rr->delivery_time);
        else
            printf("%-13s reason %d, diagnostic %d%s%s\n", "", rr->reason, rr->diagnostic,
                   rr->supplementary[0] ? ": " : "", rr->supplementary);
    }
}

int cmd_show(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc != 2) {
        printf("usage: x400mta show FILE\n\n"
               "Prints a message file from the mailbox directory (a P1 MTS-APDU as delivered):\n"
               "its envelope (identifier, originator, recipients, trace), and for an\n"
               "interpersonal message its heading and text body; for a report, what it\n"
               "reports on each recipient.\n");
        return argc != 2 ? 2 : 0;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "x400mta show: cannot open %s: %m\n", argv[1]);
        return 2;
    }
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ox_buf_append(&b, chunk, n);
    fclose(f);
    ox_p1_apdu a;
    ox_p1_diag d;
    if (ox_p1_apdu_decode(ox_buf_span(&b), OX_P1_1988, NULL, NULL, &a, &d) != 0) {
        fprintf(stderr, "x400mta show: %s is not a P1 MTS-APDU (%s, %s at octet %zu)\n", argv[1],
                ox_p1_reason_name(d.reason), ox_ber_reason_name(d.ber.reason), d.ber.offset);
        ox_buf_free(&b);
        return 1;
    }
    if (a.kind == OX_P1_APDU_REPORT)
        show_report(&a.rep);
    else
        show_message(&a.msg);
    ox_p1_apdu_free(&a);
    ox_buf_free(&b);
    return 0;
}
