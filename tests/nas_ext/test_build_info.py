import nas_ext


def test_build_info_reports_the_build():
    info = nas_ext.build_info()
    assert set(info) >= {"version", "cuda", "openmp_threads", "compiler"}
    assert isinstance(info["cuda"], bool)
    assert info["openmp_threads"] >= 1
