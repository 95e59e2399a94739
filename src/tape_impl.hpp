// The tape's data structures, shared by recording (tape_record.cpp) and the backward walk
// (tape_backward.cpp). Not installed.
//
// Note [The tape]
// Each thread owns a tape: entries in the order ops ran, which is already a topological order (Stan
// Math's insight), so backward is a plain reverse loop: no sort, no recursion, no stack overflow on
// deep graphs. An entry holds the op's backward closure, the tensors it saved, one edge per input
// (the serial number of the entry that produced it, or the leaf that receives .grad()) and one
// record per output. Tensors made by an op remember (tape id, serial, output index).
//
// Entries live in blocks of 256 that never move, so the walk can hold references while a
// create_graph backward records new entries at the end (Note [Higher-order gradients]). An entry's
// variable-sized parts (edges, saved tensors, outputs, shapes) are placed in its block's arena, so
// an entry is one fixed part plus what it actually has: no inline capacity paid by every entry, no
// shape copied where the producer or the leaf already has it. Serial s is found by arithmetic:
// block (s - base) / 256, slot (s - base) % 256.
//
// Entries do not own each other and tensors do not own entries, so freeing a long graph is a flat
// loop. Memory comes back in three ways:
//   - backward (without retain_graph) releases every entry it ran through;
//   - a sweep releases entries that no live tensor can reach any more (their outputs are gone and no
//     needed entry consumes them). It runs after each backward, when the live entries double (so its
//     cost is amortised over the recordings), and before tape_stats() counts (so the counts are
//     exact). A block whose entries are all released is freed;
//   - a TapeScope releases everything recorded inside it.
//
// Note [Version counter]
// Every storage counts in-place writes. A saved tensor remembers the count at save time; backward
// refuses to run an entry whose saved tensors were modified since, instead of silently computing a
// wrong gradient (PyTorch's rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <source_location>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "internal.hpp"
#include "tapegrad/function.hpp"

namespace tapegrad::detail {

// One input of an entry. A constant input (no producer, not a leaf that requires grad) keeps its
// shape in the entry's arena: `output` is then the offset of its dims in the entry's shape area.
struct Edge {
  std::shared_ptr<TensorImpl> leaf;  // set for a leaf that requires grad
  std::uint64_t serial = 0;          // producing entry, 0 for none
  std::uint32_t output = 0;          // the producer's output index (or, for a constant, its dims)
  std::uint8_t rank = 0;             // a constant's rank
  DType dtype = DType::float32;
  bool needs_grad = false;
};

struct SavedTensor {
  static constexpr std::uint64_t not_output = 255;
  Tensor tensor;
  std::uint64_t version : 56 = 0;
  std::uint64_t output : 8 = not_output;  // which of the entry's own outputs this is (detached alias)
};

struct Output {
  std::weak_ptr<TensorImpl> tensor;  // not owning: an entry must not keep its outputs alive
  Tensor grad;                       // pending gradient during a backward run
  std::uint32_t dims = 0;            // offset of its dims in the entry's shape area
  std::uint8_t rank = 0;
  DType dtype = DType::float32;
  bool owned = false;  // grad is a buffer this run allocated (safe to add into in place)
};

// An op and the user's line that called it, interned (Note [Op names]): one pointer per entry.
struct Site {
  std::string_view op;
  std::source_location at;
  std::string_view module;  // interned (ModuleNameGuard): the module that ran the op, or ""
};
const Site* intern_site(std::string_view op, const std::source_location& at);

// 64 bytes; the rest is in the tail.
struct Entry {
  static constexpr std::size_t max_slots = 65535;  // inputs, saved tensors, outputs
  std::uint64_t serial = 0;
  const Site* site = nullptr;
  BackwardFn backward;
  std::byte* tail = nullptr;  // edges, then saved, then outputs, then dims, in the block's arena
  std::uint16_t n_inputs = 0, n_saved = 0, n_outputs = 0;
  bool released = true;

  std::string_view op() const { return site->op; }
  const std::source_location& at() const { return site->at; }
  std::string_view module() const { return site->module; }

