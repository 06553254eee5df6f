/*
 * fileio.c - safe output: the I/O wrapper layer (fileio.h), atomic output
 * files (sr_atomic_*) and atomic output folders (sr_outdir_*); the rules are
 * in include/sessrec.h, section 1b.
 *
 * Must never: open an existing name for writing (every file this code creates
 * is new: O_CREAT|O_EXCL|O_NOFOLLOW), replace something that is not a regular
 * file, leave a final name half-written, remove a file it did not create or
 * that a live writer still owns, print, or exit.
 */
#define _GNU_SOURCE
#include "util/fileio.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef SR_FAULT_INJECTION
#include <pthread.h>
#include <stdatomic.h>
#endif

/* ---- the wrapper layer --------------------------------------------------------- */

#ifdef SR_FAULT_INJECTION
static atomic_long fault_calls;
static long fault_at = -1;
static int fault_errno = EIO;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_report(void)
{
    const char *p = getenv("SR_FAULT_COUNT");
    if (!p || !*p)
        return;
    FILE *f = fopen(p, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)atomic_load(&fault_calls));
        fclose(f);
    }
}

static void fault_init(void)
{
    const char *at = getenv("SR_FAULT_AT"), *en = getenv("SR_FAULT_ERRNO");
    if (at && *at)
        fault_at = strtol(at, NULL, 10);
    if (en && *en)
        fault_errno = (int)strtol(en, NULL, 10);
    atexit(fault_report);
}

/* 1 when this call is the one to fail (errno set). */
static int fault_hit(void)
{
    pthread_once(&fault_once, fault_init);
    long k = atomic_fetch_add(&fault_calls, 1) + 1;
    if (k == fault_at) {
        errno = fault_errno;
        return 1;
    }
    return 0;
}
#define FAULT(ret)         \
    do {                   \
        if (fault_hit())   \
            return (ret);  \
    } while (0)
#else
#define FAULT(ret) ((void)0)
#endif

int sr_io_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    FAULT(-1);
    return openat(dirfd, path, flags, mode);
}

ssize_t sr_io_write(int fd, const void *p, size_t n)
{
    FAULT(-1);
    return write(fd, p, n);
}

int sr_io_fsync(int fd)
{
    FAULT(-1);
    return fsync(fd);
}

int sr_io_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                    unsigned flags)
{
    FAULT(-1);
    if (!flags)
        return renameat(olddirfd, oldpath, newdirfd, newpath);
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int sr_io_mkdirat(int dirfd, const char *path, mode_t mode)
{
    FAULT(-1);
    return mkdirat(dirfd, path, mode);
}

int sr_io_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    FAULT(-1);
    return linkat(olddirfd, oldpath, newdirfd, newpath, 0);
}

/* ---- small helpers ------------------------------------------------------------------ */

