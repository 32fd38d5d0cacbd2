// Radius graph on CPU: fused threshold + compaction of GEMM tiles, then a counting-sort CSR assembly.
//
// The caller (nas_ext/radius.py) computes one tile of dot products at a time with a BLAS GEMM and hands
// it to add_tile(); only pairs (i, j) with i < j are kept (the graph is symmetric), as compact
// (row, col, dist) records. assemble() mirrors them, adds the self-loops and writes a CSR whose rows are
// sorted, without any sort.
//
// Edge rule: a pair is an edge iff float32(exact distance) < float32(delta), where the exact distance is
// recomputed in double precision from the float32 rows for every candidate that the GEMM tile flags. The
// GEMM test uses a rounding-error slack, so it only ever lets more pairs through, never fewer: the edge set
// and the stored distances do not depend on the BLAS, the tiling or delta (Graph.restrict is exact).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nas {

enum class RadiusMetric { cosine, euclidean };

struct RadiusKernels;  // the candidate scan and exact re-check of one instruction set

struct RadiusPair {
    int32_t row;  // the smaller index of the pair
    int32_t col;  // the larger index
    float dist;
};

class RadiusGraphBuilder {
public:
    // X: n x d float32, C-contiguous rows (L2-normalised for cosine, centred for euclidean), must outlive
    // the builder. sq_norms: n squared row norms (euclidean only, may be null for cosine). isa: "auto" (the
    // best this CPU runs) or one of available_isas(), to test and time the fallbacks.
    RadiusGraphBuilder(const float* X, int64_t n, int64_t d, const float* sq_norms, RadiusMetric metric,
                       double delta, const std::string& isa = "auto");

    // Instruction sets with a kernel that this CPU can run, best first ("avx512", "avx2", "scalar").
    static std::vector<std::string> available_isas();

    // dots: m x k float32 C-contiguous, dots[a][b] = <X[row0 + a], X[col0 + b]>. Keeps the pairs i < j of
    // the tile. Tiles must cover each pair i < j at most once. Returns the number of pairs kept so far.
    // assemble() orders the chunks by (order_key, col0) (stable; order_key -1 means row0).
    int64_t add_tile(const float* dots, int64_t row0, int64_t m, int64_t col0, int64_t k, int64_t order_key = -1);

    // A tile over chosen rows and columns: dots[a][b] = <X[rows[a]], X[cols[b]]>, rows and cols strictly
    // increasing and every column above every row. assemble() orders the chunks by (order_key, cols[0]):
    // tiles whose rows lie in one block [order_key, next key) and whose column sets are ordered keep every
    // CSR row sorted (the cell-pruned build passes the start of the rows' cell).
    int64_t add_tile_indexed(const float* dots, const int64_t* rows, int64_t m, const int64_t* cols, int64_t k,
                             int64_t order_key);

    int64_t n() const { return n_; }
    const char* isa() const;
    int64_t n_pairs() const { return n_pairs_; }
    // Directed edges of the finished graph: self-loops plus both directions of every pair.
    int64_t n_edges() const { return n_ + 2 * n_pairs_; }
    // Bytes currently held by the compact pair records.
    int64_t pair_bytes() const { return n_pairs_ * static_cast<int64_t>(sizeof(RadiusPair)); }

    // Writes the CSR: indptr (n + 1), indices and dist (n_edges() each); rows sorted ascending, self-loop
    // distance 0. Frees the pair records.
    void assemble(int64_t* indptr, int32_t* indices, float* dist);

    // Internal: per-tile constants seen by the scan kernels.
    struct Scan;

private:
    const float* X_;
    int64_t n_, d_;
    RadiusMetric metric_;
    float delta_;
    const RadiusKernels* kernels_;
    float cosine_candidate_ = 0.0f;  // cosine: candidate iff 1 - dot < this
    std::vector<float> col_term_;    // euclidean: |y|^2 (1 - slack)
    std::vector<float> row_term_;    // euclidean: candidate iff col_term - 2 dot < row_term
    int64_t scan_tile(const float* dots, int64_t m, int64_t k, int64_t row0, int64_t col0, const int64_t* row_ids,
                      const int64_t* col_ids, const float* col_term, int64_t order_key);
    int64_t n_pairs_ = 0;
    struct Chunk {
        int64_t row0, col0;
        std::vector<RadiusPair> pairs;
    };
    std::vector<Chunk> chunks_;
    std::vector<std::vector<RadiusPair>> block_scratch_;
};

}  // namespace nas
