/* One user's re-ranking in one C call: recsys_core.rerank's Reranker.rerank_one_numpy, the
 * same floating-point operations in the same order, so the same lists bit for bit.
 *
 * Built by `pip install -r requirements.txt` (the line ./recsys_core/rerank/native); the
 * Python side (recsys_core/rerank/native_kernel.py) checks it at import and falls back to
 * numpy whenever it is missing or disagrees.
 *
 * rerank_one(ids, scores, k, popularity, weighted_tail, diversity, by_vectors, vectors,
 *            codes, calibrate, calibration, target, out_ids, out_scores) -> int
 *   ids int64 [m], scores float32 [m] (a query's answer, best first); weighted_tail float32
 *   [n_items]; vectors float32 [n_items, d] on the 2^-11 grid (every cosine exact, so any
 *   summation order gives the same bits); codes int64 [n_items]; target float64 [n_codes]
 *   (the user's history distribution; zeros without calibration); out_ids int64 [>= k],
 *   out_scores float32 [>= k]. Returns how many were written, or -1 when it does not take the
 *   list (calibration with a candidate without a category): numpy's path answers then.
 *
 * Compiled with -ffp-contract=off: no fused multiply-add anywhere, as numpy computes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA 0.01 /* calibration._CALIBRATION_ALPHA */

typedef float v4f __attribute__((vector_size(16)));

/* cosines of item rows[i] and item pick: exact (grid vectors), so vectorised in any order;
 * with AVX2 where the CPU has it (chosen once, at import) */
typedef void (*cosines_fn)(const float *, Py_ssize_t, const int64_t *, Py_ssize_t, int64_t,
                           float *);

static void cosines_portable(const float *vectors, Py_ssize_t d, const int64_t *rows, Py_ssize_t m,
                    int64_t pick, float *near) {
    const float *other = vectors + pick * d;
    for (Py_ssize_t i = 0; i < m; i++) {
        const float *row = vectors + rows[i] * d;
        v4f a = {0, 0, 0, 0}, b = {0, 0, 0, 0}, c = {0, 0, 0, 0}, e = {0, 0, 0, 0};
        Py_ssize_t j = 0;
        for (; j + 16 <= d; j += 16) {
            v4f x0, x1, x2, x3, y0, y1, y2, y3;
            memcpy(&x0, row + j, 16);
            memcpy(&x1, row + j + 4, 16);
            memcpy(&x2, row + j + 8, 16);
            memcpy(&x3, row + j + 12, 16);
            memcpy(&y0, other + j, 16);
            memcpy(&y1, other + j + 4, 16);
            memcpy(&y2, other + j + 8, 16);
            memcpy(&y3, other + j + 12, 16);
            a += x0 * y0;
            b += x1 * y1;
            c += x2 * y2;
            e += x3 * y3;
        }
        a += b;
        c += e;
        a += c;
        float total = (a[0] + a[1]) + (a[2] + a[3]);
        for (; j < d; j++) total += row[j] * other[j];
        near[i] = total;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
__attribute__((target("avx2"))) static void cosines_avx2(const float *vectors, Py_ssize_t d,
                                                         const int64_t *rows, Py_ssize_t m,
                                                         int64_t pick, float *near) {
    const float *other = vectors + pick * d;
    Py_ssize_t i = 0;
    for (; i + 4 <= m; i += 4) { /* four rows at once: one horizontal sum for the four */
        const float *r0 = vectors + rows[i] * d, *r1 = vectors + rows[i + 1] * d;
        const float *r2 = vectors + rows[i + 2] * d, *r3 = vectors + rows[i + 3] * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        Py_ssize_t j = 0;
        for (; j + 8 <= d; j += 8) {
            __m256 y = _mm256_loadu_ps(other + j);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(r0 + j), y));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(r1 + j), y));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(r2 + j), y));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(r3 + j), y));
        }
        __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
        __m256 h = _mm256_hadd_ps(h01, h23);
        __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        float out[4];
        _mm_storeu_ps(out, sum);
        for (; j < d; j++) {
            out[0] += r0[j] * other[j];
            out[1] += r1[j] * other[j];
            out[2] += r2[j] * other[j];
            out[3] += r3[j] * other[j];
        }
        near[i] = out[0];
        near[i + 1] = out[1];
        near[i + 2] = out[2];
        near[i + 3] = out[3];
    }
    if (i < m) cosines_portable(vectors, d, rows + i, m - i, pick, near + i);
}
#endif