/* Writes all n bytes (short writes and EINTR retried). 0 or -1 with errno. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = sr_io_write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of a folder: some file systems answer EINVAL, which means "nothing to do". */
static int fsync_dir(int fd)
{
    if (sr_io_fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        return -1;
    return 0;
}

/* Random-enough suffix; O_EXCL makes correctness independent of it. */
static uint64_t rand64(void)
{
    static _Thread_local uint64_t ctr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 ((uint64_t)getpid() << 40) ^ (++ctr * 0x9e3779b97f4a7c15ULL) ^
                 (uint64_t)(uintptr_t)&ts;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return x;
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symlink"
         : "not a regular file";
}

/* Splits `path` (no trailing '/') into folder and last component. */
static int split_path(const char *path, char *dir, size_t dcap, char *base, size_t bcap)
{
    const char *sl = strrchr(path, '/');
    int n1, n2;
    if (!sl) {
        n1 = snprintf(dir, dcap, ".");
        n2 = snprintf(base, bcap, "%s", path);
    } else if (sl == path) {
        n1 = snprintf(dir, dcap, "/");
        n2 = snprintf(base, bcap, "%s", sl + 1);
    } else {
        n1 = snprintf(dir, dcap, "%.*s", (int)(sl - path), path);
        n2 = snprintf(base, bcap, "%s", sl + 1);
    }
    return n1 < 0 || (size_t)n1 >= dcap || n2 < 0 || (size_t)n2 >= bcap ? -1 : 0;
}

/* The prefix of temporaries of `base` of the given kind: ".BASE.sr-KIND-". Long
 * names are cut so that the temporary name stays within NAME_MAX. */
static void temp_prefix(char *out, size_t cap, const char *base, const char *kind)
{
    snprintf(out, cap, ".%.200s.sr-%s-", base, kind);
}

/* Whether the temporary `name` (".BASE.sr-tmp-PID-HEX") belongs to a process
 * that is gone, so removing it cannot hurt a live writer. */
static int owner_dead(const char *name, size_t prefix_len)
{
    char *end;
    long pid = strtol(name + prefix_len, &end, 10);
    if (end == name + prefix_len || *end != '-' || pid <= 0)
        return 1; /* not our pattern: nobody's, stale */
    if (pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Removes stale temporary FILES ".BASE.sr-tmp-*" in the folder dirfd: their
 * writer is dead and holds no lock on them. */
static void remove_stale_files(int dirfd, const char *base)
{
    char prefix[224];
    temp_prefix(prefix, sizeof prefix, base, "tmp");
    size_t pl = strlen(prefix);
    int fd = dup(dirfd);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, pl) != 0 || !owner_dead(e->d_name, pl))
            continue;
        int tf = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (tf < 0)
            continue;
        struct stat sb;
        if (fstat(tf, &sb) == 0 && S_ISREG(sb.st_mode) && flock(tf, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dirfd, e->d_name, 0);
        close(tf);
    }
    closedir(d);
}

/* Removes the folder `name` in dirfd and the files in it (one level: the temp
 * folders of this file only ever hold files). */
static void remove_tree1(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
        } else {
            struct dirent *e;
            while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    unlinkat(fd, e->d_name, 0);
            closedir(d);
        }
    }
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* ---- atomic output files ------------------------------------------------------------ */

/* fopencookie's write: 0 on error, never negative (glibc's buffer code
 * takes a negative count as a size and overruns: seen as a crash under
 * fault injection). errno stays set for the caller's message. */
static ssize_t ck_write(void *c, const char *p, size_t n)
{
    int fd = (int)(intptr_t)c;
    return write_all(fd, p, n) == 0 ? (ssize_t)n : 0;
}

static int ck_seek(void *c, off64_t *off, int whence)
{
    off_t r = lseek((int)(intptr_t)c, (off_t)*off, whence);
    if (r < 0)
        return -1;
    *off = r;
    return 0;
}

static int ck_close(void *c)
{
    (void)c; /* the fd is closed by commit/abort, after the rename */
    return 0;
}

/* Resolves the target: checks the length, follows a symlink, refuses what is
 * not a regular file. dir/base receive the folder and name of the real target. */
static sr_status resolve_target(const char *path, char *real, size_t rcap, char *dir,
                                char *base, sr_error *err)
{
    size_t len = strlen(path);
    if (!len)
        return sr_error_set(err, SR_ERR_ARG, "empty output file name");
    if (len >= PATH_MAX || len >= rcap)
        return sr_error_set(err, SR_ERR_ARG, "%.100s...: output path too long (%zu bytes, the "
                            "limit is %d)", path, len, PATH_MAX - 1);
    if (path[len - 1] == '/')
        return sr_error_set(err, SR_ERR_ARG, "%s: names a folder; give a file name", path);
    memcpy(real, path, len + 1);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (S_ISLNK(sb.st_mode)) {
            char tmp[PATH_MAX];
            if (!realpath(path, tmp))
                return sr_error_set(err, SR_ERR_IO, "%s: a symlink to nothing usable (%s); "
                                    "remove it or name another file", path, strerror(errno));
            if (stat(tmp, &sb) != 0 || !S_ISREG(sb.st_mode))
                return sr_error_set(err, SR_ERR_IO, "%s: a symlink to %s, which is %s; refusing "
                                    "to replace it (to write to standard output, use -)", path,
                                    tmp, kind_of(sb.st_mode));
            if (strlen(tmp) >= rcap)
                return sr_error_set(err, SR_ERR_ARG, "%s: output path too long", path);
            snprintf(real, rcap, "%s", tmp);
        } else if (!S_ISREG(sb.st_mode)) {
            return sr_error_set(err, SR_ERR_IO, "%s: exists and is %s; refusing to replace it "
                                "(to write to standard output, use -)", path, kind_of(sb.st_mode));
        }
    } else if (errno != ENOENT) {
        return sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (split_path(real, dir, PATH_MAX, base, NAME_MAX + 1) != 0 || !*base)
        return sr_error_set(err, SR_ERR_ARG, "%s: bad output file name", path);
    if (!strcmp(base, ".") || !strcmp(base, ".."))
        return sr_error_set(err, SR_ERR_ARG, "%s: names a folder; give a file name", path);
    return SR_OK;
}

