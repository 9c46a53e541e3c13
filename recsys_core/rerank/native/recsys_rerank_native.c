/* One user's re-ranking in one C call: recsys_core.rerank's Reranker.rerank_one_numpy, the
 * same floating-point operations in the same order, so the same lists bit for bit.
 *
 * Built by `pip install -r requirements.txt` (the line ./recsys_core/rerank/native); the
 * Python side (recsys_core/rerank/native_kernel.py) checks it at import and falls back to
 * numpy whenever it is missing or disagrees.
 *
 * rerank_one(popularity, weighted_tail, diversity, by_vectors, vectors, codes, n_codes,
 *            calibration, ids, scores, k, targets, row) -> (ids, scores) or None
 *   The reranker's settings first (the same for every call), then one list's:
 *   weighted_tail float32 [n_items]; vectors int16 [n_items, d < 512]: the unit vectors on
 *   the 2^-11 grid in grid units (every cosine an exact integer, so any summation order gives
 *   the same bits); codes int32 [n_items] (-1: none) of n_codes categories; ids int64 [m],
 *   scores float32 [m] (a query's answer, best first); targets None (no calibration) or
 *   float64 [rows, n_codes] and row: the user's history distribution is targets[row]. Every
 *   array native-order, aligned and C-contiguous (read through numpy's C API, never copied).
 *   Returns the list (new int64 and float32 arrays of min(k, m)), or None when it does not
 *   take it (calibration with a candidate without a category, a non-finite score): numpy's
 *   path answers then.
 *
 * Compiled with -ffp-contract=off: no fused multiply-add anywhere, as numpy computes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA 0.01 /* calibration._CALIBRATION_ALPHA */

/* The diversity dial's vectors arrive as int16: the unit vectors on the 2^-11 grid times 2^11
 * (reranker.COSINE_GRID), so a cosine is an exact int32 dot product times 2^-22, the same
 * number float32 holds exactly on numpy's side (d < 512 keeps every sum inside int32). */
#define GRID_SQUARED 0x1p-22

/* nearest[i] = max(cosine(rows[i], pick) * weight, nearest[i]) (the first call: without the
 * max): numpy's np.maximum(scaled, nearest), which keeps the second on a tie of zeros */
typedef void (*nearest_fn)(const int16_t *, Py_ssize_t, const int64_t *, Py_ssize_t, int64_t,
                           double, int, double *);

static inline double cosine_times(const int16_t *row, const int16_t *other, Py_ssize_t d,
                                  double weight) {
    int32_t total = 0;
    for (Py_ssize_t j = 0; j < d; j++) total += (int32_t)row[j] * (int32_t)other[j];
    return ((double)total * GRID_SQUARED) * weight;
}

static void nearest_portable(const int16_t *vectors, Py_ssize_t d, const int64_t *rows,
                             Py_ssize_t m, int64_t pick, double weight, int first,
                             double *nearest) {
    const int16_t *other = vectors + pick * d;
    for (Py_ssize_t i = 0; i < m; i++) {
        double scaled = cosine_times(vectors + rows[i] * d, other, d, weight);
        nearest[i] = first ? scaled : (scaled > nearest[i] ? scaled : nearest[i]);
    }
}

/* the first of the largest values (numpy's argmax; no NaN here) */
typedef Py_ssize_t (*argmax_fn)(const double *, Py_ssize_t);

