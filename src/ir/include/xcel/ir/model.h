// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// LibTorch side of the IR: loading, saving and analysing TorchScript modules. Include only from files
/// that run models; everything else uses summary.h.
#include <string>
#include <vector>

#include <torch/script.h>

#include "xcel/ir/summary.h"

namespace xcel::ir {

/// torch::jit::load with errors that name the file and the fix. The module is put in eval mode.
torch::jit::Module load_model(const std::string& path);

/// Saves to `path` atomically (temporary file + rename).
void save_model(torch::jit::Module& module, const std::string& path);

/// Saves for the lite interpreter (.ptl) atomically.
void save_for_mobile(const torch::jit::Module& module, const std::string& path);

/// Writes the phone's deploy form of `module` (deploy_for_mobile) to `path` for the lite interpreter; false,
/// with the reason in `why`, when LibTorch cannot export it (an op the lite interpreter lacks). A failed write
/// (a full disk) throws like any write: a result is never silently missing.
bool export_for_mobile(const torch::jit::Module& module, const std::string& path, std::string* why);

/// Layer table of `module` at `input`; runs the module once (in eval mode, without gradients).
ModelSummary analyze(const torch::jit::Module& module, const Shape& input);

/// The form a model is deployed in on a CPU: a frozen copy (weights inlined, batch norm folded into the
/// convolutions) optimised for inference (oneDNN convolutions, fused ops), as `torch.jit.freeze` +
/// `torch.jit.optimize_for_inference` give it. The module must be in eval mode. A model a pass cannot handle
/// falls back to the frozen copy, then to the module itself; `form` gets what was applied: "frozen+optimized",
/// "frozen" or "plain". The module itself is never changed (keep it for training and surgery).
torch::jit::Module deploy_for_cpu(const torch::jit::Module& module, std::string* form = nullptr);

/// The form a model is deployed in on a phone: batch norm folded, frozen and rewritten for the mobile runtime
/// (`optimize_for_mobile`: XNNPACK prepacked convolutions and linear layers, fused activations), to be saved
/// for the lite interpreter (.ptl). The module must be in eval mode; a model the pass cannot handle falls back
/// to the module itself (`form` "plain", else "mobile").
torch::jit::Module deploy_for_mobile(const torch::jit::Module& module, std::string* form = nullptr);

/// `module` behind its input normalisation: a new module whose forward takes raw pixels x in [0, 1] and calls
/// `module` on (x - mean) / std, per channel (torchvision's Normalize), so a deployed file needs no
/// preprocessing beyond scaling to [0, 1]. The mean and std are buffers of the wrapper; `module` is its
/// submodule "model" (shared, not copied).
torch::jit::Module with_input_normalization(const torch::jit::Module& module, const std::vector<double>& mean,
                                            const std::vector<double>& std);

/// The submodule at a dotted path ("features.0"; "" is `root` itself).
torch::jit::Module submodule(const torch::jit::Module& root, const std::string& path);

/// Sets LibTorch's intra-op threads and OpenBLAS's pool to `threads` (>= 1).
void set_threads(int threads);

/// The channels of the model's input as its first layer's weight shows them (dim 1 of the first 4-D parameter),
/// 0 when no parameter tells.
std::int64_t input_channels(const torch::jit::Module& module);

/// LibTorch's global CPU generator (dropout draws from it) saved to / restored from a file, so a resumed
/// run continues with the same random numbers.
void save_rng_state(const std::string& path);
void load_rng_state(const std::string& path);

/// First line of a c10::Error's message, without LibTorch's C++ stack trace.
std::string short_what(const std::exception& e);

}  // namespace xcel::ir
