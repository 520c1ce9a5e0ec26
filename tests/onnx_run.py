"""Runs an ONNX model with ONNX Runtime (the test oracle) after onnx's checker has accepted it
(full check: shape inference too): reads the inputs from a safetensors file, writes the outputs
to another (int64 ones as int32: cuseg's tensors have no int64), and prints the model's
metadata_props, its opsets and its outputs' types as JSON. Run by
tests/interop/onnx_export_test.cpp with the interpreter of the virtual environment
scripts/deps.sh makes (.venv), where PyPI's onnx and onnxruntime are installed.

    onnx_run.py MODEL.onnx IN.safetensors OUT.safetensors"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file, save_file

model_path, in_path, out_path = sys.argv[1:4]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
inputs = load_file(in_path)
names = [o.name for o in session.get_outputs()]
outputs = session.run(names, {i.name: inputs[i.name] for i in session.get_inputs()})
save_file({n: np.ascontiguousarray(o.astype(np.int32) if o.dtype == np.int64 else o)
           for n, o in zip(names, outputs)}, out_path)
print(json.dumps({"metadata": {p.key: p.value for p in model.metadata_props},
                  "opset": [o.version for o in model.opset_import],
                  "outputs": {o.name: o.type for o in session.get_outputs()}}))
