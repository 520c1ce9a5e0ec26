"""The cuseg Python module against cuseg's own tools: a model trained by seg_train predicts, from
numpy, exactly the masks seg_predict writes for the same files; it exports what seg_export
exports; bad input raises cuseg.Error with the message the tools print.

    PYTHONPATH=<build>/python CUSEG_TOOLS_DIR=<build>/apps /usr/bin/python3 -m pytest python/tests
"""
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

import cuseg

TOOLS = os.environ.get("CUSEG_TOOLS_DIR", "")


def tool(*args, cwd):
    r = subprocess.run([os.path.join(TOOLS, args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cuseg_python")
    code, out = tool("seg_make_synthetic", "--out", "data", "--train", "24", "--val", "4", "--size", "32",
                     "--seed", "4", cwd=d)
    assert code == 0, out
    # Trained enough that its masks hold several classes and move when the input does (a 3%
    # dimmer image changes 1–15% of the pixels): a mask that agrees then says something.
    code, out = tool("seg_train", "--data", "data", "--base", "8", "--depth", "3", "--size", "32", "--batch", "4",
                     "--epochs", "4", "--no-progress", "--seed", "1", "--out", "run", cwd=d)
    assert code == 0, out
    # Images of sizes the network does not take as they are: padded and cropped back.
    code, out = tool("seg_make_synthetic", "--out", "odd", "--train", "1", "--val", "3", "--size", "37x45",
                     "--seed", "5", cwd=d)
    assert code == 0, out
    return d


def images_in(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def test_predict_agrees_with_seg_predict_bit_for_bit(run):
    model = cuseg.load(str(run / "run/best.safetensors"))
    assert model.classes == ["background", "circle", "rectangle", "triangle"]
    assert model.config["in_channels"] == 3 and model.config["multiple"] == 4
    assert model.device == "cpu"
    for folder in ("data/val/images", "odd/val/images"):
        code, out = tool("seg_predict", "--checkpoint", "run/best.safetensors", folder, "--out", "pred_" + folder[:3],
                         cwd=run)
        assert code == 0, out
        for path in images_in(run / folder):
            stem = os.path.splitext(os.path.basename(path))[0]
            want = np.asarray(Image.open(run / ("pred_" + folder[:3]) / (stem + "_mask.png")))
            image = np.asarray(Image.open(path).convert("RGB"))
            got = model.predict(image)
            assert got.dtype == np.uint8 and got.shape == want.shape
            assert np.array_equal(got, want), f"{path}: {np.count_nonzero(got != want)} pixels differ"
            assert len(np.unique(want)) >= 2, f"{path}: a one-class mask tests little"
            # float in [0, 1] is the same input
            assert np.array_equal(model.predict(image.astype(np.float32) / 255), want)


def test_batches_and_probabilities(run):
    model = cuseg.load(str(run / "run/best.safetensors"))
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in images_in(run / "data/val/images")])
    classes, probs = model.predict(images, probabilities=True)
    assert classes.shape == images.shape[:3] and probs.shape == images.shape[:3] + (4,)
    assert np.allclose(probs.sum(-1), 1, atol=1e-5)
    assert np.array_equal(classes, probs.argmax(-1))
    for i, image in enumerate(images):
        assert np.array_equal(model.predict(image), classes[i])
    # One image: views of cuseg's memory that outlive the call (and the model).
    one, p1 = model.predict(images[0], probabilities=True)
    assert not one.flags.owndata and not p1.flags.owndata and one.base is not None
    del model
    assert np.array_equal(one, classes[0]) and np.array_equal(p1, probs[0])


def test_exports_are_seg_exports(run):
    model = cuseg.load(str(run / "run/best.safetensors"))
    model.export_onnx(str(run / "py.onnx"), head="softmax")
    code, out = tool("seg_export", "--checkpoint", "run/best.safetensors", "--onnx", "cli.onnx", "--head", "softmax",
                     cwd=run)
    assert code == 0, out
    assert (run / "py.onnx").read_bytes() == (run / "cli.onnx").read_bytes()


def test_evaluate_is_seg_evals_json(run):
    import json
    model = cuseg.load(str(run / "run/best.safetensors"))
    code, out = tool("seg_eval", "--checkpoint", str(run / "run/best.safetensors"), "--data", "data", "--json",
                     "eval.json", cwd=run)
    assert code == 0, out
    want = json.loads((run / "eval.json").read_text())
    got = cuseg.evaluate(model, str(run / "data"), split="val")
    assert got["images"] == 4 and sum(map(sum, got["confusion"])) == 4 * 32 * 32
    for key in ("miou", "mdice", "pixel_accuracy", "confusion", "classes"):
        assert got[key] == want[key], key
    with pytest.raises(cuseg.Error, match="split 'test'"):
        cuseg.evaluate(model, str(run / "data"), split="test")


def test_train_stop_from_the_callback_and_resume_bit_for_bit(run, monkeypatch):
    monkeypatch.chdir(run)
    tiny = dict(data="data", base=4, depth=3, size=32, batch=4, epochs=3, seed=2)
    straight = cuseg.train(out="py_straight", **tiny)
    assert straight["status"] == "finished" and straight["epochs"] == 3
    seen = []

    def stop_after_two(log):
        seen.append(log)
        return log["epoch"] < 2

    stopped = cuseg.train(out="py_stopped", callback=stop_after_two, **tiny)
    assert stopped["status"] == "interrupted" and [log["epoch"] for log in seen] == [1, 2]
    assert {"miou", "val_loss", "lr", "iou"} <= seen[0].keys()
    # The first call again with resume=True: the same values are accepted.
    resumed = cuseg.train(out="py_stopped", resume=True, **tiny)
    assert resumed["status"] == "finished"
    image = np.asarray(Image.open(images_in(run / "data/val/images")[0]).convert("RGB"))
    a = cuseg.load("py_straight/last.safetensors").predict(image, probabilities=True)[1]
    b = cuseg.load("py_stopped/last.safetensors").predict(image, probabilities=True)[1]
    assert np.array_equal(a, b), "a resumed run ends where an uninterrupted one does"
    with pytest.raises(cuseg.Error, match="--lr: 1.0 differs from the stored 0.003"):
        cuseg.train(out="py_stopped", resume=True, lr=1)
    with pytest.raises(cuseg.Error, match="no option learning_rate"):
        cuseg.train(out="py_x", learning_rate=1)
    code, cli = tool("seg_train", "--data", "no_such_folder", cwd=run)
    with pytest.raises(cuseg.Error) as e:
        cuseg.train(data="no_such_folder")
    assert code == 2 and str(e.value) in cli, (str(e.value), cli)


def test_the_readme_example_runs(run, monkeypatch):
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    start = readme.index("```python", readme.index("<!-- python-example")) + len("```python")
    code = readme[start:readme.index("```", start)]
    monkeypatch.chdir(run)
    Image.open(images_in(run / "data/val/images")[0]).save(run / "photo.png")
    exec(compile(code, "README.md", "exec"), {})
    assert (run / "model.onnx").stat().st_size > 0 and (run / "state.safetensors").stat().st_size > 0
    assert (run / "runs/a/best.safetensors").exists()


def test_bad_input_raises_the_tools_message(run, monkeypatch):
    model = cuseg.load(str(run / "run/best.safetensors"))
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(cuseg.Error, match="images have 1 channels, the model 3"):
        model.predict(image[:, :, :1].copy())
    with pytest.raises(cuseg.Error, match="H×W×C or N×H×W×C"):
        model.predict(np.zeros((32, 32), np.uint8))
    with pytest.raises(cuseg.Error, match="uint8, float32 or float64, got int16"):
        model.predict(image.astype(np.int16))
    with pytest.raises(cuseg.Error, match="not C-contiguous"):
        model.predict(np.zeros((32, 64, 3), np.uint8)[:, ::2])
    with pytest.raises(cuseg.Error, match="--head 'probs'"):
        model.export_onnx(str(run / "x.onnx"), head="probs")
    (run / "not_a_checkpoint.safetensors").write_bytes(b"0123456789")
    code, cli = tool("seg_predict", "--checkpoint", "not_a_checkpoint.safetensors", "data/val/images", cwd=run)
    assert code == 1
    monkeypatch.chdir(run)
    with pytest.raises(cuseg.Error) as e:
        cuseg.load("not_a_checkpoint.safetensors")
    assert str(e.value) in cli, (str(e.value), cli)


def test_train_takes_every_flag_of_seg_train_as_a_keyword(run, monkeypatch):
    import json
    monkeypatch.chdir(run)
    # Made from the table of training options: every flag is a keyword, with its default.
    code, help_text = tool("seg_train", "--help", cwd=run)
    assert code == 0
    flags = [line.split()[0] for line in help_text.splitlines() if line.startswith("  --") and "--help" not in line]
    doc = cuseg.train.__doc__
    for flag in ("--collective-timeout", "--stop-after-steps", "--resume", "--bn", "--keep-alpha"):
        assert flag in flags
    for flag in set(flags):
        assert "  " + flag[2:].replace("-", "_") in doc, flag
    assert "  epochs=3:" in doc and "  lr=0.003:" in doc and "  augment=True:" in doc
    # A flag that takes 1/0 takes False as 0 (it was left out, training with batch norm).
    r = cuseg.train(data="data", base=4, depth=3, size=32, batch=4, epochs=1, bn=False, stop_after_steps=1,
                    out="py_keywords")
    assert r["status"] == "interrupted"
    config = json.loads((run / "py_keywords/config.json").read_text())
    assert config["batch_norm"] is False and config["epochs"] == 1
