// Shared helpers for the nas_ext kernels: argument errors with one sentence shape.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

// Compiles a hot loop for AVX-512, AVX2 and baseline x86-64 and picks one at load time (GCC >= 6 or
// Clang >= 14 on ELF); elsewhere the plain build is used. Keeps one portable wheel without -march=native.
#if defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define NAS_CPU_DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NAS_CPU_DISPATCH
#endif

namespace nas {

// Raised for a bad argument; pybind11 turns std::invalid_argument into ValueError.
[[noreturn]] inline void bad_argument(const std::string& function, const std::string& argument,
                                      const std::string& expected, const std::string& got) {
    std::ostringstream msg;
    msg << "The '" << argument << "' parameter of " << function << " must be " << expected
        << ". Got " << got << " instead.";
    throw std::invalid_argument(msg.str());
}

template <typename T>
inline std::string to_str(const T& value) {
    std::ostringstream s;
    s << value;
    return s.str();
}

}  // namespace nas
