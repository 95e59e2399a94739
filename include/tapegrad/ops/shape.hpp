// Shape and layout ops. view, transpose, permute, squeeze, unsqueeze, slice, narrow, expand and
// broadcast_to return views that share storage; the others copy when they must.
#pragma once

#include <utility>
#include <vector>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

// New shape with the same numel; one entry may be -1 (inferred). reshape copies when the layout needs
// it; view never copies and raises ShapeError when it would have to.
Tensor reshape(const Tensor& x, Shape shape, Here at = Here::current());
Tensor view(const Tensor& x, Shape shape, Here at = Here::current());
// Merges axes start..end (inclusive) into one.
Tensor flatten(const Tensor& x, std::int64_t start_axis = 0, std::int64_t end_axis = -1, Here at = Here::current());
Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1, Here at = Here::current());
// y.shape[i] = x.shape[order[i]]
Tensor permute(const Tensor& x, Axes order, Here at = Here::current());
// Drops size-1 axes (all of them, or the listed ones; a listed axis of size != 1 is kept, as in torch).
Tensor squeeze(const Tensor& x, Axes axes = {}, Here at = Here::current());
template <detail::axis_index Axis>  // squeeze(x, 1), as PyTorch users write it
Tensor squeeze(const Tensor& x, Axis axis, Here at = Here::current()) {
  return squeeze(x, Axes{static_cast<std::int64_t>(axis)}, at);
}
Tensor unsqueeze(const Tensor& x, std::int64_t axis, Here at = Here::current());
// Elements start, start+step, ... < end along `axis` (negative start/end count from the end; clamped).
Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step = 1,
             Here at = Here::current());
Tensor narrow(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t length,
              Here at = Here::current());
// torch.select: the slice at `index` along `axis`, with that axis removed (a view; a negative index
// counts from the end).
Tensor select(const Tensor& x, std::int64_t axis, std::int64_t index, Here at = Here::current());
// A view with size-1 axes repeated (stride 0); shape may have more leading axes. -1 keeps a size.
Tensor expand(const Tensor& x, Shape shape, Here at = Here::current());
Tensor broadcast_to(const Tensor& x, Shape shape, Here at = Here::current());
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis = 0, Here at = Here::current());
Tensor stack(const std::vector<Tensor>& xs, std::int64_t axis = 0, Here at = Here::current());
// Pieces of `size` along axis (the last may be smaller), or of the given sizes.
std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t axis = 0, Here at = Here::current());
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t axis,
                          Here at = Here::current());
// torch.unbind: the slices along `axis`, each with that axis removed (views; none for an empty axis).
std::vector<Tensor> unbind(const Tensor& x, std::int64_t axis = 0, Here at = Here::current());
// Constant padding, torch.nn.functional.pad order: {before_last, after_last, before_second_last, ...}.
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0, Here at = Here::current());
// The broadcast shape of two shapes (ShapeError when incompatible).
Shape broadcast_shapes(const Shape& a, const Shape& b, Here at = Here::current());

}  // namespace tapegrad
