// The attack step's matrix products and nothing else, in C, through the machine's OpenBLAS: the rate those products
// reach at the step's shapes when no .NET, libtorch or elementwise pass shares the process. bench/run.sh runs it (when
// a C compiler is present) beside the C# rows; report.py prints it with the goals.
//
//   step_products WIDTHS M STEPS [LABEL]      e.g. step_products 784-1000-1000-1 1000 5 reference
//
// The products are AttackGradient.Stationarity's (lib/NoPrior/Attack/AttackGradient.cs), in its order, with its
// layouts (which operand is read transposed), its α and β, and its buffers reused from step to step:
//   forward     h_k = a_k W_kᵀ                          k = 0 … L−2
//   signals     u_k = δ_{k+1} W_{k+1}                   k = L−3 … 0
//   residuals   R_k = W_k − D_kᵀ a_k (β = 1, α = −1)    k = 0 … L−1
//   ∂L/∂D       gD_k = a_k R_kᵀ                          k = 0 … L−1
//   through δ   gδ_{k+1} += t_k W_{k+1}ᵀ                 k = 0 … L−3
//   ∂L/∂a       gA_{L−1} = D_{L−1} R_{L−1}; then for k = L−1 … 0: gA += gH_k W_k (k < L−1), gA_{k−1} = D_{k−1} R_{k−1}
// The operands hold uniform values in [−0.5, 0.5) (OpenBLAS's speed does not depend on them). Two untimed steps first,
// as in the C# bench. Output: one JSON line like the C# bench's, "times_ms" the products' time per step.
// OpenBLAS is loaded at run time (dlopen "libopenblas.so.0", as lib/NoPrior/LinearAlgebra/OpenBlas.cs does), so
// building needs no OpenBLAS headers: cc -O2 bench/step_products.c -o step_products -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RowMajor = 101, N = 111, T = 112 };
typedef void (*dgemm_t)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);
static dgemm_t dgemm;

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static unsigned long long rng = 88172645463325252ULL;  // xorshift64, fixed seed: the same operands every run
static double *matrix(long rows, long cols)
{
    double *p = aligned_alloc(64, ((size_t)(rows * cols) * sizeof(double) + 63) / 64 * 64);
    if (!p) { fprintf(stderr, "step_products: out of memory (%ld × %ld)\n", rows, cols); exit(1); }
    for (long i = 0; i < rows * cols; i++) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; p[i] = (double)(rng >> 11) / 9007199254740992.0 - 0.5; }
    return p;
}

// C[M×Nc] = α op(A) op(B) + β C, row-major; op(A) is M×K, op(B) K×Nc; lda/ldb are the stored matrices' row lengths.
static void gemm(int ta, int tb, int m, int n, int k, double alpha, const double *a, const double *b, double beta, double *c)
{
    int lda = ta == N ? k : m, ldb = tb == N ? n : k;
    dgemm(RowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: step_products WIDTHS M STEPS [LABEL]   (e.g. 784-1000-1000-1 1000 5 reference)\n"); return 2; }
    int widths[16], layers = 0;
    for (char *s = argv[1], *end; *s; s = *end ? end + 1 : end)
    {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || layers == 16 || (*end && *end != '-')) { fprintf(stderr, "step_products: widths like 784-1000-1000-1, got '%s'\n", argv[1]); return 2; }
        widths[layers++] = (int)v;
    }
    int L = layers - 1, m = atoi(argv[2]), steps = atoi(argv[3]);
    if (L < 1 || m < 1 || steps < 1) { fprintf(stderr, "step_products: need two widths or more, M ≥ 1 and STEPS ≥ 1\n"); return 2; }
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW);
    if (!lib || !(dgemm = (dgemm_t)dlsym(lib, "cblas_dgemm"))) { fprintf(stderr, "step_products: no libopenblas.so.0 with cblas_dgemm (%s)\n", dlerror()); return 1; }
    void (*threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    const char *t = getenv("STEP_PRODUCTS_THREADS");
    if (threads && t) threads(atoi(t));

    // Layer k maps In(k) = widths[k] to Out(k) = widths[k+1]; W_k is Out(k) × In(k).
#define In(k) widths[k]
#define Out(k) widths[(k) + 1]
    double *W[16], *a[16], *D[16], *R[16], *gD[16], *u[16], *tk[16], *gA[16];
    for (int k = 0; k < L; k++)
    {
        W[k] = matrix(Out(k), In(k)); a[k] = matrix(m, In(k)); D[k] = matrix(m, Out(k)); R[k] = matrix(Out(k), In(k));
        gD[k] = matrix(m, Out(k)); u[k] = matrix(m, Out(k)); tk[k] = matrix(m, Out(k)); gA[k] = matrix(m, In(k));
    }
    printf("{\"impl\": \"c-openblas\", \"kind\": \"products\", \"setting\": \"%s\", \"widths\": \"%s\", \"m\": %d, \"path\": \"-\", \"dtype\": \"float64\", \"times_ms\": [",
           argc == 5 ? argv[4] : argv[1], argv[1], m);
    for (int s = 0; s < steps + 2; s++)
    {
        double start = now_ms();
        for (int k = 0; k + 1 < L; k++) gemm(N, T, m, Out(k), In(k), 1, a[k], W[k], 0, a[k + 1]);
        for (int k = L - 3; k >= 0; k--) gemm(N, N, m, Out(k), Out(k + 1), 1, D[k + 1], W[k + 1], 0, u[k]);
        for (int k = 0; k < L; k++) gemm(T, N, Out(k), In(k), m, -1, D[k], a[k], 1, R[k]);
        for (int k = 0; k < L; k++) gemm(N, T, m, Out(k), In(k), 1, a[k], R[k], 0, gD[k]);
        for (int k = 0; k + 2 < L; k++) gemm(N, T, m, Out(k + 1), In(k + 1), 1, tk[k], W[k + 1], 1, gD[k + 1]);
        gemm(N, N, m, In(L - 1), Out(L - 1), 1, D[L - 1], R[L - 1], 0, gA[L - 1]);
        for (int k = L - 1; k >= 0; k--)
        {
            if (k < L - 1) gemm(N, N, m, In(k), Out(k), 1, gD[k], W[k], 1, gA[k]);
            if (k == 0) break;
            gemm(N, N, m, In(k - 1), Out(k - 1), 1, D[k - 1], R[k - 1], 0, gA[k - 1]);
        }
        if (s >= 2) printf("%s%.4f", s > 2 ? ", " : "", now_ms() - start);
        // Keep R bounded: the residual products accumulate into it every step.
        for (int k = 0; k < L; k++) memcpy(R[k], W[k], sizeof(double) * Out(k) * In(k));
    }
    printf("]}\n");
    return 0;
}
