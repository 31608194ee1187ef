"""freeze(): frozen copies equal their source, export with torch.export and ONNX."""
import importlib.util

import pytest
import torch

from kfront import MFCC
from kfront.frontend import freeze, kmatrix_drift

from _frontend_cases import SMALL, trained as make_trained


@pytest.mark.parametrize("form,real_input", [("dense", "complex"), ("butterfly", "complex"),
                                             ("butterfly", "packed")])
def test_freeze_and_torch_export(form, real_input):
    fe = make_trained(real_input=real_input)
    assert kmatrix_drift(fe) > 1e-3
    frozen = freeze(fe, form)
    assert not list(frozen.parameters()) and frozen.n_features == fe.n_features
    x = torch.randn(2, 800)
    want = fe(x).detach()
    torch.testing.assert_close(frozen(x), want, rtol=1e-4, atol=1e-4)
    program = torch.export.export(frozen, (x,))
    torch.testing.assert_close(program.module()(x), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(program.module()(x * 0.5), fe(x * 0.5).detach(), rtol=1e-4, atol=1e-4)
    feats, lengths = frozen(x, torch.tensor([800, 300]))
    assert lengths.tolist() == [51, 19]
    torch.testing.assert_close(frozen.analysis_matrix(), fe.analysis_matrix(), rtol=1e-5, atol=1e-5)


def test_freeze_fixed_frontend():
    fe = MFCC(**SMALL, n_mfcc=5)
    x = torch.randn(700)
    torch.testing.assert_close(freeze(fe)(x), fe(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="K-matrix"):
        freeze(fe, "butterfly")


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
                    reason="onnx / onnxscript are not installed")
def test_onnx_export(tmp_path):
    trained = make_trained()
    frozen = freeze(trained)
    x = torch.randn(1, 800)
    torch.onnx.export(frozen, (x,), str(tmp_path / "frontend.onnx"), dynamo=True)
    assert (tmp_path / "frontend.onnx").stat().st_size > 0
    ort = pytest.importorskip("onnxruntime")
    runner = ort.InferenceSession(str(tmp_path / "frontend.onnx"))
    (got,) = runner.run(None, {runner.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        want = trained(x)  # the trained module itself, custom op and all
    torch.testing.assert_close(torch.from_numpy(got), want, rtol=1e-4, atol=1e-4)