static cosines_fn cosines = cosines_portable;

/* |sum of the chosen rows|^2 in double: exact (multiples of 2^-22, small) */
static double squared_sum(const float *vectors, Py_ssize_t d, const int64_t *items,
                          const int64_t *chosen, Py_ssize_t n, double *total) {
    for (Py_ssize_t j = 0; j < d; j++) total[j] = 0.0;
    for (Py_ssize_t t = 0; t < n; t++) {
        const float *row = vectors + items[chosen[t]] * d;
        for (Py_ssize_t j = 0; j < d; j++) total[j] += (double)row[j];
    }
    double squared = 0.0;
    for (Py_ssize_t j = 0; j < d; j++) squared += total[j] * total[j];
    return squared;
}

static double spread_vectors(const float *vectors, Py_ssize_t d, const int64_t *items,
                             const int64_t *chosen, Py_ssize_t n, double *total) {
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
    double *memo;            /* [k][k + 1][wanted] terms computed so far (NAN: not yet) */
} Penalties;

static void column_terms(const Penalties *pen, Py_ssize_t n, const int64_t *column_counts,
                         double *terms) {
    for (Py_ssize_t c = 0; c < pen->wanted; c++) {
        double *known = pen->memo + (n * (pen->k + 1) + column_counts[c]) * pen->wanted + c;
        if (isnan(*known)) *known = term(n, column_counts[c], pen->shares[c], pen->calibration);
        terms[c] = *known;
    }
    terms[pen->wanted] = 0.0;
}

/* greedy_vectors_one: the candidates are rows items[i] of vectors */
static void greedy_vectors(const double *relevance, Py_ssize_t m, Py_ssize_t k, double weight,
                           const float *vectors, Py_ssize_t d, const int64_t *items,
                           const Penalties *pen, int64_t *chosen, double *work, float *near,
                           int64_t *column_counts) {
    double *open_gain = work, *nearest = work + m, *terms = work + 2 * m;
    int calibrated = pen->wanted > 0;
    memcpy(open_gain, relevance, m * sizeof(double));
    for (Py_ssize_t c = 0; c < pen->wanted; c++) column_counts[c] = 0;
    Py_ssize_t n = 0;
    for (Py_ssize_t step = 0; step < k; step++) {
        if (calibrated) column_terms(pen, n, column_counts, terms);
        Py_ssize_t pick = 0;
        if (step > 0 || calibrated) { /* the first of the best gains, without branches */
            double best = -INFINITY;
            pick = -1;
            for (Py_ssize_t i = 0; i < m; i++) {
                double gain = step > 0 ? open_gain[i] - nearest[i] : open_gain[i];
                if (calibrated) gain = gain - terms[pen->columns[i]];
                int better = pick < 0 || gain > best;
                best = better ? gain : best;
                pick = better ? i : pick;
            }
        }
        chosen[step] = pick;
        open_gain[pick] = -INFINITY;
        if (step + 1 < k) {
            cosines(vectors, d, items, m, items[pick], near);
            if (step == 0) {
                for (Py_ssize_t i = 0; i < m; i++) nearest[i] = (double)near[i] * weight;
            } else {
                for (Py_ssize_t i = 0; i < m; i++) {
                    double scaled = (double)near[i] * weight;
                    nearest[i] = scaled > nearest[i] ? scaled : nearest[i];
                }
            }
        }
        if (calibrated) { /* every candidate has a category here */
            n++;
            if (pen->columns[pick] < pen->wanted) column_counts[pen->columns[pick]]++;
        }
    }
}

/* greedy_categories_one as a scan over every open candidate (the first of the best gains is
 * the head the per-category version picks) */