static Py_ssize_t argmax_portable(const double *values, Py_ssize_t m) {
    double best = values[0];
    Py_ssize_t pick = 0;
    for (Py_ssize_t i = 1; i < m; i++) {
        int better = values[i] > best;
        best = better ? values[i] : best;
        pick = better ? i : pick;
    }
    return pick;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
__attribute__((target("avx2"))) static void nearest_avx2(const int16_t *vectors, Py_ssize_t d,
                                                         const int64_t *rows, Py_ssize_t m,
                                                         int64_t pick, double weight,
                                                         int first, double *nearest) {
    const int16_t *other = vectors + pick * d;
    const __m256d grid = _mm256_set1_pd(GRID_SQUARED), times = _mm256_set1_pd(weight);
    Py_ssize_t i = 0;
    for (; i + 4 <= m; i += 4) { /* four rows at once: one horizontal sum for the four */
        const int16_t *r0 = vectors + rows[i] * d, *r1 = vectors + rows[i + 1] * d;
        const int16_t *r2 = vectors + rows[i + 2] * d, *r3 = vectors + rows[i + 3] * d;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        __m256i a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
        Py_ssize_t j = 0;
        for (; j + 16 <= d; j += 16) {
            __m256i y = _mm256_loadu_si256((const __m256i *)(other + j));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(r0 + j)), y));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(r1 + j)), y));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(r2 + j)), y));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(r3 + j)), y));
        }
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        if (j < d) { /* d not a multiple of 16 */
            int32_t rest[4] = {0, 0, 0, 0};
            for (; j < d; j++) {
                rest[0] += (int32_t)r0[j] * (int32_t)other[j];
                rest[1] += (int32_t)r1[j] * (int32_t)other[j];
                rest[2] += (int32_t)r2[j] * (int32_t)other[j];
                rest[3] += (int32_t)r3[j] * (int32_t)other[j];
            }
            sum = _mm_add_epi32(sum, _mm_loadu_si128((const __m128i *)rest));
        }
        __m256d scaled = _mm256_mul_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(sum), grid), times);
        /* maxpd returns its second operand on a tie of zeros, as the portable loop does */
        if (!first) scaled = _mm256_max_pd(scaled, _mm256_loadu_pd(nearest + i));
        _mm256_storeu_pd(nearest + i, scaled);
    }
    if (i < m) nearest_portable(vectors, d, rows + i, m - i, pick, weight, first, nearest + i);
}

__attribute__((target("avx2"))) static Py_ssize_t argmax_avx2(const double *values,
                                                               Py_ssize_t m) {
    if (m < 8) return argmax_portable(values, m);
    __m256d top = _mm256_loadu_pd(values);
    Py_ssize_t i = 4;
    for (; i + 4 <= m; i += 4) top = _mm256_max_pd(top, _mm256_loadu_pd(values + i));
    double lanes[4];
    _mm256_storeu_pd(lanes, top);
    double best = lanes[0];
    for (int t = 1; t < 4; t++) best = lanes[t] > best ? lanes[t] : best;
    for (; i < m; i++) best = values[i] > best ? values[i] : best;
    /* the first equal to the largest (a tie of -0 and +0 is equal, as > sees it) */
    const __m256d wanted = _mm256_set1_pd(best);
    for (i = 0; i + 4 <= m; i += 4) {
        int mask = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(values + i), wanted, _CMP_EQ_OQ));
        if (mask) return i + __builtin_ctz(mask);
    }
    for (; i < m; i++)
        if (values[i] == best) return i;
    return 0; /* not reached */
}
#endif

static nearest_fn nearest_of = nearest_portable;
static argmax_fn argmax = argmax_portable;

/* |sum of the chosen rows|^2 in grid units: exact in int64 */
static double squared_sum(const int16_t *vectors, Py_ssize_t d, const int64_t *items,
                          const int64_t *chosen, Py_ssize_t n, int64_t *total) {
    for (Py_ssize_t j = 0; j < d; j++) total[j] = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        const int16_t *row = vectors + items[chosen[t]] * d;
        for (Py_ssize_t j = 0; j < d; j++) total[j] += row[j];
    }
    int64_t squared = 0;
    for (Py_ssize_t j = 0; j < d; j++) squared += total[j] * total[j];
    return (double)squared * GRID_SQUARED;
}

static double spread_vectors(const int16_t *vectors, Py_ssize_t d, const int64_t *items,
                             const int64_t *chosen, Py_ssize_t n, int64_t *total) {
    if (n < 2) return 0.0;
    double same = squared_sum(vectors, d, items, chosen, n, total) - (double)n;
    return 1.0 - same / ((double)n * ((double)n - 1.0));
}

