/*
 * The word2vec inner loop (skip-gram or CBOW with negative sampling over fixed-size bags) for WebAssembly with
 * 128-bit SIMD: the same algorithm, random stream and decisions as src/word2vec-kernel.ts, with the vector
 * arithmetic done four floats at a time in single precision. Built by native/build-word2vec.sh into
 * src/word2vec.wasm; loaded by src/word2vec-wasm.ts.
 *
 * Every instance (one per worker thread) shares one linear memory, so this file keeps no state of its own: no
 * globals, no static data, nothing on the shadow stack (whose pointer every instance would start at the same
 * address). All state lives in the caller-owned Ctx and scratch arrays, one set per thread. The tables are
 * updated without locks (Hogwild), as in the original word2vec.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define MAX_EXP 6.0f
#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* One thread's view of the job; w2v_train writes it at the start of the thread's scratch. */
typedef struct {
  const uint32_t *tokens;
  const float *keep;
  const float *noise_prob;
  const uint32_t *noise_alias;
  float *syn0;
  float *syn1;
  uint32_t *sentence;
  float *neu1;
  float *neu1e;
  uint32_t *targets;
  float *scores;
  uint32_t bag_size;
  uint32_t vocab;
  uint32_t dim;
  uint32_t window;
  uint32_t negative;
  uint32_t rnd;
  double pairs;
} Ctx;

static inline uint32_t xorshift32(uint32_t r) {
  r ^= r << 13;
  r ^= r >> 17;
  r ^= r << 5;
  return r;
}

/* A uniform draw in [0, 1) exactly as the typed-array kernel makes it: (rnd >>> 0) / 2^32 in double. */
static inline double unit(uint32_t r) { return (double)r / 4294967296.0; }

/*
 * e^x for |x| <= MAX_EXP to within a few float ulps (Cody-Waite reduction by ln 2, degree-6 Taylor polynomial
 * on |r| <= ln2/2). No libm here, and a table (gensim's choice) would change the kernel's sigmoid.
 */
static inline float exp_small(float x) {
  const float n = __builtin_rintf(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  union {
    uint32_t u;
    float f;
  } scale = {.u = (uint32_t)((int32_t)n + 127) << 23};
  return p * scale.f;
}

static inline float sigmoid(float f) {
  return f > MAX_EXP ? 1.0f : f < -MAX_EXP ? 0.0f : 1.0f / (1.0f + exp_small(-f));
}

static inline float dot(const float *a, const float *b, uint32_t dim) {
  v128_t s0 = wasm_f32x4_splat(0.0f);
  v128_t s1 = wasm_f32x4_splat(0.0f);
  uint32_t x = 0;
  for (; x + 8 <= dim; x += 8) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + x), wasm_v128_load(b + x)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + x + 4), wasm_v128_load(b + x + 4)));
  }
  for (; x + 4 <= dim; x += 4) s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + x), wasm_v128_load(b + x)));
  s0 = wasm_f32x4_add(s0, s1);
  s0 = wasm_f32x4_add(s0, wasm_i32x4_shuffle(s0, s0, 2, 3, 0, 1));
  s0 = wasm_f32x4_add(s0, wasm_i32x4_shuffle(s0, s0, 1, 0, 3, 2));
  float f = wasm_f32x4_extract_lane(s0, 0);
  for (; x < dim; x++) f += a[x] * b[x];
  return f;
}

/* acc += g·out; out += g·in: one target's update, fused so each row is read once. */
static inline void update_target(float *restrict acc, float *restrict out, const float *restrict in, float g,
                                 uint32_t dim) {
  const v128_t gv = wasm_f32x4_splat(g);
  uint32_t x = 0;
  for (; x + 4 <= dim; x += 4) {
    const v128_t o = wasm_v128_load(out + x);
    wasm_v128_store(acc + x, wasm_f32x4_add(wasm_v128_load(acc + x), wasm_f32x4_mul(gv, o)));
    wasm_v128_store(out + x, wasm_f32x4_add(o, wasm_f32x4_mul(gv, wasm_v128_load(in + x))));
  }
  for (; x < dim; x++) {
    const float o = out[x];
    acc[x] += g * o;
    out[x] = o + g * in[x];
  }
}

