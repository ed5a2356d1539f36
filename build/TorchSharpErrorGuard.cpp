// libNoPriorTorchGuard.so: turns the C++ exceptions that TorchSharp's native shim lets escape into TorchSharp errors.
//
// Why: every export of TorchSharp's libLibTorchSharp.so is meant to wrap its libtorch call in the CATCH macro
// (src/Native/LibTorchSharp/Utils.h), which stores e.what() in a thread-local that the managed side turns into an
// ExternalException (torch.CheckForErrors). Some exports in TorchSharp 0.107.0 have no CATCH, among them
// THSTensor_matmul (THSTensorMath.cpp: `return new torch::Tensor(left->matmul(*right));`), THSTensor_cummax/cummin
// and THSAutograd_grad. A c10::Error thrown there unwinds into the JIT-compiled managed caller, which has no C++
// unwind information, so _Unwind_RaiseException finds no handler and libstdc++ calls std::terminate: "terminate
// called after throwing an instance of 'c10::Error'", SIGABRT, exit code 134. Not the libstdc++ mismatch: mm, which
// has a CATCH, reports the same shape error as a managed exception in the same process (build/README, gdb evidence).
//
// How: this library has a DT_NEEDED on libLibTorchSharp.so and defines, under the same names, guarded versions of
// those exports: each calls the original (looked up in libLibTorchSharp.so itself) inside try/catch. NoPrior's
// TorchNativeErrors registers a DllImportResolver for the TorchSharp assembly that resolves "LibTorchSharp" to this
// library; dlsym on it finds a guarded export here first and every other export in libLibTorchSharp.so (a
// dependency). A caught exception is kept in a thread-local and handed out by the interposed
// THSTorch_get_and_reset_last_err, which TorchSharp calls right after most of these functions (on a null tensor
// result, or unconditionally), so the managed side throws ExternalException with libtorch's message. Where the
// managed caller does not ask (set_num_threads, manual_seed, Module.to, zero_grad), the error is reported by the
// next TorchSharp call that checks: late, but the process lives.
//
// Which exports: a scan of TorchSharp 0.107.0's src/Native/LibTorchSharp/*.cpp (tag v0.107.0) finds 209 of 1208
// exported functions without CATCH/try. Guarded here: those that run libtorch code able to throw on user input and
// that this workbook's code paths reach. Not guarded: accessors that cannot throw (dispose, device_type, scalar
// conversions), and the JIT, data-loader, vision and native-module (Conv/RNN weight) exports. No libtorch headers
// are needed: every handle is a pointer.
#include <dlfcn.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {
typedef void* Tensor;
typedef void* NNModule;
typedef void* Optimizer;
typedef void* Generator;

thread_local std::string pending;    // message of the last caught exception on this thread
thread_local bool has_pending = false;

void* original(const char* name)
{
    static void* lib = dlopen("libLibTorchSharp.so", RTLD_LAZY | RTLD_NOLOAD);
    void* f = lib != nullptr ? dlsym(lib, name) : nullptr;
    if (f == nullptr) {
        std::fprintf(stderr, "libNoPriorTorchGuard: %s not found in libLibTorchSharp.so (%s)\n", name, dlerror());
        std::abort();
    }
    return f;
}

void remember(const char* what)
{
    pending = what != nullptr ? what : "libtorch raised an exception without a message";
    has_pending = true;
}
}