static void greedy_categories(const double *relevance, Py_ssize_t m, Py_ssize_t k,
                              double weight, const int64_t *codes, Py_ssize_t n_codes,
                              const Penalties *pen, int64_t *chosen, unsigned char *closed,
                              unsigned char *listed, int64_t *column_counts, double *terms) {
    int calibrated = pen->wanted > 0;
    memset(closed, 0, m);
    memset(listed, 0, n_codes + 1);
    for (Py_ssize_t c = 0; c < pen->wanted; c++) column_counts[c] = 0;
    Py_ssize_t n = 0;
    for (Py_ssize_t step = 0; step < k; step++) {
        if (calibrated) column_terms(pen, n, column_counts, terms);
        double best = -INFINITY;
        Py_ssize_t pick = -1;
        for (Py_ssize_t i = 0; i < m; i++) {
            double gain = relevance[i];
            if (step > 0 && weight != 0.0)
                gain = gain - ((codes[i] >= 0 && listed[codes[i]]) ? weight : 0.0);
            if (calibrated) gain = gain - terms[pen->columns[i]];
            int better = !closed[i] && (pick < 0 || gain > best);
            best = better ? gain : best;
            pick = better ? i : pick;
        }
        chosen[step] = pick;
        closed[pick] = 1;
        if (codes[pick] >= 0) {
            listed[codes[pick]] = 1;
            n++;
            if (calibrated && pen->columns[pick] < pen->wanted) column_counts[pen->columns[pick]]++;
        }
    }
}

/* stable sort of positions by base, largest first (numpy's argsort(-base, kind="stable")) */
static void sort_positions(const double *base, Py_ssize_t m, int64_t *order, int64_t *spare) {
    for (Py_ssize_t i = 0; i < m; i++) order[i] = i;
    for (Py_ssize_t width = 1; width < m; width *= 2) {
        for (Py_ssize_t lo = 0; lo < m; lo += 2 * width) {
            Py_ssize_t mid = lo + width < m ? lo + width : m;
            Py_ssize_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            Py_ssize_t a = lo, b = mid, t = lo;
            while (a < mid && b < hi) /* -x < -y exactly when x > y */
                spare[t++] = (-base[order[b]] < -base[order[a]]) ? order[b++] : order[a++];
            while (a < mid) spare[t++] = order[a++];
            while (b < hi) spare[t++] = order[b++];
        }
        memcpy(order, spare, m * sizeof(int64_t));
    }
}

typedef struct {
    Py_buffer view;
    int held;
} Buffer;

static int take(PyObject *object, Buffer *buffer, char kind, Py_ssize_t itemsize, int ndim,
                int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, &buffer->view, flags) < 0) return -1;
    buffer->held = 1;
    const char *format = buffer->view.format ? buffer->view.format : "B";
    char last = format[strlen(format) - 1];
    int kind_ok = (kind == 'i' && (last == 'l' || last == 'q')) ||
                  (kind == 'f' && last == 'f') || (kind == 'd' && last == 'd');
    if (!kind_ok || buffer->view.itemsize != itemsize || buffer->view.ndim != ndim) {
        PyErr_Format(PyExc_TypeError, "%s: wrong array type", name);
        return -1;
    }
    return 0;
}