sr_status sr_output_check(const char *path, sr_error *err)
{
    if (!strcmp(path, "-"))
        return SR_OK;
    char real[PATH_MAX], dir[PATH_MAX], base[NAME_MAX + 1];
    sr_status st = resolve_target(path, real, sizeof real, dir, base, err);
    if (st != SR_OK)
        return st;
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot use folder %s: %s", path, dir,
                            strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return sr_error_set(err, SR_ERR_IO, "%s: %s is not a folder", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot write in folder %s: %s", path, dir,
                            strerror(errno));
    return SR_OK;
}

int sr_same_file(const char *a, const char *b)
{
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

sr_status sr_atomic_open(sr_atomic *a, const char *path, sr_error *err)
{
    memset(a, 0, sizeof *a);
    a->fd_ = a->dirfd_ = -1;
    if (!path)
        return sr_error_set(err, SR_ERR_ARG, "no output file name");
    if (!strcmp(path, "-")) {
        a->f = stdout;
        a->to_stdout_ = 1;
        snprintf(a->path, sizeof a->path, "<stdout>");
        return SR_OK;
    }
    char dir[PATH_MAX], base[NAME_MAX + 1];
    sr_status st = resolve_target(path, a->path, sizeof a->path, dir, base, err);
    if (st != SR_OK)
        return st;
    a->dirfd_ = sr_io_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (a->dirfd_ < 0)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot open folder %s: %s", path, dir,
                            strerror(errno));
    remove_stale_files(a->dirfd_, base);
    char prefix[224], name[NAME_MAX + 1];
    temp_prefix(prefix, sizeof prefix, base, "tmp");
    for (int tries = 0; tries < 100 && a->fd_ < 0; tries++) {
        snprintf(name, sizeof name, "%s%ld-%08llx", prefix, (long)getpid(),
                 (unsigned long long)(rand64() & 0xffffffffu));
        a->fd_ = sr_io_openat(a->dirfd_, name,
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (a->fd_ < 0 && errno != EEXIST)
            break;
    }
    if (a->fd_ < 0) {
        int e = errno;
        close(a->dirfd_);
        a->dirfd_ = -1;
        return sr_error_set(err, SR_ERR_IO, "%s: cannot create a temporary file in %s: %s",
                            path, dir, strerror(e));
    }
    int tl = snprintf(a->tmp, sizeof a->tmp, "%s/%s", strcmp(dir, "/") ? dir : "", name);
    if (tl < 0 || (size_t)tl >= sizeof a->tmp) {
        a->tmp[0] = 0;
        unlinkat(a->dirfd_, name, 0);
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_ARG, "%s: output path too long", path);
    }
    flock(a->fd_, LOCK_EX | LOCK_NB); /* marks it live for remove_stale_files */
    cookie_io_functions_t io = {NULL, ck_write, ck_seek, ck_close};
    a->f = fopencookie((void *)(intptr_t)a->fd_, "w", io);
    if (!a->f) {
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
    }
    setvbuf(a->f, NULL, _IOFBF, 1 << 16);
    return SR_OK;
}

