"""A binary head (segmentation_models_pytorch's classes=1, a sigmoid): two-class data — here the
built-in shapes against their background — trained through one output channel with binary
cross-entropy, a model zoo network on it; the model still speaks of two classes everywhere
outside the network (names, probabilities, masks), and bce without --binary is refused.

    PYTHONPATH=<build>/python CUSEG_TOOLS_DIR=<build>/apps /usr/bin/python3 -m pytest python/tests
"""
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

import cuseg

TOOLS = os.environ.get("CUSEG_TOOLS_DIR", "")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    d = tmp_path_factory.mktemp("binary")
    r = subprocess.run([os.path.join(TOOLS, "seg_make_synthetic"), "--out", "data", "--train", "32", "--val", "8",
                        "--size", "32", "--seed", "3"], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for mask in (d / "data").glob("*/masks/*.png"):
        Image.fromarray((np.array(Image.open(mask)) > 0).astype(np.uint8)).save(mask)
    (d / "data/classes.txt").write_text("background\nshape\n")
    return d


def test_a_binary_unet_trains_with_bce_and_predicts_two_classes(shapes, monkeypatch):
    monkeypatch.chdir(shapes)
    r = cuseg.train(data="data", out="run", model="unet", encoder="resnet18", encoder_depth=3,
                    decoder_channels="64,32,16", binary=True, loss="bce", epochs=6, size=32, batch=4, lr=3e-3,
                    no_progress=True, seed=2)
    assert r["best_miou"] > 0.75, r
    model = cuseg.load("run/best.safetensors")
    assert model.config["classes"] == 1 and model.classes == ["background", "shape"]
    image = np.array(Image.open(sorted((shapes / "data/val/images").glob("*.png"))[0]))
    classes, probs = model.predict(image, probabilities=True)
    assert probs.shape == image.shape[:2] + (2,)
    np.testing.assert_allclose(probs.sum(-1), 1, atol=1e-6)
    assert np.array_equal(classes, (probs[..., 1] > 0.5).astype(np.uint8))
    assert 0 < classes.mean() < 1  # both classes present


def test_bce_without_a_binary_head_is_refused(shapes, monkeypatch):
    monkeypatch.chdir(shapes)
    with pytest.raises(cuseg.Error, match="bce needs --binary"):
        cuseg.train(data="data", out="refused", loss="ce+bce", epochs=1, size=32, no_progress=True)
    r = subprocess.run([os.path.join(TOOLS, "seg_train"), "--binary", "--epochs", "1", "--size", "32",
                        "--no-progress", "--out", "refused2"], cwd=shapes, capture_output=True, text=True)
    assert r.returncode != 0 and "--binary: the data has 4 classes" in r.stdout + r.stderr
