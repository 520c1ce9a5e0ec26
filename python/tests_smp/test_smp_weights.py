"""A segmentation_models_pytorch model trained in PyTorch, used by cuseg as people save it: its
state dict with torch.save (.pth, bare or in a checkpoint dict, DataParallel's "module." keys
included) or with safetensors. cuseg.load reads which network it is from the keys and shapes,
and predicts what SMP predicts; cuseg.convert_pth writes the safetensors file the tools take;
seg_predict on it writes the mask cuseg.load predicts.

Runs in the virtual environment scripts/deps.sh makes over Debian's PyTorch (.venv-torch: SMP
0.6.0, offline, encoder_weights=None), which sees the cuseg module built for /usr/bin/python3:

    PYTHONPATH=<build>/python CUSEG_TOOLS_DIR=<build>/apps .venv-torch/bin/python -m pytest python/tests_smp
"""
import os
import subprocess

import numpy as np
import pytest
import safetensors.torch
import segmentation_models_pytorch as smp
import torch
from PIL import Image

import cuseg

TOOLS = os.environ.get("CUSEG_TOOLS_DIR", "")
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])

NETWORKS = [
    dict(arch="Unet", encoder_name="resnet18", classes=3),
    dict(arch="Unet", encoder_name="mobilenet_v2", classes=2, decoder_attention_type="scse", encoder_depth=4,
         decoder_channels=[128, 64, 32, 16]),
    dict(arch="FPN", encoder_name="efficientnet-b0", classes=4),
    dict(arch="DeepLabV3Plus", encoder_name="resnet34", classes=1),  # binary: a sigmoid head
]


def smp_model(kw, seed=0):
    torch.manual_seed(seed)
    model = smp.create_model(encoder_weights=None, **kw)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # batch norms that matter
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) - 0.5)
                m.running_mean.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return model.eval()


def smp_probabilities(model, image):
    x = (image.astype(np.float64) / 255 - MEAN) / STD
    with torch.no_grad():
        logits = model(torch.from_numpy(x).float().permute(2, 0, 1)[None])
    if logits.shape[1] == 1:  # a sigmoid head: background and foreground
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], 1)[0].permute(1, 2, 0).numpy()
    return torch.softmax(logits, 1)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("kw", NETWORKS, ids=lambda kw: f"{kw['arch']}-{kw['encoder_name']}")
def test_a_torch_save_file_loads_and_predicts_what_smp_does(kw, tmp_path):
    model = smp_model(kw)
    image = np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    expected = smp_probabilities(model, image)

    torch.save(model.state_dict(), tmp_path / "bare.pth")
    # A training script's checkpoint: the state dict of a DataParallel model, under "state_dict".
    wrapped = {"epoch": 3, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}
    torch.save(wrapped, tmp_path / "wrapped.pth")
    safetensors.torch.save_file(model.state_dict(), str(tmp_path / "st.safetensors"))
    cuseg.convert_pth(str(tmp_path / "wrapped.pth"), str(tmp_path / "converted.safetensors"))

    for name in ["bare.pth", "wrapped.pth", "st.safetensors", "converted.safetensors"]:
        m = cuseg.load(str(tmp_path / name))
        config = m.config
        for key in ["arch", "encoder_name", "classes", "encoder_depth", "in_channels"]:
            want = kw.get(key, {"encoder_depth": 5, "in_channels": 3}.get(key))
            assert config[key] == want, (name, key)
        names = ["background", "foreground"] if kw["classes"] == 1 else [f"class_{k}" for k in range(kw["classes"])]
        assert m.classes == names
        classes, probs = m.predict(image, probabilities=True)
        np.testing.assert_allclose(probs, expected, atol=2e-4, err_msg=name)
        assert (classes == expected.argmax(-1)).mean() > 0.999, name


def test_seg_predict_takes_the_converted_file(tmp_path):
    kw = NETWORKS[0]
    torch.save(smp_model(kw).state_dict(), tmp_path / "m.pth")
    cuseg.convert_pth(str(tmp_path / "m.pth"), str(tmp_path / "m.safetensors"))
    image = np.random.default_rng(2).integers(0, 256, (45, 70, 3), dtype=np.uint8)  # padded, cropped back
    Image.fromarray(image).save(tmp_path / "a.png")
    r = subprocess.run([os.path.join(TOOLS, "seg_predict"), "--checkpoint", "m.safetensors", "--out", "pred",
                        "--device", "cpu", "a.png"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    mask = np.array(Image.open(tmp_path / "pred" / "a_mask.png"))
    assert np.array_equal(mask, cuseg.load(str(tmp_path / "m.safetensors")).predict(image))


def test_what_is_not_an_smp_state_dict_is_named(tmp_path):
    state = smp_model(NETWORKS[0]).state_dict()
    del state["segmentation_head.0.weight"]
    torch.save(state, tmp_path / "headless.pth")
    with pytest.raises(cuseg.Error, match="headless.pth: no 'segmentation_head.0.weight'"):
        cuseg.load(str(tmp_path / "headless.pth"))
    torch.save({"weights": [1, 2]}, tmp_path / "list.pth")
    with pytest.raises(cuseg.Error, match="'weights' is not a tensor"):
        cuseg.load(str(tmp_path / "list.pth"))
