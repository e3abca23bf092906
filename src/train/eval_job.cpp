// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/train/eval_job.h"

namespace xcel::train {

void to_json(nlohmann::json& j, const EvalReport& r) {
  j = {{"model", r.model},
       {"data", r.data},
       {"split", r.split},
       {"images", r.accuracy.n},
       {"top1", r.accuracy.top1},
       {"top5", r.accuracy.top5},
       {"flops", r.summary.flops},
       {"params", r.summary.params},
       {"file_bytes", r.summary.file_bytes},
       {"input_shape", r.summary.input_shape},
       {"eval_seconds", r.seconds},
       {"threads", r.threads},
       {"blas", {{"library", r.blas.library}, {"openblas", r.blas.is_openblas}, {"config", r.blas.config}}}};
  if (r.latency_ms.n > 0) {
    j["latency_ms"] = r.latency_ms;
    j["latency_ms"]["source"] = "measured";
    j["latency_ms"]["device"] = r.latency_device;
    j["latency_ms"]["method"] = r.latency_method;
    j["latency_ms"]["batch"] = 1;
  }
}

}  // namespace xcel::train
