// gpu.h -- minimal CUDA device header for fixture generation.
// We compile with -nocudainc -nocudalib, so everything a kernel needs is
// defined here directly on top of clang's NVVM builtins.
#pragma once

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))

typedef unsigned int uint;

// ---- built-in index variables (same trick as clang's own header) ----------
#define GPU_BUILTIN_VAR(Type, Name, Reg)                                       \
  struct Type {                                                                \
    static __device__ __forceinline__ uint __fetch_builtin_x() {               \
      return __nvvm_read_ptx_sreg_##Reg##_x();                                 \
    }                                                                          \
    static __device__ __forceinline__ uint __fetch_builtin_y() {               \
      return __nvvm_read_ptx_sreg_##Reg##_y();                                 \
    }                                                                          \
    static __device__ __forceinline__ uint __fetch_builtin_z() {               \
      return __nvvm_read_ptx_sreg_##Reg##_z();                                 \
    }                                                                          \
    __declspec(property(get = __fetch_builtin_x)) uint x;                      \
    __declspec(property(get = __fetch_builtin_y)) uint y;                      \
    __declspec(property(get = __fetch_builtin_z)) uint z;                      \
  };                                                                           \
  extern const __device__ Type Name;

GPU_BUILTIN_VAR(__gpu_threadIdx_t, threadIdx, tid)
GPU_BUILTIN_VAR(__gpu_blockIdx_t, blockIdx, ctaid)
GPU_BUILTIN_VAR(__gpu_blockDim_t, blockDim, ntid)
GPU_BUILTIN_VAR(__gpu_gridDim_t, gridDim, nctaid)

#define warpSize 32
static __device__ __forceinline__ uint lane_id() {
  return __nvvm_read_ptx_sreg_laneid();
}

// ---- barriers ---------------------------------------------------------------
// __syncthreads() is a clang builtin in CUDA mode (lowers to the NVVM CTA
// barrier); __bar_sync(n) exposes the numbered-barrier form.
static __device__ __forceinline__ void __bar_sync(int n) { __nvvm_bar_sync(n); }
static __device__ __forceinline__ void __threadfence_block() {
  __nvvm_membar_cta();
}
static __device__ __forceinline__ void __threadfence() { __nvvm_membar_gl(); }

// ---- warp shuffles and votes ----------------------------------------------
#define FULL_MASK 0xffffffffu
static __device__ __forceinline__ int __shfl_down_sync(uint m, int v, uint d) {
  return __nvvm_shfl_sync_down_i32(m, v, d, 0x1f);
}
static __device__ __forceinline__ float __shfl_down_sync(uint m, float v,
                                                         uint d) {
  return __nvvm_shfl_sync_down_f32(m, v, d, 0x1f);
}
static __device__ __forceinline__ int __shfl_up_sync(uint m, int v, uint d) {
  return __nvvm_shfl_sync_up_i32(m, v, d, 0);
}
static __device__ __forceinline__ int __shfl_sync(uint m, int v, int src) {
  return __nvvm_shfl_sync_idx_i32(m, v, src, 0x1f);
}
static __device__ __forceinline__ float __shfl_sync(uint m, float v, int src) {
  return __nvvm_shfl_sync_idx_f32(m, v, src, 0x1f);
}
static __device__ __forceinline__ float __shfl_xor_sync(uint m, float v,
                                                        int lm) {
  return __nvvm_shfl_sync_bfly_f32(m, v, lm, 0x1f);
}
static __device__ __forceinline__ int __shfl_xor_sync(uint m, int v, int lm) {
  return __nvvm_shfl_sync_bfly_i32(m, v, lm, 0x1f);
}
static __device__ __forceinline__ uint __ballot_sync(uint m, int p) {
  return __nvvm_vote_ballot_sync(m, p);
}
static __device__ __forceinline__ int __any_sync(uint m, int p) {
  return __nvvm_vote_any_sync(m, p);
}
static __device__ __forceinline__ int __all_sync(uint m, int p) {
  return __nvvm_vote_all_sync(m, p);
}

