/*
 * The parts of a tower training step that run outside the tensor backend, for WebAssembly with 128-bit SIMD:
 * gathering the batch's embedding rows, drawing the dropout masks and the lazy (sparse) Adam update of the
 * embedding rows a batch touched. In JavaScript they were a quarter of a step on tfjs-node. Built by
 * native/build.sh into src/tower.wasm; loaded by src/tower-wasm.ts, which owns the memory and its layout.
 *
 * No globals, no static data, no shadow stack: every array is the caller's, passed by address.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* out[s] = user_table[users[s]] ++ item_table[items[s]], rows of dim floats. */
EXPORT("tower_gather")
void tower_gather(float *out, const uint32_t *users, const uint32_t *items, uint32_t batch, const float *user_table,
                  const float *item_table, uint32_t dim) {
  const uint32_t vec = dim & ~3u;
  for (uint32_t s = 0; s < batch; s++) {
    const float *u = user_table + (uint64_t)users[s] * dim;
    const float *i = item_table + (uint64_t)items[s] * dim;
    float *o = out + (uint64_t)s * 2 * dim;
    uint32_t x = 0;
    for (; x < vec; x += 4) {
      wasm_v128_store(o + x, wasm_v128_load(u + x));
      wasm_v128_store(o + dim + x, wasm_v128_load(i + x));
    }
    for (; x < dim; x++) {
      o[x] = u[x];
      o[dim + x] = i[x];
    }
  }
}

/* One step of xorshift32 on four independent lanes. */
static inline v128_t xorshift32x4(v128_t r) {
  r = wasm_v128_xor(r, wasm_i32x4_shl(r, 13));
  r = wasm_v128_xor(r, wasm_u32x4_shr(r, 17));
  return wasm_v128_xor(r, wasm_i32x4_shl(r, 5));
}

/* A lane's start from the seed: splitmix32-style mixing, never 0 (xorshift's fixed point). */
static inline uint32_t lane_seed(uint32_t seed, uint32_t lane) {
  uint32_t z = seed + 0x9e3779b9u * (lane + 1);
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  z ^= z >> 16;
  return z ? z : 1;
}

/*
 * mask[0, size) = scale where a 16-bit draw is below threshold (keep·65536), else 0: inverted dropout. Four
 * xorshift32 lanes, each draw giving two 16-bit numbers, so eight mask entries per step of the generators;
 * size is rounded up to a multiple of 8 (the caller leaves room).
 */
EXPORT("tower_dropout_mask")
void tower_dropout_mask(float *mask, uint32_t size, uint32_t threshold, float scale, uint32_t seed) {
  v128_t state = wasm_u32x4_make(lane_seed(seed, 0), lane_seed(seed, 1), lane_seed(seed, 2), lane_seed(seed, 3));
  const v128_t limit = wasm_u32x4_splat(threshold);
  const v128_t low16 = wasm_u32x4_splat(0xffffu);
  const v128_t kept = wasm_f32x4_splat(scale);
  for (uint32_t k = 0; k < size; k += 8) {
    state = xorshift32x4(state);
    const v128_t low = wasm_v128_and(state, low16);
    const v128_t high = wasm_u32x4_shr(state, 16);
    wasm_v128_store(mask + k, wasm_v128_and(wasm_u32x4_lt(low, limit), kept));
    wasm_v128_store(mask + k + 4, wasm_v128_and(wasm_u32x4_lt(high, limit), kept));
  }
}

/*
 * Lazy Adam on the rows of one embedding table a batch touched. The gradient of sample s is
 * gradient[s·width + column, + dim); samples of the same row are summed first (acc), then each touched row gets
 * one Adam update: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², w −= lr·c1·m / (√(c2·v) + ε), where c1 and c2
 * are the bias corrections of step t. stamp[row] == t marks a row already seen in this step; touched collects
 * them. Returns the number of rows updated.
 */
