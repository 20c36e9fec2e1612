/* keynote_pairs.c — see keynote_pairs.h. Written from keynote-2's description of its
 * generator (src/core/zipf.ts: mulberry32; zipfCDF with Kahan sums; pickTwoDistinct with at
 * most 32 re-draws), not from its code. */
#include "keynote_pairs.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* mulberry32 as JavaScript runs it: the state `t` is a JS number that grows by 0x6d2b79f5 per
 * draw and is never wrapped, so past 2^53 (about 4.9 million draws) its low bits are rounded
 * away. Each use goes through ToInt32 (mod 2^32), which fmod of the double reproduces
 * exactly; keeping the double keeps keynote-2's sequence over its 20 million draws. */
typedef struct mulberry {
    double t;
} mulberry;

static uint32_t to_uint32(double v)
{
    return (uint32_t)fmod(v, 4294967296.0);
}

static double mulberry_next(mulberry *g)
{
    g->t += (double)0x6d2b79f5u;
    uint32_t t = to_uint32(g->t);
    uint32_t r = (t ^ (t >> 15)) * (1u | t);
    r ^= r + (r ^ (r >> 7)) * (61u | r);
    return (double)(r ^ (r >> 14)) / 4294967296.0;
}

typedef struct sampler {
    mulberry rng;
    uint32_t n;
    double *cdf; /* NULL: uniform */
} sampler;

static int sampler_init(sampler *s, uint32_t n, double alpha, uint32_t seed)
{
    s->rng.t = (double)seed;
    s->n = n;
    s->cdf = NULL;
    if (alpha <= 0)
        return 0;
    s->cdf = malloc((size_t)n * sizeof *s->cdf);
    if (!s->cdf)
        return -1;
    /* Kahan-compensated sum of 1/k^alpha, then the normalised running sum, as keynote-2. */
    double sum = 0, c = 0;
    for (uint32_t i = 0; i < n; i++) {
        double y = 1 / pow(i + 1.0, alpha) - c;
        double t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    double cum = 0, comp = 0;
    for (uint32_t i = 0; i < n; i++) {
        double y = 1 / pow(i + 1.0, alpha) / sum - comp;
        double t = cum + y;
        comp = (t - cum) - y;
        cum = t;
        s->cdf[i] = cum;
    }
    s->cdf[n - 1] = 1.0;
    return 0;
}

static uint32_t sampler_pick(sampler *s)
{
    double u = mulberry_next(&s->rng);
    if (!s->cdf)
        return (uint32_t)floor(u * s->n);
    uint32_t left = 0, right = s->n - 1;
    while (left < right) {
        uint32_t mid = (left + right) >> 1;
        if (s->cdf[mid] < u)
            left = mid + 1;
        else
            right = mid;
    }
    return left;
}

int keynote_pairs_make(keynote_pairs *out, uint32_t accounts, double alpha, uint32_t seed,
                       size_t count)
{
    *out = (keynote_pairs){0};
    if (accounts < 2 || count == 0) {
        errno = EINVAL;
        return -1;
    }
    sampler s;
    if (sampler_init(&s, accounts, alpha, seed) != 0)
        return -1;
    out->from = malloc(count * sizeof *out->from);
    out->to = malloc(count * sizeof *out->to);
    if (!out->from || !out->to) {
        free(s.cdf);
        keynote_pairs_free(out);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t a = sampler_pick(&s), b = sampler_pick(&s);
        for (int spins = 0; b == a && spins < 32; spins++)
            b = sampler_pick(&s);
        out->from[i] = a;
        out->to[i] = b;
        out->equal += a == b;
    }
    out->count = count;
    free(s.cdf);
    return 0;
}

void keynote_pairs_free(keynote_pairs *pairs)
{
    free(pairs->from);
    free(pairs->to);
    *pairs = (keynote_pairs){0};
}

double keynote_pairs_hot_share(const keynote_pairs *pairs, uint32_t top)
{
    if (pairs->count == 0)
        return 0;
    size_t hot = 0;
    for (size_t i = 0; i < pairs->count; i++)
        hot += pairs->from[i] < top || pairs->to[i] < top;
    return (double)hot / (double)pairs->count;
}