static const char *tmp_name(const sr_atomic *a)
{
    const char *s = strrchr(a->tmp, '/');
    return s ? s + 1 : a->tmp;
}

static const char *final_name(const sr_atomic *a)
{
    const char *s = strrchr(a->path, '/');
    return s ? s + 1 : a->path;
}

sr_status sr_atomic_commit(sr_atomic *a, sr_error *err)
{
    if (a->to_stdout_) {
        a->f = NULL;
        if (fflush(stdout) != 0 || ferror(stdout))
            return sr_error_set(err, SR_ERR_IO, "<stdout>: write failed: %s", strerror(errno));
        return SR_OK;
    }
    int bad = ferror(a->f) != 0, e = errno;
    if (fflush(a->f) != 0)
        bad = 1, e = errno;
    fclose(a->f); /* cookie close: nothing can fail here */
    a->f = NULL;
    if (!bad && sr_io_fsync(a->fd_) != 0)
        bad = 1, e = errno;
    if (bad) {
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", a->path, strerror(e ? e : EIO));
    }
    const char *tn = tmp_name(a), *fn = final_name(a);
    struct stat sb;
    int exists = fstatat(a->dirfd_, fn, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISREG(sb.st_mode)) { /* appeared since open */
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_IO, "%s: is now %s; refusing to replace it", a->path,
                            kind_of(sb.st_mode));
    }
    /* Swap (exchange) rather than replace, so that a failure of the folder
     * fsync that follows can put the old file back. */
    int swapped = 0, rc;
    if (exists) {
        rc = sr_io_renameat2(a->dirfd_, tn, a->dirfd_, fn, SR_RENAME_EXCHANGE);
        if (rc == 0)
            swapped = 1;
        else if (errno == EINVAL || errno == ENOSYS || errno == ENOENT)
            rc = sr_io_renameat2(a->dirfd_, tn, a->dirfd_, fn, 0);
    } else {
        rc = sr_io_renameat2(a->dirfd_, tn, a->dirfd_, fn, 0);
    }
    if (rc != 0) {
        e = errno;
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_IO, "%s: cannot rename into place: %s", a->path,
                            strerror(e));
    }
    if (fsync_dir(a->dirfd_) != 0) {
        e = errno;
        if (swapped)
            renameat2(a->dirfd_, tn, a->dirfd_, fn, RENAME_EXCHANGE); /* the old one back */
        else
            unlinkat(a->dirfd_, fn, 0);
        sr_atomic_abort(a);
        return sr_error_set(err, SR_ERR_IO, "%s: cannot sync its folder: %s", a->path,
                            strerror(e));
    }
    if (swapped)
        unlinkat(a->dirfd_, tn, 0); /* the old file */
    a->tmp[0] = 0;
    close(a->fd_);
    close(a->dirfd_);
    a->fd_ = a->dirfd_ = -1;
    return SR_OK;
}

void sr_atomic_abort(sr_atomic *a)
{
    if (a->to_stdout_) {
        a->f = NULL;
        return;
    }
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
    }
    if (a->tmp[0] && a->dirfd_ >= 0)
        unlinkat(a->dirfd_, tmp_name(a), 0);
    a->tmp[0] = 0;
    if (a->fd_ >= 0)
        close(a->fd_);
    if (a->dirfd_ >= 0)
        close(a->dirfd_);
    a->fd_ = a->dirfd_ = -1;
}

void sr_atomic_abort_signal(const sr_atomic *a)
{
    if (a && !a->to_stdout_ && a->tmp[0])
        unlink(a->tmp);
}