static double spread_codes(const int64_t *codes, Py_ssize_t n_codes, const int64_t *chosen,
                           Py_ssize_t n, double *counts) {
    if (n < 2) return 0.0;
    for (Py_ssize_t c = 0; c <= n_codes; c++) counts[c] = 0.0;
    Py_ssize_t known = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        int64_t code = codes[chosen[t]];
        if (code >= 0) {
            counts[code] += 1.0;
            known++;
        }
    }
    double same = 0.0;
    for (Py_ssize_t c = 0; c <= n_codes; c++) same += counts[c] * counts[c];
    same -= (double)known;
    return 1.0 - same / ((double)n * ((double)n - 1.0));
}

/* Steck's term: OnePenalties' operations (share, after, log1p, times -c p) */
static double term(Py_ssize_t n, int64_t count, double p, double calibration) {
    double share = (1.0 - ALPHA) / ((double)n + 1.0);
    double after = (double)count * share + ALPHA * p;
    return log1p(share / after) * (p * -calibration);
}

typedef struct {
    Py_ssize_t wanted;       /* categories of the history among the candidates (0: none) */
    const double *shares;    /* [wanted] their share of the history */
    const int64_t *columns;  /* [m] each candidate's column (wanted: no term) */
    double calibration;
    Py_ssize_t k;
    double *memo;            /* [(n, count <= n)][wanted] terms computed so far (NAN: not yet) */
} Penalties;

static void column_terms(const Penalties *pen, Py_ssize_t n, const int64_t *column_counts,
                         double *terms) {
    for (Py_ssize_t c = 0; c < pen->wanted; c++) {
        double *known = pen->memo + (n * (n + 1) / 2 + column_counts[c]) * pen->wanted + c;
        if (isnan(*known)) *known = term(n, column_counts[c], pen->shares[c], pen->calibration);
        terms[c] = *known;
    }
    terms[pen->wanted] = 0.0;
}

/* greedy_vectors_one: the candidates are rows items[i] of vectors */
static void greedy_vectors(const double *relevance, Py_ssize_t m, Py_ssize_t k, double weight,
                           const int16_t *vectors, Py_ssize_t d, const int64_t *items,
                           const Penalties *pen, int64_t *chosen, double *work,
                           int64_t *column_counts) {
    double *open_gain = work, *nearest = work + m, *gain = work + 2 * m, *terms = work + 3 * m;
    int calibrated = pen->wanted > 0;
    memcpy(open_gain, relevance, m * sizeof(double));
    for (Py_ssize_t c = 0; c < pen->wanted; c++) column_counts[c] = 0;
    Py_ssize_t n = 0;
    for (Py_ssize_t step = 0; step < k; step++) {
        Py_ssize_t pick = 0;
        if (step > 0 || calibrated) {
            if (calibrated) {
                column_terms(pen, n, column_counts, terms);
                for (Py_ssize_t i = 0; i < m; i++)
                    gain[i] = (step > 0 ? open_gain[i] - nearest[i] : open_gain[i]) -
                              terms[pen->columns[i]];
            } else {
                for (Py_ssize_t i = 0; i < m; i++) gain[i] = open_gain[i] - nearest[i];
            }
            pick = argmax(gain, m);
        }
        chosen[step] = pick;
        open_gain[pick] = -INFINITY;
        if (step + 1 < k) nearest_of(vectors, d, items, m, items[pick], weight, step == 0, nearest);
        if (calibrated) { /* every candidate has a category here */
            n++;
            if (pen->columns[pick] < pen->wanted) column_counts[pen->columns[pick]]++;
        }
    }
}

/* greedy_categories_one: one queue of positions per category (and one for items without),
 * each step comparing the queues' heads (the first of the best gains wins: on a tie, the
 * lowest position); relevance is the query's order, best first */