static PyObject *rerank_one(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError, "rerank_one takes 14 arguments");
        return NULL;
    }
    Buffer ids_b = {0}, scores_b = {0}, tail_b = {0}, vectors_b = {0}, codes_b = {0},
           target_b = {0}, out_ids_b = {0}, out_scores_b = {0};
    Buffer *all[] = {&ids_b, &scores_b, &tail_b, &vectors_b,
                     &codes_b, &target_b, &out_ids_b, &out_scores_b};
    PyObject *result = NULL;
    char *block = NULL;
    double *memo = NULL;
    Py_ssize_t k = PyLong_AsSsize_t(args[2]);
    double popularity = PyFloat_AsDouble(args[3]);
    double diversity = PyFloat_AsDouble(args[5]);
    int by_vectors = PyObject_IsTrue(args[6]);
    int calibrate = PyObject_IsTrue(args[9]);
    double calibration = PyFloat_AsDouble(args[10]);
    if (PyErr_Occurred() || by_vectors < 0 || calibrate < 0) goto done;
    if (take(args[0], &ids_b, 'i', 8, 1, 0, "ids") < 0 ||
        take(args[1], &scores_b, 'f', 4, 1, 0, "scores") < 0 ||
        take(args[4], &tail_b, 'f', 4, 1, 0, "weighted_tail") < 0 ||
        take(args[7], &vectors_b, 'f', 4, 2, 0, "vectors") < 0 ||
        take(args[8], &codes_b, 'i', 8, 1, 0, "codes") < 0 ||
        take(args[11], &target_b, 'd', 8, 1, 0, "target") < 0 ||
        take(args[12], &out_ids_b, 'i', 8, 1, 1, "out_ids") < 0 ||
        take(args[13], &out_scores_b, 'f', 4, 1, 1, "out_scores") < 0)
        goto done;
    const int64_t *ids0 = ids_b.view.buf;
    const float *scores0 = scores_b.view.buf;
    const float *tail = tail_b.view.buf;
    const float *vectors = vectors_b.view.buf;
    const int64_t *codes = codes_b.view.buf;
    const double *target = target_b.view.buf;
    int64_t *out_ids = out_ids_b.view.buf;
    float *out_scores = out_scores_b.view.buf;
    Py_ssize_t m = ids_b.view.shape[0];
    Py_ssize_t n_items_vectors = vectors_b.view.shape[0], d = vectors_b.view.shape[1];
    Py_ssize_t n_tail = tail_b.view.shape[0], n_codes_items = codes_b.view.shape[0];
    Py_ssize_t n_codes = target_b.view.shape[0];
    if (scores_b.view.shape[0] != m || m < 1 || k < 1 || out_ids_b.view.shape[0] < k ||
        out_scores_b.view.shape[0] < k) {
        PyErr_SetString(PyExc_ValueError, "rerank_one: inconsistent lengths");
        goto done;
    }
    int need_codes = calibrate || (diversity > 0 && !by_vectors);
    for (Py_ssize_t i = 0; i < m; i++) {
        if (!isfinite(scores0[i])) { /* numpy's path decides what a non-finite score does */
            result = PyLong_FromLong(-1);
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) { /* never read outside an array */
        int64_t item = ids0[i];
        if (item < 0 || (popularity > 0 && item >= n_tail) ||
            (by_vectors && diversity > 0 && item >= n_items_vectors) ||
            (need_codes && item >= n_codes_items) ||
            (need_codes && codes[item] >= n_codes)) {
            PyErr_SetString(PyExc_ValueError, "rerank_one: an item outside the arrays");
            goto done;
        }
    }
    /* work space, one block: doubles, then int64s, then floats, then bytes */
    Py_ssize_t wide = (d > n_codes ? d : n_codes) + 2;
    Py_ssize_t n_doubles = 2 * m + (2 * m + n_codes + 2) + (n_codes + 2) + (n_codes + 2) + wide;
    Py_ssize_t n_longs = 5 * m + 2 * k + 2 * (n_codes + 2);
    block = malloc(n_doubles * 8 + n_longs * 8 + 2 * m * 4 + m + n_codes + 2);
    if (!block) {
        PyErr_NoMemory();
        goto done;
    }
    double *base = (double *)block;
    double *relevance = base + m;
    double *work = relevance + m;          /* greedy_vectors: 2 m + n_codes + 2 */
    double *terms = work + 2 * m + n_codes + 2;
    double *shares = terms + n_codes + 2;
    double *dspare = shares + n_codes + 2; /* the spreads' sums */
    int64_t *order = (int64_t *)(dspare + wide);
    int64_t *spare = order + m, *ids = spare + m, *cand_codes = ids + m, *columns = cand_codes + m;
    int64_t *picked = columns + m, *plain = picked + k;
    int64_t *column_of = plain + k, *column_counts = column_of + n_codes + 2;
    float *near = (float *)(column_counts + n_codes + 2), *scores = near + m;
    unsigned char *closed = (unsigned char *)(scores + m), *listed = closed + m;

    /* relevance: min-max normalised scores, then the popularity mix */
    double low = (double)scores0[m - 1], high = (double)scores0[0];
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
        sort_positions(base, m, order, spare);
        if (!(diversity > 0) && !calibrate) {
            Py_ssize_t n = k < m ? k : m;
            for (Py_ssize_t t = 0; t < n; t++) {
                out_ids[t] = ids0[order[t]];
                out_scores[t] = scores0[order[t]];
            }
            result = PyLong_FromSsize_t(n);
            goto done;
        }
        for (Py_ssize_t i = 0; i < m; i++) spare[i] = order[i];
        for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[order[i]];
        memcpy(base, relevance, m * sizeof(double));
    } else {
        for (Py_ssize_t i = 0; i < m; i++) spare[i] = i;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        ids[i] = ids0[spare[i]];
        scores[i] = scores0[spare[i]];
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
                    result = PyLong_FromLong(-1);
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
            memo = malloc((size_t)(k * (k + 1) * wanted + 1) * sizeof(double));
            if (!memo) {
                PyErr_NoMemory();
                goto done;
            }
            for (Py_ssize_t i = 0; i < k * (k + 1) * wanted; i++) memo[i] = NAN;
            pen.memo = memo;
        }
    }
    double scale = (1.0 - diversity) * (1.0 - cal);
    for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[i] * scale;
    double weight = diversity * (1.0 - cal);
    if (diversity > 0 && by_vectors)
        greedy_vectors(relevance, m, k, weight, vectors, d, ids, &pen, picked, work, near,
                       column_counts);
    else
        greedy_categories(relevance, m, k, weight, cand_codes, n_codes, &pen, picked, closed,
                          listed, column_counts, terms);
    if (diversity > 0) { /* never less diverse than the same list without the dial */
        if (calibrate) {
            double keep = 1.0 - cal;
            for (Py_ssize_t i = 0; i < m; i++) relevance[i] = base[i] * keep;
            greedy_categories(relevance, m, k, 0.0, cand_codes, n_codes, &pen, plain, closed,
                              listed, column_counts, terms);
        } else {
            for (Py_ssize_t t = 0; t < k; t++) plain[t] = t;
        }
        int fewer;
        if (by_vectors)
            fewer = spread_vectors(vectors, d, ids, picked, k, dspare) <
                    spread_vectors(vectors, d, ids, plain, k, dspare) - 1e-6;
        else
            fewer = spread_codes(cand_codes, n_codes, picked, k, dspare) <
                    spread_codes(cand_codes, n_codes, plain, k, dspare) - 1e-6;
        if (fewer) memcpy(picked, plain, k * sizeof(int64_t));
    }
    for (Py_ssize_t t = 0; t < k; t++) {
        out_ids[t] = ids[picked[t]];
        out_scores[t] = scores[picked[t]];
    }
    result = PyLong_FromSsize_t(k);