sr_status sr_write_file_atomic(const char *path, const void *data, size_t n, sr_error *err)
{
    sr_atomic a;
    sr_status st = sr_atomic_open(&a, path, err);
    if (st != SR_OK)
        return st;
    if (n && fwrite(data, 1, n, a.f) != n) {
        int e = errno;
        sr_atomic_abort(&a);
        return sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return sr_atomic_commit(&a, err);
}

/* ---- atomic output folders ------------------------------------------------------------ */

#define OD_MAX_NAMES 32
#define OD_NAME_MAX 64

struct sr_outdir {
    int parentfd, tmpfd;
    int existed;
    size_t created_from;            /* parents from this prefix length on were created by us */
    char final[PATH_MAX];           /* the folder */
    char parent[PATH_MAX];
    char base[NAME_MAX + 1];
    char tmpname[NAME_MAX + 1];     /* sibling temp folder, in parent */
    char names[OD_MAX_NAMES][OD_NAME_MAX];
    int n_names;
    char file[PATH_MAX];            /* sr_outdir_file's answer */
};

const char *sr_outdir_path(const sr_outdir *d) { return d->final; }

/* Is `name` one of ours, or a temporary of an earlier version ("NAME.part.N",
 * "NAME.tmp.N", "NAME.part.N.tmp.N") or of this one (".NAME.sr-tmp-...")? */
static int od_known(const sr_outdir *d, const char *name, int *is_final)
{
    *is_final = 0;
    for (int k = 0; k < d->n_names; k++) {
        const char *nm = d->names[k];
        size_t l = strlen(nm);
        if (!strcmp(name, nm)) {
            *is_final = 1;
            return 1;
        }
        if (name[0] == '.' && !strncmp(name + 1, nm, l) && !strncmp(name + 1 + l, ".sr-tmp-", 8))
            return 1;
        if (strncmp(name, nm, l) != 0)
            continue;
        const char *r = name + l;
        for (int part = 0; part < 2; part++) { /* up to two ".part.N" / ".tmp.N" groups */
            if (!strncmp(r, ".part.", 6))
                r += 6;
            else if (!strncmp(r, ".tmp.", 5))
                r += 5;
            else
                break;
            if (*r < '0' || *r > '9')
                break;
            while (*r >= '0' && *r <= '9')
                r++;
            if (!*r)
                return 1;
        }
    }
    return 0;
}

/* Checks an existing folder: only our files (regular) and temporaries. */
static sr_status od_check_existing(const sr_outdir *d, sr_error *err)
{
    int fd = openat(d->parentfd, d->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot open: %s", d->final, strerror(errno));
    DIR *dp = fdopendir(fd);
    if (!dp) {
        close(fd);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", d->final);
    }
    sr_status st = SR_OK;
    struct dirent *e;
    while (st == SR_OK && (e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char esc[128];
        sr_escape_text(esc, sizeof esc, e->d_name, strlen(e->d_name));
        int is_final;
        struct stat sb;
        if (!od_known(d, e->d_name, &is_final))
            st = sr_error_set(err, SR_ERR_IO, "%s holds '%s', which this command does not "
                              "write; the folder is replaced as a whole, so move that away or "
                              "choose another folder", d->final, esc);
        else if (fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(sb.st_mode))
            st = sr_error_set(err, SR_ERR_IO, "%s/%s: is %s, cannot replace it", d->final, esc,
                              kind_of(sb.st_mode));
    }
    closedir(dp);
    return st;
}

/* Removes what killed runs left next to the folder: ".BASE.sr-dir-*" (temp
 * folders) and ".BASE.sr-old-*". Called with the parent's lock held, so no
 * live run owns them. */
static void od_remove_stale(const sr_outdir *d)
{
    char p1[224], p2[224];
    temp_prefix(p1, sizeof p1, d->base, "dir");
    temp_prefix(p2, sizeof p2, d->base, "old");
    size_t l1 = strlen(p1), l2 = strlen(p2);
    int fd = dup(d->parentfd);
    if (fd < 0)
        return;
    DIR *dp = fdopendir(fd);
    if (!dp) {
        close(fd);
        return;
    }
    /* collect first: removing while reading a folder may skip entries */
    char (*names)[NAME_MAX + 1] = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (strncmp(e->d_name, p1, l1) && strncmp(e->d_name, p2, l2))
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 8;
            void *q = realloc(names, nc * sizeof *names);
            if (!q)
                break;
            names = q;
            cap = nc;
        }
        snprintf(names[n++], NAME_MAX + 1, "%s", e->d_name);
    }
    closedir(dp);
    for (size_t k = 0; k < n; k++)
        remove_tree1(d->parentfd, names[k]);
    free(names);
}

/* mkdir -p of d->parent, remembering where creation began. */
static sr_status od_make_parents(sr_outdir *d, sr_error *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", d->parent);
    size_t len = strlen(p);
    d->created_from = 0;
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        struct stat sb;
        if (stat(p, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                return sr_error_set(err, SR_ERR_IO, "%s: %s is not a folder", d->final, p);
        } else if (errno == ENOENT) {
            if (sr_io_mkdirat(AT_FDCWD, p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                p[i] = c;
                return sr_error_set(err, SR_ERR_IO, "%s: cannot create folder %s: %s", d->final,
                                    p, strerror(e));
            }
            if (!d->created_from)
                d->created_from = i;
        } else {
            return sr_error_set(err, SR_ERR_IO, "%s: %s: %s", d->final, p, strerror(errno));
        }
        p[i] = c;
    }
    return SR_OK;
}

/* rmdir of the parents we created, deepest first (async-signal-safe). */
static void od_remove_parents(const sr_outdir *d)
{
    if (!d->created_from)
        return;
    char p[PATH_MAX];
    size_t len = strlen(d->parent);
    memcpy(p, d->parent, len + 1);
    for (size_t i = len; i >= d->created_from; i--) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        p[i] = 0;
        if (rmdir(p) != 0 && errno != ENOENT)
            break;
        if (i == 0)
            break;
    }
}

sr_status sr_outdir_open(sr_outdir **out, const char *dir, const char *const *ours,
                         sr_error *err)
{
    *out = NULL;
    if (!dir || !*dir)
        return sr_error_set(err, SR_ERR_ARG, "empty output folder name");
    size_t len = strlen(dir), longest = 0;
    int n_names = 0;
    for (; ours && ours[n_names]; n_names++) {
        size_t l = strlen(ours[n_names]);
        if (n_names >= OD_MAX_NAMES || l >= OD_NAME_MAX || !l || strchr(ours[n_names], '/'))
            return sr_error_set(err, SR_ERR_ARG, "bad output file name list");
        longest = l > longest ? l : longest;
    }
    /* Every path this run will use must fit: check before creating anything. */
    if (len + 300 + longest + 40 >= PATH_MAX)
        return sr_error_set(err, SR_ERR_ARG, "%.100s...: output folder path too long (%zu bytes; "
                            "with its file names it must stay under %d)", dir, len, PATH_MAX);
    for (const char *c = dir; *c;) {
        const char *s = strchr(c, '/');
        size_t l = s ? (size_t)(s - c) : strlen(c);
        if (l + 40 > NAME_MAX)
            return sr_error_set(err, SR_ERR_ARG, "%.100s...: a folder name in the output path is "
                                "too long (%zu bytes, at most %d)", dir, l, NAME_MAX - 40);
        c = s ? s + 1 : c + l;
    }
    sr_outdir *d = calloc(1, sizeof *d);
    if (!d)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory");
    d->parentfd = d->tmpfd = -1;
    d->n_names = n_names;
    for (int k = 0; k < n_names; k++)
        snprintf(d->names[k], OD_NAME_MAX, "%s", ours[k]);
    snprintf(d->final, sizeof d->final, "%s", dir);
    for (size_t l = strlen(d->final); l > 1 && d->final[l - 1] == '/'; l--)
        d->final[l - 1] = 0;
    sr_status st = SR_OK;
    struct stat sb;
    if (lstat(d->final, &sb) == 0) {
        char real[PATH_MAX];
        if (!realpath(d->final, real)) {
            st = sr_error_set(err, SR_ERR_IO, "%s: %s", dir, strerror(errno));
            goto fail;
        }
        if (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = sr_error_set(err, SR_ERR_IO, "%s: exists and is not a folder", dir);
            goto fail;
        }
        snprintf(d->final, sizeof d->final, "%s", real);
    } else if (errno != ENOENT) {
        st = sr_error_set(err, SR_ERR_IO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (split_path(d->final, d->parent, sizeof d->parent, d->base, sizeof d->base) != 0 ||
        !*d->base || !strcmp(d->base, ".") || !strcmp(d->base, "..")) {
        st = sr_error_set(err, SR_ERR_ARG, "%s: cannot be used as an output folder", dir);
        goto fail;
    }
    if ((st = od_make_parents(d, err)) != SR_OK)
        goto fail;
    d->parentfd = sr_io_openat(AT_FDCWD, d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (d->parentfd < 0) {
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot open folder %s: %s", dir, d->parent,
                          strerror(errno));
        goto fail;
    }
    /* One writer at a time per parent folder: the lock dies with its process. */
    while (flock(d->parentfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            st = sr_error_set(err, SR_ERR_IO, "%s: cannot lock %s: %s", dir, d->parent,
                              strerror(errno));
            goto fail;
        }
    }
    if (fstatat(d->parentfd, d->base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            st = sr_error_set(err, SR_ERR_IO, "%s: exists and is %s", d->final, kind_of(sb.st_mode));
            goto fail;
        }
        d->existed = 1;
        if ((st = od_check_existing(d, err)) != SR_OK)
            goto fail;
    }
    od_remove_stale(d);
    char prefix[224];
    temp_prefix(prefix, sizeof prefix, d->base, "dir");
    int made = -1;
    for (int tries = 0; tries < 100 && made != 0; tries++) {
        snprintf(d->tmpname, sizeof d->tmpname, "%s%ld-%08llx", prefix, (long)getpid(),
                 (unsigned long long)(rand64() & 0xffffffffu));
        made = sr_io_mkdirat(d->parentfd, d->tmpname, 0777);
        if (made != 0 && errno != EEXIST)
            break;
    }
    if (made != 0) {
        d->tmpname[0] = 0;
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot create a temporary folder in %s: %s", dir,
                          d->parent, strerror(errno));
        goto fail;
    }
    d->tmpfd = openat(d->parentfd, d->tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->tmpfd < 0) {
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot open the temporary folder: %s", dir,
                          strerror(errno));
        goto fail;
    }
    if (d->existed) /* keep the folder's permissions */
        fchmod(d->tmpfd, sb.st_mode & 07777);
    *out = d;
    return SR_OK;
fail:
    sr_outdir_abort(d);
    return st;
}

const char *sr_outdir_file(sr_outdir *d, const char *name)
{
    for (int k = 0; k < d->n_names; k++)
        if (!strcmp(d->names[k], name)) {
            int l = snprintf(d->file, sizeof d->file, "%s/%s/%s",
                             strcmp(d->parent, "/") ? d->parent : "", d->tmpname, name);
            return l < 0 || (size_t)l >= sizeof d->file ? NULL : d->file;
        }
    return NULL;
}

sr_status sr_outdir_link(sr_outdir *d, const char *name, const char *same, sr_error *err)
{
    if (!sr_outdir_file(d, name) || !sr_outdir_file(d, same))
        return sr_error_set(err, SR_ERR_ARG, "%s: bad output file name", d->final);
    if (sr_io_linkat(d->tmpfd, same, d->tmpfd, name) != 0) {
        int e = errno;
        sr_error_set(err, SR_ERR_IO, "%s/%s: cannot link to %s: %s", d->final, name, same,
                     strerror(e));
        errno = e; /* callers tell "links impossible here" from real errors */
        return SR_ERR_IO;
    }
    return SR_OK;
}

sr_status sr_outdir_commit(sr_outdir *d, sr_error *err)
{
    sr_status st = SR_OK;
    if (fsync_dir(d->tmpfd) != 0) {
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot sync the new folder: %s", d->final,
                          strerror(errno));
        sr_outdir_abort(d);
        return st;
    }
    struct stat sb;
    int exists = fstatat(d->parentfd, d->base, &sb, AT_SYMLINK_NOFOLLOW) == 0, swapped = 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        st = sr_error_set(err, SR_ERR_IO, "%s: is now %s; refusing to replace it", d->final,
                          kind_of(sb.st_mode));
        sr_outdir_abort(d);
        return st;
    }
    int rc;
    if (exists) {
        rc = sr_io_renameat2(d->parentfd, d->tmpname, d->parentfd, d->base, SR_RENAME_EXCHANGE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* no exchange here: move the old folder aside, then the new one in */
            char old[NAME_MAX + 1], prefix[224];
            temp_prefix(prefix, sizeof prefix, d->base, "old");
            snprintf(old, sizeof old, "%s%ld-%08llx", prefix, (long)getpid(),
                     (unsigned long long)(rand64() & 0xffffffffu));
            rc = sr_io_renameat2(d->parentfd, d->base, d->parentfd, old, 0);
            if (rc == 0 && (rc = sr_io_renameat2(d->parentfd, d->tmpname, d->parentfd, d->base,
                                                 0)) != 0) {
                int e = errno;
                renameat(d->parentfd, old, d->parentfd, d->base);
                errno = e;
            }
            if (rc == 0)
                snprintf(d->tmpname, sizeof d->tmpname, "%s", old);
            swapped = rc == 0;
            exists = 0; /* no way back below: the old folder is removed */
        } else {
            swapped = rc == 0;
        }
    } else {
        rc = sr_io_renameat2(d->parentfd, d->tmpname, d->parentfd, d->base, SR_RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS))
            rc = sr_io_renameat2(d->parentfd, d->tmpname, d->parentfd, d->base, 0);
    }
    if (rc != 0) {
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot move the new folder into place: %s",
                          d->final, strerror(errno));
        sr_outdir_abort(d);
        return st;
    }
    if (fsync_dir(d->parentfd) != 0) {
        st = sr_error_set(err, SR_ERR_IO, "%s: cannot sync folder %s: %s", d->final, d->parent,
                          strerror(errno));
        /* put the old state back; the temp name then holds the new folder */
        if (exists)
            renameat2(d->parentfd, d->tmpname, d->parentfd, d->base, RENAME_EXCHANGE);
        else if (!swapped)
            renameat(d->parentfd, d->base, d->parentfd, d->tmpname);
        sr_outdir_abort(d);
        return st;
    }
    if (swapped || exists)
        remove_tree1(d->parentfd, d->tmpname); /* the old folder, under the temp name */
    d->tmpname[0] = 0;
    d->created_from = 0;
    sr_outdir_abort(d); /* closes (unlocks) and frees; nothing left to remove */
    return SR_OK;
}