static void greedy_categories(const double *relevance, Py_ssize_t m, Py_ssize_t k,
                              double weight, const int64_t *codes, Py_ssize_t n_codes,
                              const Penalties *pen, int64_t *chosen, int64_t *next,
                              int64_t *head, int64_t *present, unsigned char *listed,
                              int64_t *column_counts, double *terms) {
    int calibrated = pen->wanted > 0;
    memset(listed, 0, n_codes + 1);
    for (Py_ssize_t c = 0; c < pen->wanted; c++) column_counts[c] = 0;
    for (Py_ssize_t c = 0; c <= n_codes; c++) head[c] = -1;
    for (Py_ssize_t i = m - 1; i >= 0; i--) { /* the queues, in order (slot n_codes: none) */
        int64_t slot = codes[i] >= 0 ? codes[i] : n_codes;
        next[i] = head[slot];
        head[slot] = i;
    }
    Py_ssize_t n_present = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        int64_t slot = codes[i] >= 0 ? codes[i] : n_codes;
        if (head[slot] == i) present[n_present++] = slot;
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t step = 0; step < k; step++) {
        if (calibrated) column_terms(pen, n, column_counts, terms);
        double best = -INFINITY;
        int64_t pick = -1, pick_slot = -1;
        for (Py_ssize_t s = 0; s < n_present; s++) {
            int64_t slot = present[s], at = head[slot];
            if (at < 0) continue;
            double value = relevance[at];
            if (step > 0 && weight != 0.0)
                value = value - ((slot < n_codes && listed[slot]) ? weight : 0.0);
            if (calibrated) value = value - terms[pen->columns[at]];
            if (pick < 0 || value > best || (value == best && at < pick)) {
                best = value;
                pick = at;
                pick_slot = slot;
            }
        }
        chosen[step] = pick;
        head[pick_slot] = next[pick];
        if (pick_slot < n_codes) {
            listed[pick_slot] = 1;
            n++;
            if (calibrated && pen->columns[pick] < pen->wanted) column_counts[pen->columns[pick]]++;
        }
    }
}

/* The candidates in the order of the list: the relevance (base) first, then the query's own
 * order (score, best first; on a tie the lower item), then the position (only equal items
 * could need it). That is numpy's path exactly: the model's top-k order (lexsort of -score,
 * item) then a stable argsort of -base (-x < -y exactly when x > y). key packs score and item
 * into one int64 that is larger for the earlier: the score's order-preserving bits (-0 as +0)
 * above the complement of the item (items below 2^32). Each pair compared once, counting how
 * many come before each; without branches. */
static int64_t order_key(float score, int64_t item) {
    uint32_t bits;
    float value = score == 0.0f ? 0.0f : score; /* -0 ties +0, as numpy compares */
    memcpy(&bits, &value, 4);
    bits = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u); /* unsigned order of floats */
    uint64_t packed = ((uint64_t)bits << 32) | (uint64_t)(0xFFFFFFFFu - (uint32_t)item);
    return (int64_t)(packed ^ 0x8000000000000000ull); /* signed order */
}

typedef void (*sort_fn)(const double *, const int64_t *, Py_ssize_t, int64_t *, int64_t *);

static void sort_portable(const double *base, const int64_t *key, Py_ssize_t m, int64_t *rank,
                          int64_t *order) {
    for (Py_ssize_t i = 0; i < m; i++) rank[i] = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        for (Py_ssize_t j = i + 1; j < m; j++) { /* j after i: a tie of both goes to i */
            int64_t first = base[j] > base[i] || (base[j] == base[i] && key[j] > key[i]);
            rank[i] += first;
            rank[j] += 1 - first;
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) order[rank[i]] = i;
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2"))) static void sort_avx2(const double *base, const int64_t *key,
                                                      Py_ssize_t m, int64_t *rank,
                                                      int64_t *order) {
    for (Py_ssize_t i = 0; i < m; i++) rank[i] = 0;
    const __m256i one = _mm256_set1_epi64x(1);
    for (Py_ssize_t i = 0; i < m; i++) {
        const __m256d here = _mm256_set1_pd(base[i]);
        const __m256i mine = _mm256_set1_epi64x(key[i]);
        __m256i ahead = _mm256_setzero_si256(); /* -1 for each j that comes first */
        Py_ssize_t j = i + 1;
        for (; j + 4 <= m; j += 4) {
            __m256d value = _mm256_loadu_pd(base + j);
            __m256i greater = _mm256_castpd_si256(_mm256_cmp_pd(value, here, _CMP_GT_OQ));
            __m256i equal = _mm256_castpd_si256(_mm256_cmp_pd(value, here, _CMP_EQ_OQ));
            __m256i later = _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(key + j)), mine);
            __m256i first = _mm256_or_si256(greater, _mm256_and_si256(equal, later));
            ahead = _mm256_add_epi64(ahead, first);
            __m256i *theirs = (__m256i *)(rank + j);
            _mm256_storeu_si256(theirs, _mm256_add_epi64(_mm256_loadu_si256(theirs),
                                                         _mm256_add_epi64(first, one)));
        }
        int64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, ahead);
        rank[i] -= lanes[0] + lanes[1] + lanes[2] + lanes[3];
        for (; j < m; j++) {
            int64_t first = base[j] > base[i] || (base[j] == base[i] && key[j] > key[i]);
            rank[i] += first;
            rank[j] += 1 - first;
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) order[rank[i]] = i;
}
#endif

