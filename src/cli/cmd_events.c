/* cmd_events.c - x400mta events: read and filter the JSON-lines event log
 *
 * Why: the event log is the operator's first view of what went wrong; this command filters
 *      it by the things an operator asks about (an ID from a KB article, a category, a
 *      connector, a message, "the last ten minutes") and prints a table or the raw lines. */
#include "cli.h"

#include "openx400/config.h"
#include "openx400/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Copies the value of "key" from one of our own flat JSON lines into |dst| (strings
 * unescaped, numbers as text). Returns false when the key is absent. */
static bool json_field(const char *line, const char *key, char *dst, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p || cap == 0)
        return false;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < cap; p++) {
            if (*p == '\\' && p[1]) {
                p++;
                if (*p == 'n')
                    dst[n++] = ' ';
                else if (*p == 'u' && strlen(p) >= 5)
                    p += 4, dst[n++] = '?';
                else
                    dst[n++] = *p;
            } else {
                dst[n++] = *p;
            }
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < cap)
            dst[n++] = *p++;
    }
    dst[n] = '\0';
    return true;
}

/* "2026-11-23T20:00:00Z" or a duration back from now: "10m", "2h", "1d". */
static bool parse_since(const char *s, char *iso, size_t cap)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') && !end[1]) {
        long mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
        time_t t = time(NULL) - v * mul;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(iso, cap, "%Y-%m-%dT%H:%M:%S", &tm);
        return true;
    }
    if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') {
        snprintf(iso, cap, "%s", s);
        return true;
    }
    return false;
}

static void help(void)
{
    printf("usage: x400mta events [--config FILE | --log FILE] [--id N[,N...]]\n"
           "                      [--category NAME] [--connector NAME] [--msgid ID]\n"
           "                      [--since TIME|10m|2h|1d] [--json]\n"
           "       x400mta events --catalogue [--markdown]\n\n"
           "Shows the event log (the [mta] event-log file of the configuration), oldest first.\n"
           "  --id         only these event IDs (e.g. 9322,9318)\n"
           "  --category   only this category (x400-service, security, interface, ...)\n"
           "  --connector  only events about this connector\n"
           "  --msgid      only events about this MTS identifier\n"
           "  --since      only events at or after this UTC time, or this long ago\n"
           "  --json       print the matching lines as they are stored (JSON lines)\n"
           "  --catalogue  list every event the MTA can write, with meaning and action\n");
}

int cmd_events(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    const char *log = NULL, *category = NULL, *connector = NULL, *msgid = NULL;
    char ids[256] = "", since[40] = "";
    bool json = false, catalogue = false, markdown = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--catalogue") || !strcmp(a, "--catalog")) {
            catalogue = true;
        } else if (!strcmp(a, "--markdown")) {
            markdown = true;
        } else if (v && (!strcmp(a, "--config") || !strcmp(a, "-c"))) {
            i++;
        } else if (v && !strcmp(a, "--log")) {
            log = v, i++;
        } else if (v && !strcmp(a, "--id")) {
            snprintf(ids, sizeof(ids), ",%s,", v), i++;
        } else if (v && !strcmp(a, "--category")) {
            if (ox_log_category_parse(v) < 0) {
                fprintf(stderr, "x400mta events: unknown category '%s'; one of:", v);
                for (int c = 0; c < OX_CAT_COUNT; c++)
                    fprintf(stderr, " %s", ox_log_category_name((ox_log_category)c));
                fprintf(stderr, "\n");
                return 2;
            }
            category = v, i++;
        } else if (v && !strcmp(a, "--connector")) {
            connector = v, i++;
        } else if (v && !strcmp(a, "--msgid")) {
            msgid = v, i++;
        } else if (v && !strcmp(a, "--since")) {
            if (!parse_since(v, since, sizeof(since))) {
                fprintf(stderr,
                        "x400mta events: --since '%s' is neither YYYY-MM-DDThh:mm:ss nor "
                        "a duration like 10m, 2h, 1d\n",
                        v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "x400mta events: unknown option '%s'; see 'x400mta events --help'\n",
                    a);
            return 2;
        }
    }
    if (catalogue) {
        if (markdown) {
            ox_event_catalogue_markdown(stdout);
            return 0;
        }
        for (size_t i = 0; i < ox_event_catalogue_len; i++) {
            const ox_event_def *d = &ox_event_catalogue[i];
            printf("%5u  %-26s %-19s %-8s %s\n", (unsigned)d->id, d->name,
                   ox_log_category_name(d->category), ox_log_level_name(d->level), d->meaning);
        }
        return 0;
    }
    static char log_path[OX_CFG_PATH_MAX];
    if (!log) {
        const char *path = cli_config_path(argc, argv);
        ox_mta_cfg *cfg = malloc(sizeof(*cfg));
        ox_config_diag *diag = malloc(sizeof(*diag));
        if (!cfg || !diag || ox_config_load(cfg, path, diag) != 0) {
            fprintf(stderr, "%sx400mta events: cannot read the configuration %s (or use --log)\n",
                    diag ? diag->text : "", path);
            free(cfg);
            free(diag);
            return 2;
        }
        snprintf(log_path, sizeof(log_path), "%s", cfg->event_log_path);
        log = log_path;
        free(cfg);
        free(diag);
    }
    FILE *f = fopen(log, "r");
    if (!f) {
        fprintf(stderr, "x400mta events: cannot open %s: %m\n", log);
        return 2;
    }
    char line[4096];
    unsigned shown = 0;
    if (!json)
        printf("%-24s %5s %-19s %4s %-12s %s\n", "TIME", "ID", "CATEGORY", "LTAB", "CONNECTOR",
               "TEXT");
    while (fgets(line, sizeof(line), f)) {
        char v[1200];
        if (ids[0]) {
            char want[24] = ",";
            if (!json_field(line, "id", want + 1, sizeof(want) - 2))
                continue;
            strcat(want, ",");
            if (!strstr(ids, want))
                continue;
        }
        if (category && (!json_field(line, "category", v, sizeof(v)) || strcmp(v, category)))
            continue;
        if (connector && (!json_field(line, "connector", v, sizeof(v)) || strcmp(v, connector)))
            continue;
        if (msgid && (!json_field(line, "msgid", v, sizeof(v)) || strcmp(v, msgid)))
            continue;
        if (since[0] && (!json_field(line, "time", v, sizeof(v)) || strcmp(v, since) < 0))
            continue;
        shown++;
        if (json) {
            fputs(line, stdout);
            continue;
        }
        char t[40] = "", id[12] = "", cat[40] = "", ltab[12] = "-", conn[64] = "-", text[1200] = "";
        json_field(line, "time", t, sizeof(t));
        json_field(line, "id", id, sizeof(id));
        json_field(line, "category", cat, sizeof(cat));
        json_field(line, "ltab", ltab, sizeof(ltab));
        json_field(line, "connector", conn, sizeof(conn));
        json_field(line, "text", text, sizeof(text));
        printf("%-24s %5s %-19s %4s %-12s %s\n", t, id, cat, ltab, conn, text);
    }
    fclose(f);
    if (!json)
        fprintf(stderr, "%u event(s)\n", shown);
    return 0;
}
