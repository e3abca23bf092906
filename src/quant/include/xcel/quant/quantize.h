// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Quantization of TorchScript models (LibTorch side): weights to their grid per output channel (k-bit
/// symmetric or asymmetric, ternary, binary), activations through fake-quantize ops inserted in the inlined
/// forward graph at the input of each quantized layer, with clipping ranges calibrated on training images.
/// One implementation serves evaluation (the search), quantization-aware training (WeightProjector keeps float
/// shadow weights and puts the grid values in for each forward pass: a straight-through estimator) and export.
///   auto ranges = calibrate(model, input, calib, policy);   // fills policy.layers[i].a_lo/a_hi
///   torch::jit::Module q = quantize(model, policy);          // a clone; the original is not changed
#include <torch/script.h>

#include <vector>

#include "xcel/data/dataset.h"
#include "xcel/quant/precision.h"

namespace xcel::quant {

/// `w` (output channels first) on its grid, as float values: what the layer computes with.
at::Tensor quantize_weight(const at::Tensor& w, const Precision& p, bool symmetric);

/// The policy file at `path` for a model with `layers` (policy_from_json); a file that is no policy is Error(kInput)
/// naming `flag` and the file.
QuantPolicy read_policy(const std::string& path, const std::vector<ir::Layer>& layers, const std::string& flag);

/// Calibrates the input range of every layer whose activations are quantized (a_bits < 32) on `images` (the
/// model's calibration split), per QuantOptions::act_range; writes a_lo/a_hi into `policy`.
void calibrate(const torch::jit::Module& model, const ir::Shape& input, const data::ImageSet& images,
               QuantPolicy& policy, int batch = 250);

/// A clone of `model` whose quantized activations pass through aten::fake_quantize_per_tensor_affine (weights
/// untouched: the start of quantization-aware training); a model that already carries them is cloned as it is.
torch::jit::Module with_activation_quant(const torch::jit::Module& model, const QuantPolicy& policy);

/// A clone of `model` whose layer weights are on their grid and whose quantized activations pass through
/// aten::fake_quantize_per_tensor_affine (the policy's ranges must be calibrated). A model that already carries
/// fake-quantize ops (an earlier result) gets only its weights projected.
torch::jit::Module quantize(const torch::jit::Module& model, const QuantPolicy& policy);

/// True when `model`'s forward already quantizes activations (fake-quantize ops in its graph).
bool has_fake_quant(const torch::jit::Module& model);

/// The real int8 model (stock LibTorch quantized kernels) of `model` with every layer at 8 bits: frozen, batch norm
/// folded, each 2-D convolution and linear layer as quantized::conv2d / quantized::linear on per-channel int8 weights
/// prepacked for `engine` (qnnpack: phones and x86; onednn: x86), activations quint8 with ranges from `calib`;
/// additions of two quantized tensors run as quantized::add; other ops (concatenations, ...) run in float between
/// dequantize and quantize. Loading it needs the
/// same engine selected (torch.backends.quantized.engine in Python, at::globalContext().setQEngine in C++).
///
/// With `int8` (one flag per quantizable layer, quantizable_layers order, e.g. int8_layers(policy)) only the flagged
/// layers run in int8 and the rest stay float, with quantize/dequantize at each border: the mixed model of a latency
/// search. Error(kUnsupported) when the frozen graph's layers do not pair up with `layers` (a module called twice).
struct Int8Model {
  torch::jit::Module module;
  int layers = 0;                   // layers running in int8
  int float_layers = 0;             // layers left in float (a mixed model)
  int int8_adds = 0;                // residual additions running in int8 (quantized::add)
  int requantizations_removed = 0;  // quantized tensors passed straight from layer to layer
  std::string engine;
};
Int8Model export_int8(const torch::jit::Module& model, const data::ImageSet& calib, const std::string& engine,
                      int batch = 250, const std::vector<ir::Layer>& layers = {}, const std::vector<bool>& int8 = {});

/// The bits the conv/linear weights of `model` need as stored: per output channel, the fewest bits that hold its
/// distinct values (1 for two, 8 for up to 256), 32 for channels with more (float). What `xcel eval
/// --max-size-ratio` compares, read from the model itself.
std::int64_t stored_weight_bits(const torch::jit::Module& model, const std::vector<ir::Layer>& layers);

/// Quantization-aware training: the layer weights of `model` (shared tensors, e.g. those an optimizer holds) kept
/// as float shadows; to_grid() puts the grid values in (for a forward pass or for saving), to_shadow() puts the
/// shadows back so that the optimizer steps them with the gradients taken on the grid.
class WeightProjector {
 public:
  WeightProjector(torch::jit::Module& model, const QuantPolicy& policy);
  void to_grid();
  void to_shadow();

 private:
  struct Entry {
    at::Tensor weight;
    Precision p;
    at::Tensor shadow;
  };
  std::vector<Entry> entries_;
  bool symmetric_ = true;
  bool on_grid_ = false;
};

}  // namespace xcel::quant
