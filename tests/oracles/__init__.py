"""Plain-numpy reference implementations of the kernels, used only by the tests."""