done:
    free(memo);
    free(block);
    for (size_t b = 0; b < sizeof(all) / sizeof(all[0]); b++)
        if (all[b]->held) PyBuffer_Release(&all[b]->view);
    return result;
}

static PyObject *log1p_each(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Buffer values = {0}, out = {0};
    PyObject *result = NULL;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "log1p_each takes 2 arguments");
        return NULL;
    }
    if (take(args[0], &values, 'd', 8, 1, 0, "values") == 0 &&
        take(args[1], &out, 'd', 8, 1, 1, "out") == 0 &&
        out.view.shape[0] >= values.view.shape[0]) {
        const double *v = values.view.buf;
        double *o = out.view.buf;
        for (Py_ssize_t i = 0; i < values.view.shape[0]; i++) o[i] = log1p(v[i]);
        result = Py_NewRef(Py_None);
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "log1p_each: out too short");
    }
    if (values.held) PyBuffer_Release(&values.view);
    if (out.held) PyBuffer_Release(&out.view);
    return result;
}

static PyMethodDef methods[] = {
    {"rerank_one", (PyCFunction)(void (*)(void))rerank_one, METH_FASTCALL,
     "One user's list re-ranked (see the module's source); returns how many were written."},
    {"log1p_each", (PyCFunction)(void (*)(void))log1p_each, METH_FASTCALL,
     "log1p of each value into out (the import-time check against numpy)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "recsys_rerank_native",
                                    "One user's re-ranking in C.", -1, methods,
                                    NULL, NULL, NULL, NULL};

/* Raised whenever the arithmetic changes, so a module built from older source is not used */
#define KERNEL_VERSION 1

PyMODINIT_FUNC PyInit_recsys_rerank_native(void) {
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) cosines = cosines_avx2;
#endif
    PyObject *created = PyModule_Create(&module);
    if (created && PyModule_AddIntConstant(created, "KERNEL_VERSION", KERNEL_VERSION) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
