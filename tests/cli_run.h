/*
 * cli_run.h - runs the command-line program from a test: `$SR_BIN args` (default
 * build/sessrec) with optional stdin text, capturing stdout and stderr.
 * Include after test.h.
 */
#ifndef SR_CLI_RUN_H
#define SR_CLI_RUN_H

#include <sys/wait.h>

/* Runs `$SR_BIN args < stdin_text` (no stdin redirect when stdin_text is NULL:
 * then stdin is /dev/null). Returns the exit status (-1 if it did not exit
 * normally); *out and *err (caller frees) get stdout and stderr. */
static inline int cli_run(const char *args, const char *stdin_text, char **out, char **err)
{
    const char *bin = getenv("SR_BIN");
    if (!bin || !*bin)
        bin = "build/sessrec";
    char in[512], o[512], e[512], cmd[8192];
    snprintf(in, sizeof in, "%s/cli.in", test_tmpdir());
    snprintf(o, sizeof o, "%s/cli.out", test_tmpdir());
    snprintf(e, sizeof e, "%s/cli.err", test_tmpdir());
    FILE *f = fopen(in, "wb");
    if (f) {
        if (stdin_text)
            fputs(stdin_text, f);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "%s %s <%s >%s 2>%s", bin, args, stdin_text ? in : "/dev/null", o, e);
    int st = system(cmd);
    *out = test_read_text(o);
    *err = test_read_text(e);
    remove(in);
    remove(o);
    remove(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
