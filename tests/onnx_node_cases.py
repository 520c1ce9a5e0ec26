"""Writes ONNX's own backend node-test cases (onnx/backend/test/case/node/*.py, generated here:
the onnx wheel ships the generators, not the data) for the op types cuseg implements, into one
safetensors file for tests/interop/onnx_node_test.cpp. Run with the interpreter of the virtual
environment scripts/deps.sh makes (.venv), where PyPI's onnx is installed.

    onnx_node_cases.py OUT.safetensors

The file's metadata "spec" is JSON: {"onnx": version, "cases": [{"op", "name", "opset", "attrs",
"rtol", "atol", "inputs": [...], "outputs": [...]}]}. inputs follow the node's inputs, an absent
optional input as {"name": ""}; each tensor is {"name", "dtype" (numpy's name), "shape", "key"
(its tensor in the file, or null), "values" (small tensors only, else null)}. A tensor's data
is written where cuseg's reader takes it (float32, float64, int64 read as int32; rank 1 to 4);
the C++ side says why a case whose data is not there cannot run (dtype, rank)."""
import importlib
import json
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
from safetensors.numpy import save_file

# The modules holding the cases of the op types cuseg implements (importing one runs its
# generators, seeded as ONNX seeds them); the op types themselves are filtered below.
MODULES = ("conv convtranspose maxpool averagepool globalaveragepool resize upsample mul add "
           "sigmoid relu leakyrelu tanh clip concat batch_normalization groupnormalization "
           "instance_normalization softmax logsoftmax reducemean reducesum reducel2 "
           "softmax_cross_entropy_loss split swish").split()
OP_TYPES = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "Resize",
            "Upsample", "Mul", "Add", "Sigmoid", "Relu", "LeakyRelu", "Tanh", "Clip", "Concat",
            "BatchNormalization", "GroupNormalization", "InstanceNormalization", "Softmax",
            "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceL2", "SoftmaxCrossEntropyLoss", "Split",
            "Swish"}
SMALL = 16  # tensors of at most this many elements also travel as JSON values (scales, sizes, scalars)


def attr_value(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    if isinstance(v, (int, float, str)):
        return v
    return f"<{type(v).__name__}>"  # tensors, graphs: no cuseg op takes them


def main(out_path):
    for m in MODULES:
        importlib.import_module("onnx.backend.test.case.node." + m)
    from onnx.backend.test.case.node import _NodeTestCases

    tensors, cases = {}, []

    def tensor(value, name, key):
        if name == "":
            return {"name": ""}
        a = numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else np.asarray(value)
        t = {"name": name, "dtype": a.dtype.name, "shape": list(a.shape), "key": None,
             "values": a.astype(np.float64).ravel().tolist() if a.size <= SMALL and a.dtype != object else None}
        if a.dtype == np.int64 and a.size and np.abs(a).max() < 2**31:
            a = a.astype(np.int32)
        if a.dtype in (np.float32, np.float64, np.int32) and 1 <= a.ndim <= 4 and a.size:
            tensors[key] = np.ascontiguousarray(a)
            t["key"] = key
        return t

    for c in _NodeTestCases:
        nodes = c.model.graph.node
        # "_expanded" cases are the same data through the op's function body (other ops).
        if len(nodes) != 1 or nodes[0].op_type not in OP_TYPES or "_expanded" in c.name:
            continue
        node = nodes[0]
        (inputs, outputs), = c.data_sets
        present = iter(inputs)
        ins = [tensor(None if n == "" else next(present), n, f"{c.name}/in{i}") for i, n in enumerate(node.input)]
        outs = [tensor(o, n, f"{c.name}/out{i}") for i, (n, o) in enumerate(zip(node.output, outputs))]
        opset = [o.version for o in c.model.opset_import if o.domain in ("", "ai.onnx")]
        cases.append({"op": node.op_type, "name": c.name, "opset": opset[0] if opset else None,
                      "attrs": {a.name: attr_value(a) for a in node.attribute},
                      "rtol": c.rtol, "atol": c.atol, "inputs": ins, "outputs": outs})
    save_file(tensors, out_path, metadata={"spec": json.dumps({"onnx": onnx.__version__, "cases": cases})})
    print(len(cases))


if __name__ == "__main__":
    main(sys.argv[1])