static sort_fn sort_positions = sort_portable;

/* object as a native-order, aligned, C-contiguous numpy array of one of two type numbers
 * (the second -1: only the first) and ndim dimensions; else an exception naming it.
 * numpy's own accessors: the buffer protocol costs about 100 ns an array, a third of a pick */
static const char *array_of(PyObject *object, int type, int other, int ndim, const char *name,
                            PyArrayObject **array) {
    if (!PyArray_Check(object)) {
        PyErr_Format(PyExc_TypeError, "%s: not a numpy array", name);
        return NULL;
    }
    PyArrayObject *found = (PyArrayObject *)object;
    int number = PyArray_TYPE(found);
    if ((number != type && number != other) || PyArray_NDIM(found) != ndim ||
        !PyArray_ISNOTSWAPPED(found)) {
        PyErr_Format(PyExc_TypeError, "%s: wrong array type", name);
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(found) || !PyArray_ISALIGNED(found)) {
        PyErr_Format(PyExc_ValueError, "%s: not a contiguous, aligned array", name);
        return NULL;
    }
    *array = found;
    return PyArray_DATA(found);
}

/* (ids[picked], scores[picked]) as two new numpy arrays */
static PyObject *answer(const int64_t *ids, const float *scores, const int64_t *picked,
                        Py_ssize_t n) {
    npy_intp length = n;
    PyObject *out_ids = PyArray_SimpleNew(1, &length, NPY_INT64);
    PyObject *out_scores = out_ids ? PyArray_SimpleNew(1, &length, NPY_FLOAT32) : NULL;
    if (!out_scores) {
        Py_XDECREF(out_ids);
        return NULL;
    }
    int64_t *to_ids = PyArray_DATA((PyArrayObject *)out_ids);
    float *to_scores = PyArray_DATA((PyArrayObject *)out_scores);
    for (Py_ssize_t t = 0; t < n; t++) {
        to_ids[t] = ids[picked[t]];
        to_scores[t] = scores[picked[t]];
    }
    PyObject *pair = PyTuple_Pack(2, out_ids, out_scores);
    Py_DECREF(out_ids);
    Py_DECREF(out_scores);
    return pair;
}

