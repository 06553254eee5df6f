/*
 * file.c - the generic model file container (docs/model-format.md):
 * magic, version, algorithm name, item id table, the algorithm's own payload
 * (its sr_model_vt serialize/deserialize) and a CRC-32 of everything before
 * it. Saving is atomic (temp file + rename). Loading checks every size and the
 * checksum before it trusts a byte, and must never crash on a hostile file
 * (fuzz/fuzz_model_load.c). Never prints. The algorithm a file names is
 * looked up in a table the caller gives (registry/checkpoint.c: the library's).
 */
#include "model/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Fixed part of the header before the algorithm name: magic, version, name length. */
#define HEAD_FIXED 16u
#define MAX_ITEMS 0x7fffffffu

static int algo_name_ok(const char *s, size_t n)
{
    if (n < 1 || n > SR_MODEL_MAX_ALGO)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

sr_status sr_model_to_bytes(const sr_model *m, sr_buf *out, sr_error *err)
{
    if (!m || !m->vt || !m->vt->algo)
        return sr_error_set(err, SR_ERR_ARG, "cannot save a model without an algorithm");
    const char *algo = m->vt->algo;
    size_t alen = strlen(algo);
    if (!algo_name_ok(algo, alen))
        return sr_error_set(err, SR_ERR_ARG, "cannot save a model: bad algorithm name '%s'", algo);
    if (!m->vt->serialize)
        return sr_error_set(err, SR_ERR_ARG, "models of algorithm '%s' cannot be saved", algo);
    if (m->n_items < 1 || (uint64_t)m->n_items > MAX_ITEMS)
        return sr_error_set(err, SR_ERR_ARG, "cannot save a model of %lld items",
                            (long long)m->n_items);
    size_t start = out->len;
    int text = m->text.t.n > 0;
    sr_buf_append(out, SR_MODEL_MAGIC, 8);
    sr_buf_u32(out, text ? SR_MODEL_VERSION : 1u); /* integer ids: files as before */
    sr_buf_u32(out, (uint32_t)alen);
    sr_buf_append(out, algo, alen);
    sr_buf_u64(out, (uint64_t)m->n_items);
    sr_buf_reserve(out, (size_t)m->n_items * 8);
    for (int64_t i = 0; i < m->n_items; i++)
        sr_buf_u64(out, (uint64_t)m->item_ids[i]);
    if (text) {
        uint64_t tl = (uint64_t)m->text.t.off[m->n_items];
        sr_buf_u64(out, tl);
        sr_buf_append(out, m->text.t.text, (size_t)tl);
    }
    size_t len_at = out->len;
    sr_buf_u64(out, 0); /* payload length, patched below */
    size_t payload_at = out->len;
    sr_status st = m->vt->serialize(m, out);
    if (st != SR_OK || out->oom) {
        out->len = start;
        if (st == SR_OK || st == SR_ERR_NOMEM || out->oom)
            return sr_error_set(err, SR_ERR_NOMEM, "out of memory while writing the %s model", algo);
        return sr_error_set(err, st, "cannot serialize the %s model (%s)", algo, sr_status_name(st));
    }
    uint64_t plen = out->len - payload_at;
    for (int i = 0; i < 8; i++)
        out->data[len_at + (size_t)i] = (uint8_t)(plen >> (8 * i));
    sr_buf_u32(out, sr_crc32(0, out->data + start, out->len - start));
    if (out->oom) {
        out->len = start;
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory while writing the %s model", algo);
    }
    return SR_OK;
}

sr_status sr_model_save(const sr_model *m, const char *path, sr_error *err)
{
    sr_buf b = {0};
    sr_status st = sr_model_to_bytes(m, &b, err);
    if (st != SR_OK && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        sr_error_set(err, st, "%s: %s", path, msg);
    }
    if (st == SR_OK) {
        /* Nothing is written that the loader would refuse: the bytes go
         * through the loader's own checks first (a model with repeated item
         * ids, for one, must not replace a good file). The check loads with
         * the model's own vtable, so a model of an algorithm from a table of
         * the caller's (a test's) is checked the same way. */
        sr_model *back = NULL;
        sr_error e2 = {0};
        sr_status vs = sr_model_load_mem_vt(m->vt, b.data, b.len, path, &back, &e2);
        sr_model_free(back);
        if (vs == SR_ERR_NOMEM)
            st = sr_error_set(err, vs, "%s", e2.msg);
        else if (vs != SR_OK)
            st = sr_error_set(err, SR_ERR_ARG, "%s: not written: the model would not load back "
                              "(%s)", path, e2.msg);
    }
    if (st == SR_OK)
        st = sr_write_file_atomic(path, b.data, b.len, err);
    sr_buf_free(&b);
    return st;
}

static sr_status bad(sr_error *err, const char *name, const char *fmt, const char *what, uint64_t a,
                     uint64_t b)
{
    char detail[256];
    snprintf(detail, sizeof detail, fmt, what, (unsigned long long)a, (unsigned long long)b);
    return sr_error_set(err, SR_ERR_FORMAT, "%s: %s", name, detail);
}


sr_status sr_model_load_mem_from(const sr_algo_table *table, const uint8_t *data, size_t len,
                                 const char *name, sr_model **out, sr_error *err)
{
    *out = NULL;
    if (!name)
        name = "(model)";
    if (len < 8 || memcmp(data, SR_MODEL_MAGIC, 8) != 0)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: not a sessrec model file (no SRMODEL magic)", name);
    sr_rd r = {data, len, 8, 0};
    uint32_t version = sr_rd_u32(&r);
    uint32_t alen = sr_rd_u32(&r);
    if (r.bad)
        return bad(err, name, "%s (%llu bytes, the header needs at least %llu)", "truncated model file",
                   len, HEAD_FIXED);
    if (version != 1 && version != SR_MODEL_VERSION)
        return sr_error_set(err, SR_ERR_FORMAT,
                            "%s: model file version %u is not supported (this build reads versions "
                            "1 to %u)", name, version, SR_MODEL_VERSION);
    if (alen < 1 || alen > SR_MODEL_MAX_ALGO)
        return bad(err, name, "%s %llu (expected 1 to %llu)", "corrupted model file: algorithm name length",
                   alen, SR_MODEL_MAX_ALGO);
    const char *algo_p = sr_rd_bytes(&r, alen);
    uint64_t n_items = sr_rd_u64(&r);
    if (r.bad)
        return bad(err, name, "%s (%llu bytes, the header needs %llu)", "truncated model file", len,
                   HEAD_FIXED + alen + 8);
    if (n_items < 1 || n_items > MAX_ITEMS)
        return bad(err, name, "%s %llu (expected 1 to %llu)", "corrupted model file: item count",
                   n_items, MAX_ITEMS);
    /* Sizes checked in 64 bits before any pointer arithmetic. */
    uint64_t ids_at = r.off, plen_at = ids_at + 8 * n_items;
    if (plen_at + 8 > len)
        return bad(err, name, "%s (%llu bytes, %llu needed for the item table)", "truncated model file",
                   len, plen_at + 8);
    uint64_t text_at = 0, text_len = 0;
    if (version >= 2) { /* text ids: their length, then n_items NUL-terminated strings */
        r.off = (size_t)plen_at;
        text_len = sr_rd_u64(&r);
        text_at = r.off;
        if (text_len > len || text_at + text_len + 8 > len)
            return bad(err, name, "%s (%llu bytes, %llu needed for the text ids)",
                       "truncated model file", len,
                       text_len > len ? UINT64_MAX : text_at + text_len + 8);
        plen_at = text_at + text_len;
    }
    r.off = (size_t)plen_at;
    uint64_t plen = sr_rd_u64(&r);
    uint64_t payload_at = r.off;
    if (plen > len || payload_at + plen + 4 > len)
        return bad(err, name, "%s (%llu bytes, the header declares %llu)", "truncated model file", len,
                   plen > UINT64_MAX - payload_at - 4 ? UINT64_MAX : payload_at + plen + 4);
    if (payload_at + plen + 4 < len)
        return bad(err, name, "%s: %llu bytes after the end declared by the header (%llu)",
                   "corrupted model file", len - (payload_at + plen + 4), payload_at + plen + 4);
    r.off = (size_t)(payload_at + plen);
    uint32_t crc_stored = sr_rd_u32(&r);
    uint32_t crc = sr_crc32(0, data, len - 4);
    if (r.bad || crc != crc_stored)
        return bad(err, name, "%s (CRC-32 stored %08llx, computed %08llx)", "corrupted model file",
                   crc_stored, crc);

    char algo[SR_MODEL_MAX_ALGO + 1];
    memcpy(algo, algo_p, alen);
    algo[alen] = 0;
    if (!algo_name_ok(algo, alen))
        return sr_error_set(err, SR_ERR_FORMAT, "%s: corrupted model file: bad algorithm name", name);
    const sr_algo *row = sr_algo_find_in(table, algo);
    const sr_model_vt *vt = row ? row->vt : NULL;
    if (!vt || !vt->deserialize)
        return sr_error_set(err, SR_ERR_FORMAT,
                            "%s: model of unknown algorithm '%s' (not built into this sessrec)",
                            name, algo);

    /* The ids are little-endian int64 at an arbitrary alignment: decode a copy. */
    int64_t *ids = malloc((size_t)n_items * sizeof *ids);
    if (!ids)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %llu item ids", name,
                            (unsigned long long)n_items);
    r.off = (size_t)ids_at;
    for (uint64_t i = 0; i < n_items; i++)
        ids[i] = (int64_t)sr_rd_u64(&r);
    sr_model *m = sr_model_new_shell(vt, (int64_t)n_items, ids);
    free(ids);
    if (!m)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for the item table", name);
    if (m->index.n != n_items) {
        sr_model_free(m);
        return sr_error_set(err, SR_ERR_FORMAT, "%s: corrupted model file: repeated item ids", name);
    }
    if (version >= 2) {
        sr_idtext t = {(int64_t)n_items, (char *)(uintptr_t)(data + text_at), NULL};
        t.off = malloc(((size_t)n_items + 1) * sizeof *t.off);
        sr_status ts = t.off ? SR_OK : SR_ERR_NOMEM;
        uint64_t o = 0;
        for (uint64_t i = 0; ts == SR_OK && i < n_items; i++) {
            const char *z = o < text_len ? memchr(t.text + o, 0, (size_t)(text_len - o)) : NULL;
            if (!z) {
                ts = SR_ERR_FORMAT;
                break;
            }
            t.off[i] = (int64_t)o;
            o = (uint64_t)(z - t.text) + 1;
        }
        if (ts == SR_OK && o != text_len)
            ts = SR_ERR_FORMAT;
        if (ts == SR_OK) {
            t.off[n_items] = (int64_t)o;
            ts = sr_model_set_text(m, &t, 0);
        }
        free(t.off);
        if (ts != SR_OK) {
            sr_model_free(m);
            return ts == SR_ERR_NOMEM
                       ? sr_error_set(err, ts, "%s: out of memory for the text item ids", name)
                       : sr_error_set(err, ts, "%s: corrupted model file: bad or repeated text "
                                      "item ids", name);
        }
    }
    sr_error e2 = {0};
    sr_status st = vt->deserialize(m, data + payload_at, (size_t)plen, &e2);
    if (st != SR_OK) {
        sr_model_free(m); /* frees m->impl too if deserialize left one behind */
        if (st != SR_ERR_NOMEM)
            st = SR_ERR_FORMAT;
        return sr_error_set(err, st, "%s: bad %s payload: %s", name, algo,
                            e2.msg[0] ? e2.msg : sr_status_name(st));
    }
    *out = m;
    return SR_OK;
}


sr_status sr_model_load_from(const sr_algo_table *table, const char *path, sr_model **out,
                             sr_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return sr_error_set(err, SR_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *data = malloc(len ? len : 1);
    if (!data) {
        fclose(f);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, len);
    }
    size_t got = fread(data, 1, len, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || got != len) {
        free(data);
        return sr_error_set(err, SR_ERR_IO, "%s: read failed", path);
    }
    sr_status st = sr_model_load_mem_from(table, data, len, path, out, err);
    free(data);
    return st;
}

sr_status sr_model_load_mem_vt(const sr_model_vt *vt, const uint8_t *data, size_t len,
                               const char *name, sr_model **out, sr_error *err)
{
    sr_algo self;
    memset(&self, 0, sizeof self);
    self.info.name = vt->algo;
    self.vt = vt;
    const sr_algo *const rows[] = {&self};
    const sr_algo_table own = {rows, 1};
    return sr_model_load_mem_from(&own, data, len, name, out, err);
}
