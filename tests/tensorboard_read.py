"""Reads a TensorBoard log folder with TensorBoard's own reader (the test oracle) and prints what
it saw as JSON: every scalar tag with its (step, value) events, every image tag with its (step,
width, height, PNG bytes) events. Run by tests/train/tensorboard_test.cpp with the interpreter of
the virtual environment scripts/deps.sh makes (.venv), where PyPI's tensorboard is installed."""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator as ea

acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.IMAGES: 0})  # 0: keep all
acc.Reload()
tags = acc.Tags()
print(json.dumps({
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "images": {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)]
               for t in tags["images"]},
}))