static PyObject *rerank_one(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 13) {
        PyErr_SetString(PyExc_TypeError, "rerank_one takes 13 arguments");
        return NULL;
    }
    PyObject *result = NULL;
    char *block = NULL;   /* the work space, where it does not fit on_stack */
    double *memo = NULL;  /* the calibration terms' memo, where it does not fit memo_on_stack */
    union {
        char bytes[16384];
        double align;
    } on_stack;
    union {
        double values[1024];
    } memo_on_stack;
    double popularity = PyFloat_AsDouble(args[0]);
    double diversity = PyFloat_AsDouble(args[2]);
    int by_vectors = PyObject_IsTrue(args[3]);
    Py_ssize_t n_codes = PyLong_AsSsize_t(args[6]);
    double calibration = PyFloat_AsDouble(args[7]);
    Py_ssize_t k = PyLong_AsSsize_t(args[10]);
    int calibrate = args[11] != Py_None;
    Py_ssize_t row = PyLong_AsSsize_t(args[12]);
    if (PyErr_Occurred() || by_vectors < 0) return NULL;
    PyArrayObject *tail_a, *vectors_a, *codes_a, *ids_a, *scores_a, *target_a;
    const float *tail = (const float *)array_of(args[1], NPY_FLOAT, -1, 1, "weighted_tail", &tail_a);
    if (!tail) return NULL;
    const int16_t *vectors = (const int16_t *)array_of(args[4], NPY_SHORT, -1, 2, "vectors", &vectors_a);
    if (!vectors) return NULL;
    const int32_t *codes = (const int32_t *)array_of(args[5], NPY_INT, -1, 1, "codes", &codes_a);
    if (!codes) return NULL;
    const int64_t *ids0 = (const int64_t *)array_of(args[8], NPY_LONG, NPY_LONGLONG, 1, "ids", &ids_a);
    if (!ids0) return NULL;
    const float *scores0 = (const float *)array_of(args[9], NPY_FLOAT, -1, 1, "scores", &scores_a);
    if (!scores0) return NULL;
    const double *targets = NULL;
    Py_ssize_t n_rows = 1, target_codes = n_codes;
    if (calibrate) {
        targets = (const double *)array_of(args[11], NPY_DOUBLE, -1, 2, "targets", &target_a);
        if (!targets) return NULL;
        n_rows = PyArray_DIM(target_a, 0);
        target_codes = PyArray_DIM(target_a, 1);
    }
    Py_ssize_t m = PyArray_DIM(ids_a, 0);
    Py_ssize_t n_items_vectors = PyArray_DIM(vectors_a, 0), d = PyArray_DIM(vectors_a, 1);
    Py_ssize_t n_tail = PyArray_DIM(tail_a, 0), n_codes_items = PyArray_DIM(codes_a, 0);
    if (PyArray_DIM(scores_a, 0) != m || m < 1 || k < 1 || d >= 512 || row < 0 ||
        row >= n_rows || n_codes < 0 || target_codes != n_codes ||
        (calibrate && !(calibration > 0))) {
        PyErr_SetString(PyExc_ValueError, "rerank_one: inconsistent lengths or settings");
        return NULL;
    }
    const double *target = calibrate ? targets + row * n_codes : NULL;
    int need_codes = calibrate || (diversity > 0 && !by_vectors);
    for (Py_ssize_t i = 0; i < m; i++) {
        if (!isfinite(scores0[i])) { /* numpy's path decides what a non-finite score does */
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) { /* never read outside an array */
        int64_t item = ids0[i];
        if (item < 0 || item > 0x7FFFFFFF || (popularity > 0 && item >= n_tail) ||
            (by_vectors && diversity > 0 && item >= n_items_vectors) ||
            (need_codes && item >= n_codes_items)) {
            PyErr_SetString(PyExc_ValueError, "rerank_one: an item outside the arrays");
            goto done;
        }
        /* its tail, code and vector row asked of memory now, all at once (the model's query
         * has just streamed its factors through the cache: one miss after another is slow) */
        if (popularity > 0) __builtin_prefetch(tail + item);
        if (need_codes) __builtin_prefetch(codes + item);
        if (by_vectors && diversity > 0) {
            const char *line = (const char *)(vectors + item * d);
            for (Py_ssize_t byte = 0; byte < d * 2; byte += 64) __builtin_prefetch(line + byte);
            __builtin_prefetch(line + d * 2 - 1);
        }
    }
    if (calibrate) __builtin_prefetch(target);
    for (Py_ssize_t i = 0; i < m && need_codes; i++) {
        if (codes[ids0[i]] >= n_codes) {
            PyErr_SetString(PyExc_ValueError, "rerank_one: a category outside the targets");
            goto done;
        }
    }
    /* work space, one block: doubles, then int64s, then floats, then bytes */
    Py_ssize_t wide = (d > n_codes ? d : n_codes) + 2;
    Py_ssize_t n_doubles = 2 * m + (3 * m + n_codes + 2) + (n_codes + 2) + (n_codes + 2) + wide;
    Py_ssize_t n_longs = 4 * m + 2 * k + 2 * (n_codes + 2) + wide + 4 * m + (n_codes + 2);
    size_t block_size = n_doubles * 8 + n_longs * 8 + m * 4 + n_codes + 2;
    block = block_size <= sizeof(on_stack) ? NULL : malloc(block_size);
    if (block_size > sizeof(on_stack) && !block) {
        PyErr_NoMemory();
        goto done;
    }
    char *space = block ? block : on_stack.bytes;
    double *base = (double *)space;
    double *relevance = base + m;
    double *work = relevance + m;          /* greedy_vectors: 3 m + n_codes + 2 */
    double *terms = work + 3 * m + n_codes + 2;
    double *shares = terms + n_codes + 2;
    double *dspare = shares + n_codes + 2; /* the spreads' sums */
    int64_t *order = (int64_t *)(dspare + wide);
    int64_t *ids = order + m, *cand_codes = ids + m, *columns = cand_codes + m;
    int64_t *picked = columns + m, *plain = picked + k;
    int64_t *column_of = plain + k, *column_counts = column_of + n_codes + 2;
    int64_t *lspare = column_counts + n_codes + 2; /* the spreads' sums (wide) */
    int64_t *next = lspare + wide, *present = next + m, *head = present + m; /* the queues */
    int64_t *keys = head + n_codes + 2, *ranks = keys + m; /* the order of the list */
    float *scores = (float *)(ranks + m);
    unsigned char *listed = (unsigned char *)(scores + m);

    /* relevance: min-max normalised scores, then the popularity mix */
    double low = (double)scores0[0], high = low;
    for (Py_ssize_t i = 1; i < m; i++) {
        double value = (double)scores0[i];
        low = value < low ? value : low;
        high = value > high ? value : high;
    }
    for (Py_ssize_t i = 0; i < m; i++) base[i] = (double)scores0[i] - low;
    if (high > low) {
        double range = high - low;
        for (Py_ssize_t i = 0; i < m; i++) base[i] = base[i] / range;
    } else {
        for (Py_ssize_t i = 0; i < m; i++) base[i] = 1.0;
    }
    if (popularity > 0) {
        double keep = 1.0 - popularity;
        for (Py_ssize_t i = 0; i < m; i++) base[i] = base[i] * keep;
        for (Py_ssize_t i = 0; i < m; i++) base[i] = base[i] + (double)tail[ids0[i]];
        for (Py_ssize_t i = 0; i < m; i++) {
            if (!isfinite(base[i])) { /* a tail that is not a number: numpy's path */
                result = Py_NewRef(Py_None);
                goto done;
            }
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) keys[i] = order_key(scores0[i], ids0[i]);
    sort_positions(base, keys, m, ranks, order);
    if (popularity > 0 && !(diversity > 0) && !calibrate) {
        Py_ssize_t n = k < m ? k : m;
        result = answer(ids0, scores0, order, n);
        goto done;
    }
    for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[order[i]];
    memcpy(base, relevance, m * sizeof(double));
    for (Py_ssize_t i = 0; i < m; i++) {
        ids[i] = ids0[order[i]];
        scores[i] = scores0[order[i]];
    }
    if (k > m) k = m;
    double cal = calibrate ? calibration : 0.0;
    for (Py_ssize_t i = 0; i < m; i++) cand_codes[i] = need_codes ? codes[ids[i]] : -1;
    Penalties pen = {0, shares, columns, cal, k, NULL};
    for (Py_ssize_t i = 0; i < m; i++) columns[i] = 0;
    if (calibrate) {
        int active = 0;
        for (Py_ssize_t j = 0; j < n_codes; j++)
            if (target[j] > 0) active = 1;
        if (active) {
            memset(listed, 0, n_codes + 1); /* used as "present" here */
            for (Py_ssize_t i = 0; i < m; i++) {
                if (cand_codes[i] < 0) { /* an item without a category: numpy's path */
                    result = Py_NewRef(Py_None);
                    goto done;
                }
                listed[cand_codes[i]] = 1;
            }
            Py_ssize_t wanted = 0;
            for (Py_ssize_t j = 0; j < n_codes; j++) {
                column_of[j] = -1;
                if (listed[j] && target[j] > 0) {
                    column_of[j] = wanted;
                    shares[wanted] = target[j];
                    wanted++;
                }
            }
            for (Py_ssize_t i = 0; i < m; i++) {
                int64_t column = column_of[cand_codes[i]];
                columns[i] = column >= 0 ? column : wanted;
            }
            pen.wanted = wanted;
            size_t memo_size = (size_t)(k * (k + 1) / 2 * wanted + 1) * sizeof(double);
            memo = memo_size <= sizeof(memo_on_stack) ? NULL : malloc(memo_size);
            if (memo_size > sizeof(memo_on_stack) && !memo) {
                PyErr_NoMemory();
                goto done;
            }
            pen.memo = memo ? memo : memo_on_stack.values;
            for (Py_ssize_t i = 0; i < k * (k + 1) / 2 * wanted; i++) pen.memo[i] = NAN;
        }
    }
    double scale = (1.0 - diversity) * (1.0 - cal);
    for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[i] * scale;
    double weight = diversity * (1.0 - cal);
    if (diversity > 0 && by_vectors)
        greedy_vectors(relevance, m, k, weight, vectors, d, ids, &pen, picked, work,
                       column_counts);
    else
        greedy_categories(relevance, m, k, weight, cand_codes, n_codes, &pen, picked, next,
                          head, present, listed, column_counts, terms);
    if (diversity > 0) { /* never less diverse than the same list without the dial */
        if (calibrate) {
            double keep = 1.0 - cal;
            for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[i] * keep;
            greedy_categories(relevance, m, k, 0.0, cand_codes, n_codes, &pen, plain, next,
                              head, present, listed, column_counts, terms);
        } else {
            for (Py_ssize_t t = 0; t < k; t++) plain[t] = t;
        }
        int fewer;
        if (by_vectors)
            fewer = spread_vectors(vectors, d, ids, picked, k, lspare) <
                    spread_vectors(vectors, d, ids, plain, k, lspare) - 1e-6;
        else
            fewer = spread_codes(cand_codes, n_codes, picked, k, dspare) <
                    spread_codes(cand_codes, n_codes, plain, k, dspare) - 1e-6;
        if (fewer) memcpy(picked, plain, k * sizeof(int64_t));
    }
    result = answer(ids, scores, picked, k);
done:
    free(memo);
    free(block);
    return result;
}

static PyObject *log1p_each(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "log1p_each takes 2 arguments");
        return NULL;
    }
    PyArrayObject *values_a, *out_a;
    const double *values = (const double *)array_of(args[0], NPY_DOUBLE, -1, 1, "values", &values_a);
    if (!values) return NULL;
    double *out = (double *)array_of(args[1], NPY_DOUBLE, -1, 1, "out", &out_a);
    if (!out) return NULL;
    if (!PyArray_ISWRITEABLE(out_a) || PyArray_DIM(out_a, 0) < PyArray_DIM(values_a, 0)) {
        PyErr_SetString(PyExc_ValueError, "log1p_each: out read-only or too short");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyArray_DIM(values_a, 0); i++) out[i] = log1p(values[i]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"rerank_one", (PyCFunction)(void (*)(void))rerank_one, METH_FASTCALL,
     "One user's list re-ranked (see the module's source): (ids, scores), or None."},
    {"log1p_each", (PyCFunction)(void (*)(void))log1p_each, METH_FASTCALL,
     "log1p of each value into out (the import-time check against numpy)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "recsys_rerank_native",
                                    "One user's re-ranking in C.", -1, methods,
                                    NULL, NULL, NULL, NULL};

/* Raised whenever the arithmetic changes, so a module built from older source is not used */
#define KERNEL_VERSION 6

PyMODINIT_FUNC PyInit_recsys_rerank_native(void) {
    import_array(); /* numpy's C API, or an ImportError: numpy answers every list */
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        nearest_of = nearest_avx2;
        argmax = argmax_avx2;
        sort_positions = sort_avx2;
    }
#endif
    PyObject *created = PyModule_Create(&module);
    if (created && PyModule_AddIntConstant(created, "KERNEL_VERSION", KERNEL_VERSION) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
