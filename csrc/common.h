// Shared helpers for the nas_ext kernels: argument errors with one sentence shape.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

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
