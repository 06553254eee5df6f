/*
 * cmd_tune.c - 'sessrec tune TRAIN [options]': hyperparameter search with
 * Optuna. The C core does not need Python: this command only finds a python3
 * and the sessrec package (python/ of the source tree, or PREFIX/lib/sessrec/python
 * after make install) and execs `python3 -c BOOT` that runs sessrec.tune with the
 * arguments as given; everything else (options, help, the search) is in
 * python/sessrec/tune.py. A missing python3, numpy or Optuna is a clear error.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "tune"

#ifndef SR_PYTHON
#define SR_PYTHON "python3"
#endif

/* Runs sessrec.tune once the imports it needs are known to be there, so that a
 * missing package is one line naming the Debian package, not a traceback. */
static const char BOOT[] =
    "import sys\n"
    "try:\n"
    "    import numpy, optuna\n"
    "except ImportError as e:\n"
    "    sys.exit('sessrec tune: needs the Python packages numpy and optuna (%s); on Debian: '\n"
    "             'apt-get install python3-numpy python3-optuna' % e)\n"
    "import sessrec.tune\n"
    "sys.exit(sessrec.tune.main(sys.argv[1:]))\n";

/* out = dir/rel; 0 when it does not fit */
static int join(char *out, size_t cap, const char *dir, const char *rel)
{
    size_t a = strlen(dir), b = strlen(rel);
    if (a + 1 + b + 1 > cap)
        return 0;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, rel, b + 1);
    return 1;
}

static int is_file(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    return join(p, sizeof p, dir, rel) && access(p, R_OK) == 0;
}

int cmd_tune(int argc, char **argv)
{
    /* where this program lives: build/ of the source tree, or PREFIX/bin */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return cli_fail(CMD, "cannot find the program's own path: %s", strerror(errno));
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    const char *dir = exe;

    char pkg[PATH_MAX] = "";
    const char *cands[] = {"../python", "../lib/sessrec/python"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !pkg[0]; i++) {
        char c[PATH_MAX];
        if (join(c, sizeof c, dir, cands[i]) && is_file(c, "sessrec/tune.py"))
            memcpy(pkg, c, sizeof pkg);
    }
    if (!pkg[0])
        return cli_fail(CMD, "the sessrec Python package is not next to this program (looked in "
                             "%s/../python and %s/../lib/sessrec/python)", dir, dir);

    /* the package finds the library through SESSREC_LIB (unless the user set it) */
    if (!getenv("SESSREC_LIB")) {
        char lib[PATH_MAX];
        if ((join(lib, sizeof lib, dir, "libsessrec.so") && access(lib, R_OK) == 0) ||
            (join(lib, sizeof lib, dir, "../lib/libsessrec.so.0") && access(lib, R_OK) == 0))
            setenv("SESSREC_LIB", lib, 1);
    }
    const char *old = getenv("PYTHONPATH");
    size_t len = strlen(pkg) + (old ? strlen(old) : 0) + 2;
    char *pp = malloc(len);
    if (!pp)
        return cli_fail(CMD, "out of memory");
    snprintf(pp, len, "%s%s%s", pkg, old && *old ? ":" : "", old && *old ? old : "");
    setenv("PYTHONPATH", pp, 1);
    free(pp);

    const char *py = getenv("SESSREC_PYTHON");
    if (!py || !*py)
        py = SR_PYTHON;
    char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av)
        return cli_fail(CMD, "out of memory");
    av[0] = (char *)py;
    av[1] = "-c";
    av[2] = (char *)BOOT;             /* its sys.argv: ["-c", the arguments...] */
    for (int i = 1; i < argc; i++)
        av[2 + i] = argv[i];
    fflush(stdout);
    execvp(py, av);
    int e = errno;
    free(av);
    return cli_fail(CMD, "cannot run the Python interpreter '%s': %s. sessrec tune needs Python 3 "
                         "with numpy and Optuna (Debian: apt-get install python3 python3-numpy "
                         "python3-optuna); SESSREC_PYTHON names another interpreter",
                    py, strerror(e));
}