// ---- atomics ------------------------------------------------------------------
static __device__ __forceinline__ int atomicAdd(int *p, int v) {
  return __nvvm_atom_add_gen_i(p, v);
}
static __device__ __forceinline__ uint atomicAdd(uint *p, uint v) {
  return __nvvm_atom_add_gen_i((int *)p, (int)v);
}
static __device__ __forceinline__ float atomicAdd(float *p, float v) {
  return __nvvm_atom_add_gen_f(p, v);
}
static __device__ __forceinline__ int atomicSub(int *p, int v) {
  return __nvvm_atom_add_gen_i(p, -v);
}
static __device__ __forceinline__ int atomicExch(int *p, int v) {
  return __nvvm_atom_xchg_gen_i(p, v);
}
static __device__ __forceinline__ int atomicMin(int *p, int v) {
  return __nvvm_atom_min_gen_i(p, v);
}
static __device__ __forceinline__ int atomicMax(int *p, int v) {
  return __nvvm_atom_max_gen_i(p, v);
}
static __device__ __forceinline__ uint atomicMin(uint *p, uint v) {
  return __nvvm_atom_min_gen_ui(p, v);
}
static __device__ __forceinline__ uint atomicMax(uint *p, uint v) {
  return __nvvm_atom_max_gen_ui(p, v);
}
static __device__ __forceinline__ int atomicAnd(int *p, int v) {
  return __nvvm_atom_and_gen_i(p, v);
}
static __device__ __forceinline__ int atomicOr(int *p, int v) {
  return __nvvm_atom_or_gen_i(p, v);
}
static __device__ __forceinline__ int atomicXor(int *p, int v) {
  return __nvvm_atom_xor_gen_i(p, v);
}
static __device__ __forceinline__ int atomicCAS(int *p, int cmp, int v) {
  return __nvvm_atom_cas_gen_i(p, cmp, v);
}
static __device__ __forceinline__ uint atomicInc(uint *p, uint v) {
  return __nvvm_atom_inc_gen_ui(p, v);
}
// A C11-style atomic through the generic clang builtin (emits plain atomicrmw).
static __device__ __forceinline__ uint atomicAnd(uint *p, uint v) {
  return __atomic_fetch_and(p, v, __ATOMIC_RELAXED);
}

// ---- libdevice-style math (resolved by libdevice on real NVIDIA builds) ------
extern "C" {
__device__ float __nv_sinf(float);
__device__ float __nv_cosf(float);
__device__ float __nv_expf(float);
__device__ float __nv_logf(float);
__device__ float __nv_sqrtf(float);
__device__ float __nv_powf(float, float);
__device__ float __nv_fabsf(float);
__device__ float __nv_floorf(float);
__device__ float __nv_rsqrtf(float);
__device__ float __nv_tanhf(float);
__device__ float __nv_exp2f(float);
__device__ float __nv_fmaf(float, float, float);
__device__ float __nv_fminf(float, float);
__device__ float __nv_fmaxf(float, float);
__device__ double __nv_sin(double);
}
static __device__ __forceinline__ float sinf(float x) { return __nv_sinf(x); }
static __device__ __forceinline__ float cosf(float x) { return __nv_cosf(x); }
static __device__ __forceinline__ float expf(float x) { return __nv_expf(x); }
static __device__ __forceinline__ float logf(float x) { return __nv_logf(x); }
static __device__ __forceinline__ float sqrtf(float x) { return __nv_sqrtf(x); }
static __device__ __forceinline__ float powf(float x, float y) {
  return __nv_powf(x, y);
}
static __device__ __forceinline__ float fabsf(float x) { return __nv_fabsf(x); }
static __device__ __forceinline__ float floorf(float x) {
  return __nv_floorf(x);
}
static __device__ __forceinline__ float rsqrtf(float x) {
  return __nv_rsqrtf(x);
}
static __device__ __forceinline__ float tanhf(float x) { return __nv_tanhf(x); }
static __device__ __forceinline__ float exp2f(float x) { return __nv_exp2f(x); }
static __device__ __forceinline__ float fmaf(float a, float b, float c) {
  return __nv_fmaf(a, b, c);
}
static __device__ __forceinline__ float fminf(float a, float b) {
  return __nv_fminf(a, b);
}
static __device__ __forceinline__ float fmaxf(float a, float b) {
  return __nv_fmaxf(a, b);
}

// ---- bit casts ----------------------------------------------------------------
static __device__ __forceinline__ float __int_as_float(int x) {
  return __builtin_bit_cast(float, x);
}
static __device__ __forceinline__ int __float_as_int(float x) {
  return __builtin_bit_cast(int, x);
}

// ---- small vector types -------------------------------------------------------
typedef float float4 __attribute__((ext_vector_type(4)));
typedef float float2 __attribute__((ext_vector_type(2)));
typedef int int4 __attribute__((ext_vector_type(4)));
