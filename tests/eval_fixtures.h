/*
 * eval_fixtures.h - hand-made inputs shared by test_eval.c and
 * test_recommend.c: splits built from lists of item ids, and a small
 * popularity model file for the command-line tests. Include after test.h.
 */
#ifndef SR_EVAL_FIXTURES_H
#define SR_EVAL_FIXTURES_H

#include "sessrec.h"
#include "util/util.h"

/* ---- building test splits by hand -------------------------------------------------- */

/* A split over sessions given as original item ids; item table = ids in order
 * of first appearance. Owned arrays; free with split_free_test. */
static inline sr_split make_split(int n_sessions, const int *lens, const int64_t *ids)
{
    sr_split s;
    memset(&s, 0, sizeof s);
    int64_t ne = 0;
    for (int i = 0; i < n_sessions; i++)
        ne += lens[i];
    s.n_sessions = n_sessions;
    s.n_events = ne;
    s.session_ids = malloc((size_t)(n_sessions + 1) * sizeof(int64_t));
    s.offsets = malloc((size_t)(n_sessions + 1) * sizeof(int64_t));
    s.items = malloc((size_t)(ne + 1) * sizeof(int32_t));
    s.times = malloc((size_t)(ne + 1) * sizeof(int64_t));
    s.item_ids = malloc((size_t)(ne + 1) * sizeof(int64_t));
    s.offsets[0] = 0;
    for (int i = 0; i < n_sessions; i++) {
        s.session_ids[i] = 1000 + i;
        s.offsets[i + 1] = s.offsets[i] + lens[i];
    }
    for (int64_t e = 0; e < ne; e++) {
        int64_t k = 0;
        while (k < s.n_items && s.item_ids[k] != ids[e])
            k++;
        if (k == s.n_items)
            s.item_ids[s.n_items++] = ids[e];
        s.items[e] = (int32_t)k;
        s.times[e] = e;
    }
    return s;
}

static inline void split_free_test(sr_split *s)
{
    free(s->session_ids);
    free(s->offsets);
    free(s->items);
    free(s->times);
    free(s->item_ids);
}

/* The popularity model of the CLI tests, trained on the sessions
 *   [1 2 3] [2 3] [3 4] [3 2]
 * so that it scores each item by its training clicks: 3 -> 4, 2 -> 3, 1 -> 1,
 * 4 -> 1, whatever the session. Written to `path`; returns 0 on success. */
static inline int write_pop_model(const char *path)
{
    static const int lens[4] = {3, 2, 2, 2};
    static const int64_t ids[9] = {1, 2, 3, 2, 3, 3, 4, 3, 2};
    sr_split tr = make_split(4, lens, ids);
    sr_model *m = NULL;
    sr_error err = {0};
    int rc = sr_train_baseline("pop", NULL, &tr, &m, &err) == SR_OK &&
                     sr_model_save(m, path, &err) == SR_OK
                 ? 0
                 : -1;
    if (rc)
        fprintf(stderr, "  write_pop_model: %s\n", err.msg);
    sr_model_free(m);
    split_free_test(&tr);
    return rc;
}

/* A log with structure: n_sessions sessions of 2 .. 1 + max_len clicks over
 * n_items items (ids id0 + i), where item i is followed by i + 1 or i + jump
 * (mod n_items) with equal odds; one click a second. Split of it (empty on
 * error, reported on stderr). */
static inline sr_split make_chain_split(int n_items, int n_sessions, int max_len, int jump,
                                        int64_t id0, uint64_t seed)
{
    sr_log log = {0};
    sr_rng r;
    sr_rng_seed(&r, seed);
    int64_t t = 1000000;
    for (int s = 0; s < n_sessions; s++) {
        int len = 2 + (int)(sr_rng_next(&r) % (uint64_t)max_len);
        int it = (int)(sr_rng_next(&r) % (uint64_t)n_items);
        for (int j = 0; j < len; j++) {
            sr_log_push(&log, s, id0 + it, t);
            t += 1000000;
            it = (it + ((sr_rng_next(&r) & 1) ? 1 : jump)) % n_items;
        }
    }
    sr_split sp = {0};
    sr_error err;
    if (sr_split_from_log(&log, &sp, &err) != SR_OK)
        fprintf(stderr, "split: %s\n", err.msg);
    sr_log_free(&log);
    return sp;
}

#endif