EXPORT("tower_embedding_adam")
uint32_t tower_embedding_adam(float *table, float *m, float *v, float *acc, int32_t *stamp, uint32_t *touched,
                              const uint32_t *rows, uint32_t batch, const float *gradient, uint32_t width,
                              uint32_t column, uint32_t dim, int32_t t, float lr, float c1, float c2, float beta1,
                              float beta2, float epsilon) {
  const uint32_t vec = dim & ~3u;
  uint32_t n = 0;
  for (uint32_t s = 0; s < batch; s++) {
    const uint32_t r = rows[s];
    float *a = acc + (uint64_t)r * dim;
    const float *g = gradient + (uint64_t)s * width + column;
    if (stamp[r] != t) {
      stamp[r] = t;
      touched[n++] = r;
      uint32_t x = 0;
      for (; x < vec; x += 4) wasm_v128_store(a + x, wasm_v128_load(g + x));
      for (; x < dim; x++) a[x] = g[x];
    } else {
      uint32_t x = 0;
      for (; x < vec; x += 4) wasm_v128_store(a + x, wasm_f32x4_add(wasm_v128_load(a + x), wasm_v128_load(g + x)));
      for (; x < dim; x++) a[x] += g[x];
    }
  }
  const v128_t b1 = wasm_f32x4_splat(beta1), b1c = wasm_f32x4_splat(1.0f - beta1);
  const v128_t b2 = wasm_f32x4_splat(beta2), b2c = wasm_f32x4_splat(1.0f - beta2);
  const v128_t step = wasm_f32x4_splat(lr * c1), correction = wasm_f32x4_splat(c2), eps = wasm_f32x4_splat(epsilon);
  const float stepS = lr * c1;
  for (uint32_t k = 0; k < n; k++) {
    const uint64_t at = (uint64_t)touched[k] * dim;
    float *w = table + at, *mm = m + at, *vv = v + at;
    const float *g = acc + at;
    uint32_t x = 0;
    for (; x < vec; x += 4) {
      const v128_t gx = wasm_v128_load(g + x);
      const v128_t first = wasm_f32x4_add(wasm_f32x4_mul(b1, wasm_v128_load(mm + x)), wasm_f32x4_mul(b1c, gx));
      const v128_t second =
          wasm_f32x4_add(wasm_f32x4_mul(b2, wasm_v128_load(vv + x)), wasm_f32x4_mul(b2c, wasm_f32x4_mul(gx, gx)));
      wasm_v128_store(mm + x, first);
      wasm_v128_store(vv + x, second);
      const v128_t denominator = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(second, correction)), eps);
      wasm_v128_store(w + x, wasm_f32x4_sub(wasm_v128_load(w + x), wasm_f32x4_div(wasm_f32x4_mul(step, first), denominator)));
    }
    for (; x < dim; x++) {
      const float first = beta1 * mm[x] + (1.0f - beta1) * g[x];
      const float second = beta2 * vv[x] + (1.0f - beta2) * g[x] * g[x];
      mm[x] = first;
      vv[x] = second;
      w[x] -= stepS * first / (__builtin_sqrtf(second * c2) + epsilon);
    }
  }
  return n;
}

/* The tower's output layer, a width → 1 dense layer: logits[s] = h[s]·w + bias. */
EXPORT("tower_output_forward")
void tower_output_forward(const float *h, uint32_t batch, uint32_t width, const float *w, float bias, float *logits) {
  const uint32_t vec = width & ~3u;
  for (uint32_t s = 0; s < batch; s++) {
    const float *row = h + (uint64_t)s * width;
    v128_t sum = wasm_f32x4_splat(0.0f);
    uint32_t x = 0;
    for (; x < vec; x += 4) sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(row + x), wasm_v128_load(w + x)));
    float total = wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) + wasm_f32x4_extract_lane(sum, 2) +
                  wasm_f32x4_extract_lane(sum, 3);
    for (; x < width; x++) total += row[x] * w[x];
    logits[s] = total + bias;
  }
}

/*
 * x = max(x, 0) · mask in place (mask may be 0: ReLU alone): the last hidden layer's ReLU and dropout, so that its
 * output is already here for the output layer.
 */
EXPORT("tower_relu_mask")
void tower_relu_mask(float *x, const float *mask, uint32_t n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  uint32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    v128_t v = wasm_f32x4_max(wasm_v128_load(x + k), zero);
    if (mask) v = wasm_f32x4_mul(v, wasm_v128_load(mask + k));
    wasm_v128_store(x + k, v);
  }
  for (; k < n; k++) {
    const float v = x[k] > 0.0f ? x[k] : 0.0f;
    x[k] = mask ? v * mask[k] : v;
  }
}

/*
 * Its backward pass from dL/dlogits: grad_w = hᵀ·dlogits, and dh = dlogits·(scale·w)ᵀ, the gradient at the
 * layer's input times `scale` (1/keep when dropout feeds it). With `relu` set, h is the output of tower_relu_mask
 * and dh is taken on through it: kept where h > 0 (ReLU and dropout alike), else 0.
 */
EXPORT("tower_output_backward")
void tower_output_backward(const float *h, const float *dlogits, uint32_t batch, uint32_t width, const float *w,
                           float scale, uint32_t relu, float *grad_w, float *dh) {
  const uint32_t vec = width & ~3u;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (uint32_t x = 0; x < width; x++) grad_w[x] = 0.0f;
  for (uint32_t s = 0; s < batch; s++) {
    const float *row = h + (uint64_t)s * width;
    float *out = dh + (uint64_t)s * width;
    const float g = dlogits[s];
    const v128_t gv = wasm_f32x4_splat(g), scaled = wasm_f32x4_splat(g * scale);
    uint32_t x = 0;
    for (; x < vec; x += 4) {
      const v128_t hx = wasm_v128_load(row + x);
      wasm_v128_store(grad_w + x, wasm_f32x4_add(wasm_v128_load(grad_w + x), wasm_f32x4_mul(hx, gv)));
      v128_t d = wasm_f32x4_mul(wasm_v128_load(w + x), scaled);
      if (relu) d = wasm_v128_and(d, wasm_f32x4_gt(hx, zero));
      wasm_v128_store(out + x, d);
    }
    for (; x < width; x++) {
      grad_w[x] += row[x] * g;
      out[x] = relu && !(row[x] > 0.0f) ? 0.0f : w[x] * g * scale;
    }
  }
}
