// Accumulating into a leaf's .grad() (Note [Leaf gradients]).
#include <mutex>

#include "internal.hpp"
#include "kernels/copy.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/formulas.hpp"

namespace tapegrad::detail {

// Note [Leaf gradients]
// A leaf's .grad() owns its storage: the first gradient is copied, later ones are summed out of
// place, so neither aliases a tensor the user or another op holds. Leaves (parameters) may be shared
// by graphs on several threads: their .grad() is updated under one lock (uncontended: one lock per
// leaf use per backward).
void accumulate_leaf_grad(TensorImpl& leaf, const Tensor& g) {
  static std::mutex leaf_grad_mutex;
  std::lock_guard lock(leaf_grad_mutex);
  Tensor current = leaf.grad ? Tensor(leaf.grad) : Tensor();
  Tensor next = current.defined()
                    ? kernels::binary(kernels::binary_id<kernels::Add>, current, g, current.shape(), current.dtype())
                    : kernels::cast(g, g.dtype());
  leaf.grad = next.impl_ptr();
}

}  // namespace tapegrad::detail
