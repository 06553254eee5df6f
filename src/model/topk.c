/*
 * topk.c - sr_topk: the k best of n scores, best first, in O(n log k) with no
 * allocation. In the model layer because live sessions (session.c) and the
 * evaluator both rank with it.
 */
#include "sessrec.h"

#include <math.h>

/* ---- top-k --------------------------------------------------------------------- */

/* Item a ranks before item b: higher score, or equal score and lower index. */
static inline int better(const float *s, int32_t a, int32_t b)
{
    return s[a] > s[b] || (s[a] == s[b] && a < b);
}

/* Restores the heap below position i of h (n item indices keyed by s), a
 * min-heap on `better`: the worst kept item is at the root. */
static void sift_down(const float *s, int32_t *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(s, h[w], h[l]))
            w = l;
        if (r < n && better(s, h[w], h[r]))
            w = r;
        if (w == i)
            return;
        int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

int sr_topk(const float *scores, int64_t n, int k, int32_t *idx, float *val)
{
    if (k <= 0 || n <= 0)
        return 0;
    if ((int64_t)k > n)
        k = (int)n;
    /* The heap lives in idx (k). Most items lose against the root at once. */
    int m = 0;
    for (int64_t j = 0; j < n; j++) {
        if (isnan(scores[j]))
            continue;
        if (m < k) {
            int i = m++;
            idx[i] = (int32_t)j;
            while (i > 0 && better(scores, idx[(i - 1) / 2], idx[i])) {
                int p = (i - 1) / 2;
                int32_t t = idx[p];
                idx[p] = idx[i];
                idx[i] = t;
                i = p;
            }
        } else if (better(scores, (int32_t)j, idx[0])) {
            idx[0] = (int32_t)j;
            sift_down(scores, idx, m, 0);
        }
    }
    /* Heap sort: move the worst to the end repeatedly -> best first. */
    for (int end = m - 1; end > 0; end--) {
        int32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down(scores, idx, end, 0);
    }
    if (val)
        for (int i = 0; i < m; i++)
            val[i] = scores[idx[i]];
    return m;
}