  std::span<Edge> inputs() const { return {reinterpret_cast<Edge*>(tail), n_inputs}; }
  std::span<SavedTensor> saved() const {
    return {reinterpret_cast<SavedTensor*>(tail + n_inputs * sizeof(Edge)), n_saved};
  }
  std::span<Output> outputs() const {
    return {reinterpret_cast<Output*>(tail + n_inputs * sizeof(Edge) + n_saved * sizeof(SavedTensor)), n_outputs};
  }
  const std::int64_t* dims() const {
    return reinterpret_cast<const std::int64_t*>(tail + n_inputs * sizeof(Edge) + n_saved * sizeof(SavedTensor) +
                                                 n_outputs * sizeof(Output));
  }
  Shape output_shape(std::size_t k) const {
    const Output& o = outputs()[k];
    return Shape(dims() + o.dims, dims() + o.dims + o.rank);
  }
  bool reached() const;
  void clear_grads();
  // Destroys what the entry holds; its slot and arena bytes stay until the block is freed.
  void release();
};

// Bump allocation in 16 KiB chunks that never move; freed with the block.
class Arena {
 public:
  std::byte* allocate(std::size_t bytes);
  // Keeps the first chunk for reuse.
  void reset();
  std::size_t bytes_reserved() const { return reserved_; }

 private:
  static constexpr std::size_t chunk_bytes = 16384;
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::byte* cursor_ = nullptr;
  std::size_t left_ = 0;
  std::size_t reserved_ = 0;
};

struct Block {
  static constexpr std::size_t capacity = 256;
  Entry entries[capacity];
  std::size_t count = 0;  // slots used
  std::size_t live = 0;   // used and not released
  Arena arena;
  Block() = default;
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  // What live entries hold sits in the arena, which frees bytes, not objects: release them first.
  ~Block() {
    for (std::size_t i = 0; i < count; ++i) entries[i].release();
  }
  void reset() {
    count = live = 0;
    arena.reset();
  }
};

struct Tape {
  std::uint64_t id;
  std::deque<std::unique_ptr<Block>> blocks;  // blocks[b] holds serials base + 256 b ...; null once freed
  std::uint64_t base = 1;                     // serial of blocks[0]'s first slot
  std::uint64_t next_serial = 1;
  std::size_t live = 0;  // entries not released
  std::size_t sweep_at = 1024;
  int backward_depth = 0;  // a backward walks the tape: a nested one is refused, sweeps wait
  std::unique_ptr<Block> spare;  // kept for the next step of a training loop

  Tape();
  // The entry with this serial, or null when its block is gone.
  Entry* find(std::uint64_t serial) const {
    if (serial < base || serial >= next_serial) return nullptr;
    const std::uint64_t index = serial - base;
    Block* block = blocks[index / Block::capacity].get();
    return block ? &block->entries[index % Block::capacity] : nullptr;
  }
  // A fresh slot at the end (serial assigned), and the block it is in.
  std::pair<Entry*, Block*> append();
  void released_one(std::uint64_t serial);
  // Releases entries no live tensor can reach, then frees empty blocks.
  void sweep();
  void free_empty_blocks();
  std::size_t metadata_bytes() const;
};

Tape& current_tape();
extern TAPEGRAD_FAST_TLS thread_local bool grad_enabled;

// State of one backward pass (tape_backward.cpp).
struct BackwardRun {
  BackwardRun(Tape& t, bool retain, bool create, const std::source_location& where)
      : tape(t), retain_graph(retain), create_graph(create), at(where) {}
  Tape& tape;
  bool retain_graph;
  bool create_graph;
  const std::source_location& at;
  // Functional grad(): requested leaves (by impl) and intermediates (by serial/output) -> result slot.
  bool functional = false;
  std::vector<std::pair<const TensorImpl*, std::size_t>> wanted_leaves;
  std::vector<std::tuple<std::uint64_t, std::uint32_t, std::size_t>> wanted_outputs;
  std::vector<Tensor> results;
  // Gradients for leaves, summed over the run and handed to .grad() once at its end, in the order
  // the leaves were first reached (Note [Leaf gradients]).
  struct LeafPending {
    std::shared_ptr<TensorImpl> leaf;
    Tensor grad;
    bool owned = false;  // as Output::owned
  };
  std::vector<LeafPending> leaf_pending;
  std::unordered_map<const TensorImpl*, std::size_t> leaf_index;

  // a + b: the differentiable op under create_graph, else a kernel.
  Tensor add(const Tensor& a, const Tensor& b) const;
  void deliver(const Edge& edge, const Tensor& g);
  // Adds g into the region `region` of the input's gradient (a view spec of a contiguous buffer of
  // the input's shape), allocating that buffer once (Note [Region gradients]).
  void deliver_region(const Edge& edge, const Shape& input_shape, const Tensor& g, const Shape& shape,
                      const Strides& strides, std::int64_t offset);
  void run(Entry& e);
  void flush_leaves();

 private:
  Tensor* pending_for(const Edge& edge, bool*& owned);
};

}  // namespace tapegrad::detail