#define NOPRIOR_GUARD(ret, name, params, args, fallback)                                             \
    extern "C" __attribute__((visibility("default"))) ret name params                               \
    {                                                                                                \
        using Fn = ret(*) params;                                                                    \
        static Fn fn = reinterpret_cast<Fn>(original(#name));                                        \
        try {                                                                                        \
            return fn args;                                                                          \
        } catch (const std::exception& e) {                                                          \
            remember(e.what());                                                                      \
        } catch (...) {                                                                              \
            remember("libtorch raised a C++ exception that is not a std::exception (in " #name ")"); \
        }                                                                                            \
        return fallback;                                                                             \
    }

// THSTensorMath.cpp
NOPRIOR_GUARD(Tensor, THSTensor_matmul, (const Tensor left, const Tensor right), (left, right), nullptr)
// THSTensor.cpp
NOPRIOR_GUARD(void, THSTensor_cummax, (const Tensor t, Tensor* (*allocator)(size_t), const int64_t dim), (t, allocator, dim), )
NOPRIOR_GUARD(void, THSTensor_cummin, (const Tensor t, Tensor* (*allocator)(size_t), const int64_t dim), (t, allocator, dim), )
NOPRIOR_GUARD(void, THSTensor_names, (Tensor t, const char** (*allocator)(size_t)), (t, allocator), )
NOPRIOR_GUARD(int64_t, THSTensor_storage_offset, (const Tensor t), (t), 0)
NOPRIOR_GUARD(const char*, THSTensor_device_str, (const Tensor t), (t), nullptr)
// THSAutograd.cpp
NOPRIOR_GUARD(void, THSAutograd_grad,
    (Tensor* outputs, const int64_t oLength, Tensor* inputs, const int64_t iLength, Tensor* grad_outs,
     const int64_t gLength, bool retain_graph, bool create_graph, bool allow_unused, Tensor* (*allocator)(size_t)),
    (outputs, oLength, inputs, iLength, grad_outs, gLength, retain_graph, create_graph, allow_unused, allocator), )
// THSTorch.cpp
NOPRIOR_GUARD(void, THSTorch_set_num_threads, (const int32_t threads), (threads), )
NOPRIOR_GUARD(void, THSTorch_set_num_interop_threads, (const int32_t threads), (threads), )
NOPRIOR_GUARD(void, THSTorch_manual_seed, (const int64_t seed), (seed), )
NOPRIOR_GUARD(Generator, THSGenerator_manual_seed, (const int64_t seed), (seed), nullptr)
NOPRIOR_GUARD(void, THSGenerator_set_rng_state, (const Generator gen, const Tensor t), (gen, t), )
NOPRIOR_GUARD(void, THSGenerator_gen_manual_seed, (const Generator gen, const int64_t seed), (gen, seed), )
// THSStorage.cpp
NOPRIOR_GUARD(void*, THSStorage_data_ptr, (const Tensor t), (t), nullptr)
NOPRIOR_GUARD(size_t, THSStorage_nbytes, (const Tensor t), (t), 0)
NOPRIOR_GUARD(void, THSStorage_set_nbytes, (const Tensor t, size_t nbytes), (t, nbytes), )
// THSModule.cpp / THSOptimizers.cpp
NOPRIOR_GUARD(void, THSNN_Module_to_device, (NNModule m, int64_t device, int64_t index, const bool nb), (m, device, index, nb), )
NOPRIOR_GUARD(void, THSNN_Module_to_dtype, (NNModule m, int8_t dtype, const bool nb), (m, dtype, nb), )
NOPRIOR_GUARD(void, THSNN_Module_to_device_dtype, (NNModule m, int8_t dtype, int64_t device, int64_t index, const bool nb), (m, dtype, device, index, nb), )
NOPRIOR_GUARD(void, THSNN_Module_zero_grad, (const NNModule m, bool set_to_none), (m, set_to_none), )
NOPRIOR_GUARD(void, THSNN_Optimizer_zero_grad, (const Optimizer o), (o), )

// The managed side asks here after each call above; a guarded error comes first, then libLibTorchSharp's own.
extern "C" __attribute__((visibility("default"))) const char* THSTorch_get_and_reset_last_err()
{
    if (has_pending) {
        has_pending = false;
        return pending.c_str();   // TorchSharp copies it at once (Marshal.PtrToStringAnsi) and does not free it
    }
    using Fn = const char* (*)();
    static Fn fn = reinterpret_cast<Fn>(original("THSTorch_get_and_reset_last_err"));
    return fn();
}