void sr_outdir_abort(sr_outdir *d)
{
    if (!d)
        return;
    if (d->tmpname[0] && d->parentfd >= 0)
        remove_tree1(d->parentfd, d->tmpname);
    if (d->tmpfd >= 0)
        close(d->tmpfd);
    if (d->parentfd >= 0)
        close(d->parentfd);
    od_remove_parents(d);
    free(d);
}

/* linux_dirent64, as getdents64 returns it */
struct sr_dirent64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

void sr_outdir_abort_signal(sr_outdir *d)
{
    if (!d || !d->tmpname[0] || d->parentfd < 0)
        return;
#ifdef SYS_getdents64
    if (d->tmpfd >= 0) {
        char buf[4096];
        for (int round = 0; round < 64; round++) {
            lseek(d->tmpfd, 0, SEEK_SET);
            long n = syscall(SYS_getdents64, d->tmpfd, buf, sizeof buf);
            int removed = 0;
            for (long off = 0; n > 0 && off < n;) {
                struct sr_dirent64 *e = (struct sr_dirent64 *)(void *)(buf + off);
                if (strcmp(e->name, ".") && strcmp(e->name, ".."))
                    removed += unlinkat(d->tmpfd, e->name, 0) == 0;
                off += e->reclen;
            }
            if (n <= 0 || !removed)
                break;
        }
    }
#endif
    unlinkat(d->parentfd, d->tmpname, AT_REMOVEDIR);
    od_remove_parents(d);
}
