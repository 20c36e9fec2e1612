/* keynote_pairs.h — keynote-2's transfer pairs: the same PRNG (mulberry32, with JavaScript's
 * number arithmetic), the same Zipf sampler (a CDF over ranks 1..N, binary search) and the
 * same "two distinct picks" rule, so that a seed gives the pairs keynote-2's runner gives.
 * Shared by keynote_client (network) and keynote_capi (C API). Not for anything else: the
 * PRNG is a fast benchmark generator, not a random source. */
#ifndef JSP_KEYNOTE_PAIRS_H
#define JSP_KEYNOTE_PAIRS_H

#include <stddef.h>
#include <stdint.h>

/* keynote-2's default seed (makeRng(seed = 0x12345678)). */
#define KEYNOTE_DEFAULT_SEED 0x12345678u

typedef struct keynote_pairs {
    uint32_t *from, *to; /* count entries each; from[i] != to[i] except after 32 equal spins */
    size_t count;
    size_t equal;        /* pairs left equal after 32 spins (keynote-2 keeps them) */
} keynote_pairs;

/* Draws count pairs over accounts 0..accounts-1 with Zipf exponent alpha (alpha <= 0:
 * uniform), from seed. Returns 0, or -1 when out of memory (errno set). Account 0 is the
 * hottest, as in keynote-2 (rank r is account r-1). */
int keynote_pairs_make(keynote_pairs *out, uint32_t accounts, double alpha, uint32_t seed,
                       size_t count);
void keynote_pairs_free(keynote_pairs *pairs);

/* The share of pairs that touch one of the `top` hottest accounts (a contention gauge). */
double keynote_pairs_hot_share(const keynote_pairs *pairs, uint32_t top);

#endif