static inline void add_to(float *restrict dst, const float *restrict src, uint32_t dim) {
  uint32_t x = 0;
  for (; x + 4 <= dim; x += 4) wasm_v128_store(dst + x, wasm_f32x4_add(wasm_v128_load(dst + x), wasm_v128_load(src + x)));
  for (; x < dim; x++) dst[x] += src[x];
}

static inline void scale(float *v, float s, uint32_t dim) {
  const v128_t sv = wasm_f32x4_splat(s);
  uint32_t x = 0;
  for (; x + 4 <= dim; x += 4) wasm_v128_store(v + x, wasm_f32x4_mul(wasm_v128_load(v + x), sv));
  for (; x < dim; x++) v[x] *= s;
}

static inline void zero(float *v, uint32_t dim) {
  uint32_t x = 0;
  for (; x + 4 <= dim; x += 4) wasm_v128_store(v + x, wasm_f32x4_splat(0.0f));
  for (; x < dim; x++) v[x] = 0.0f;
}

/*
 * Draw the word's targets: itself, then `negative` noise words (a draw equal to the word is dropped, as in
 * word2vec). Returns how many. Drawn before any is trained, in the same order, so the random stream is unchanged.
 */
static inline uint32_t draw_targets(const Ctx *c, uint32_t word, uint32_t *rnd) {
  uint32_t *targets = c->targets;
  uint32_t n = 0;
  targets[n++] = word;
  uint32_t r = *rnd;
  for (uint32_t d = 0; d < c->negative; d++) {
    r = xorshift32(r);
    const double u = unit(r) * (double)c->vocab;
    const uint32_t b = (uint32_t)u;
    const uint32_t target = u - (double)b < (double)c->noise_prob[b] ? b : c->noise_alias[b];
    if (target != word) targets[n++] = target;
  }
  *rnd = r;
  return n;
}

/*
 * Train `in` (a context row, or CBOW's mean) against the n targets: neu1e gathers the input's gradient. All
 * scores are taken first so that their dependency chains overlap; a target drawn twice is scored again after
 * its first update, which keeps the result that of training the targets one after the other.
 */
static inline void train_targets(const Ctx *c, const float *in, uint32_t n, float alpha) {
  const uint32_t dim = c->dim;
  const uint32_t *targets = c->targets;
  float *scores = c->scores;
  for (uint32_t d = 0; d < n; d++) scores[d] = dot(in, c->syn1 + targets[d] * dim, dim);
  for (uint32_t d = 0; d < n; d++) {
    float *l2 = c->syn1 + targets[d] * dim;
    float f = scores[d];
    for (uint32_t e = 0; e < d; e++) {
      if (targets[e] == targets[d]) {
        f = dot(in, l2, dim);
        break;
      }
    }
    const float g = ((d == 0 ? 1.0f : 0.0f) - sigmoid(f)) * alpha;
    update_target(c->neu1e, l2, in, g, dim);
  }
}

/*
 * One bag. Not inlined on purpose: V8 moves a wasm function to optimised code only between calls, so the hot
 * loop must sit in a function that is called many times, not in the one long-running export.
 */
