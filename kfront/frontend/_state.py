"""A state dict loaded into a front-end built with other settings: say which settings differ.
"""
# torch reports such a load as a size mismatch of tensors, with strict=False too, which leaves the user to work out
# that n_fft was 1024 and not 512. So state_dict() records the settings that shape a front-end's tensors in the
# state dict's metadata (state_dict._metadata[prefix], which travels with torch.save), and a load pre-hook compares
# the incoming tensors' shapes with the module's before torch does, raising a ValueError that names the settings
# that differ. A state dict without the metadata still gets the tensors and the settings each one follows.
import dataclasses

import torch

_KEY = "kfront_settings"
#: the settings each tensor's shape follows, for a state dict that carries no settings
TENSOR_SETTINGS = {"kmatrix.twiddle": "n_fft, real_input, kmatrix_width, kmatrix_expansion",
                   "kmatrix.perm": "n_fft, real_input, kmatrix_expansion", "twiddle_init": "n_fft, real_input",
                   "window": "win_length", "window_init": "win_length", "mel_log_steps": "n_mels",
                   "fb_sqrt": "n_fft, n_mels", "fb": "n_fft, n_mels", "dct_mat": "n_mels, n_mfcc",
                   "separation": "n_fft", "lifter_coeffs": "n_mfcc"}


def settings_of(module) -> dict:
    """The settings that shape ``module``'s tensors: its configuration's plain fields and its own extras."""
    plain = (bool, int, float, str, tuple, type(None))
    settings = {f.name: getattr(module.config, f.name) for f in dataclasses.fields(module.config)
                if isinstance(getattr(module.config, f.name), plain)}
    settings.update(module._state_settings())
    return settings


def record_settings(module, state_dict, prefix, local_metadata) -> None:
    """``state_dict`` post-hook: the settings go into this module's metadata entry."""
    local_metadata[_KEY] = settings_of(module)


def check_shapes(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs) -> None:
    """``load_state_dict`` pre-hook: raise ``ValueError`` naming the differing settings when a tensor's shape
    differs from the module's (whatever ``strict`` says: torch would refuse the load either way)."""
    mine = dict(module.named_parameters())
    mine.update(module.named_buffers())
    shapes = []
    for name, tensor in mine.items():
        theirs = state_dict.get(prefix + name)
        if tensor is not None and isinstance(theirs, torch.Tensor) and theirs.shape != tensor.shape:
            shapes.append(f"{name} {tuple(theirs.shape)} in the state dict, {tuple(tensor.shape)} here "
                          f"(set by {TENSOR_SETTINGS.get(name, 'the configuration')})")
    if not shapes:
        return
    saved, own = local_metadata.get(_KEY), settings_of(module)
    cls = type(module).__name__
    if saved:
        differ = [f"{k}={saved[k]!r} (this one: {own[k]!r})" for k in own if k in saved and saved[k] != own[k]]
        what = (f"the state dict was saved from a front-end with {', '.join(differ)}" if differ
                else "the state dict's tensors have other shapes")
    else:
        what = "the state dict's tensors have other shapes (it carries no settings to compare)"
    raise ValueError(f"cannot load the state dict into this {cls}: {what}; {'; '.join(shapes)}. Build the "
                     "front-end with the settings it was saved with.")