__attribute__((noinline)) static void train_bag(Ctx *c, uint32_t bag, float alpha, int skip_gram) {
  const uint32_t dim = c->dim;
  const uint32_t *tokens = c->tokens + bag * c->bag_size;
  uint32_t *sentence = c->sentence;
  float *syn0 = c->syn0;
  float *neu1 = c->neu1;
  float *neu1e = c->neu1e;
  uint32_t rnd = c->rnd;
  uint32_t len = 0;
  for (uint32_t t = 0; t < c->bag_size; t++) {
    const uint32_t tok = tokens[t];
    const float k = c->keep[tok];
    if (k < 1.0f) {
      rnd = xorshift32(rnd);
      if ((double)k < unit(rnd)) continue;
    }
    sentence[len++] = tok;
  }
  double pairs = 0;
  for (uint32_t pos = 0; pos < len; pos++) {
    const uint32_t word = sentence[pos];
    rnd = xorshift32(rnd);
    // word2vec's shrunk window: uniform in [1, window].
    const uint32_t reach = c->window - (uint32_t)(unit(rnd) * (double)c->window);
    const uint32_t lo = pos > reach ? pos - reach : 0;
    const uint32_t hi = pos + reach < len - 1 ? pos + reach : len - 1;
    if (skip_gram) {
      for (uint32_t ctx = lo; ctx <= hi; ctx++) {
        if (ctx == pos) continue;
        float *l1 = syn0 + sentence[ctx] * dim;
        zero(neu1e, dim);
        train_targets(c, l1, draw_targets(c, word, &rnd), alpha);
        add_to(l1, neu1e, dim);
        pairs++;
      }
    } else {
      zero(neu1, dim);
      zero(neu1e, dim);
      uint32_t cw = 0;
      for (uint32_t ctx = lo; ctx <= hi; ctx++) {
        if (ctx == pos) continue;
        add_to(neu1, syn0 + sentence[ctx] * dim, dim);
        cw++;
      }
      if (cw == 0) continue;
      scale(neu1, 1.0f / (float)cw, dim);
      train_targets(c, neu1, draw_targets(c, word, &rnd), alpha);
      for (uint32_t ctx = lo; ctx <= hi; ctx++) {
        if (ctx == pos) continue;
        add_to(syn0 + sentence[ctx] * dim, neu1e, dim);
      }
      pairs += cw;
    }
  }
  c->rnd = rnd;
  c->pairs += pairs;
}

static inline uint32_t align16(uint32_t bytes) { return (bytes + 15u) & ~15u; }

/*
 * Bytes of one thread's private scratch: its Ctx, the subsampled bag, neu1 and neu1e, the drawn targets and their
 * scores. The caller reserves this much per thread (16-byte aligned) and hands it to w2v_train.
 */
EXPORT("w2v_scratch_bytes")
uint32_t w2v_scratch_bytes(uint32_t bag_size, uint32_t dim, uint32_t negative) {
  return align16(sizeof(Ctx)) + align16(bag_size * 4) + 2 * align16(dim * 4) + 2 * align16((negative + 1) * 4);
}

/*
 * Train on bags [first_bag, end_bag) for `epochs` passes, the learning rate decayed linearly over this range's
 * own work (as in the typed-array kernel). `scratch` is this thread's w2v_scratch_bytes. Returns the number of
 * (context, target) pairs trained.
 */
EXPORT("w2v_train")
double w2v_train(uint8_t *scratch, const uint32_t *tokens, uint32_t bag_size, const float *keep,
                 const float *noise_prob, const uint32_t *noise_alias, uint32_t vocab, float *syn0, float *syn1,
                 uint32_t dim, uint32_t window, uint32_t negative, uint32_t skip_gram, uint32_t epochs, double alpha,
                 double min_alpha, uint32_t first_bag, uint32_t end_bag, uint32_t seed) {
  Ctx *ctx = (Ctx *)scratch;
  uint8_t *at = scratch + align16(sizeof(Ctx));
  ctx->sentence = (uint32_t *)at;
  at += align16(bag_size * 4);
  ctx->neu1 = (float *)at;
  at += align16(dim * 4);
  ctx->neu1e = (float *)at;
  at += align16(dim * 4);
  ctx->targets = (uint32_t *)at;
  at += align16((negative + 1) * 4);
  ctx->scores = (float *)at;
  ctx->tokens = tokens;
  ctx->keep = keep;
  ctx->noise_prob = noise_prob;
  ctx->noise_alias = noise_alias;
  ctx->syn0 = syn0;
  ctx->syn1 = syn1;
  ctx->bag_size = bag_size;
  ctx->vocab = vocab;
  ctx->dim = dim;
  ctx->window = window;
  ctx->negative = negative;
  ctx->rnd = seed ? seed : 0x2545f491u;
  ctx->pairs = 0;
  const double total = (double)(end_bag - first_bag) * (double)epochs;
  double done = 0;
  for (uint32_t epoch = 0; epoch < epochs; epoch++) {
    for (uint32_t bag = first_bag; bag < end_bag; bag++, done++) {
      const double a = alpha - (alpha - min_alpha) * (done / total);
      train_bag(ctx, bag, (float)(a > min_alpha ? a : min_alpha), skip_gram != 0);
    }
  }
  return ctx->pairs;
}
