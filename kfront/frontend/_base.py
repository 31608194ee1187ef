"""``FrontendBase``: the pipeline every front-end runs and the contract every front-end answers.

A subclass supplies the one stage that differs, :meth:`FrontendBase.power_spectrum` (a fixed FFT, a learnable
K-matrix, a frozen matrix), and the stages' current values; diagnostics, plots and export ask any front-end the
same questions (``transform_matrix``, ``filterbank``, ``window_values``, their ``initial_`` values, ...).
"""
import torch
from torch import nn

from . import _state
from . import functional as F
from ._checks import check_filterbank, check_lengths, check_num_samples, check_samples, peak_limit
from .config import FeatureConfig
from .diagnostics import count_parameters

_DTYPES = (torch.float32, torch.float64)


def resolve_dtype(dtype) -> torch.dtype:
    dtype = dtype or torch.get_default_dtype()
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


class FrontendBase(nn.Module):
    """Base of the front-ends: ``forward(waveform, lengths=None, sample_rate=None) -> (..., n_features, frames)``.

    Args:
        config (FeatureConfig): the fixed stages, read as ``self.config``.
        dtype (torch.dtype): real dtype of the lifter buffer (the subclass holds the rest).
        convention (str, optional): the name ``config`` came from, for ``repr``.
    """

    def __init__(self, config: FeatureConfig, dtype: torch.dtype = torch.float32, convention: str | None = None):
        super().__init__()
        self.config = config.checked()
        self.convention = getattr(convention, "name", convention)
        lifter = F.lifter_coefficients(config.n_mfcc, config.lifter, dtype) if config.output == "mfcc" \
            and config.lifter > 0 else None
        self.register_buffer("lifter_coeffs", lifter, persistent=False)  # (n_mfcc,) or None; from the config
        check_filterbank(mel_filterbank_of(config), config)
        # A state dict saved with other settings is refused by naming the settings, not the tensor shapes.
        self.register_state_dict_post_hook(_state.record_settings)
        self.register_load_state_dict_pre_hook(_state.check_shapes)

    # --- the stage a subclass supplies ------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        """Real dtype the features are computed in."""
        raise NotImplementedError

    def power_spectrum(self, frames: torch.Tensor) -> torch.Tensor:
        """Window, zero-pad to ``n_fft``, transform, power: ``(..., frame_length) -> (..., n_freqs)``, real."""
        raise NotImplementedError

    def transform_matrix(self) -> torch.Tensor:
        """Complex ``(n_freqs, n_fft)`` map from a windowed, zero-padded frame to the bins the power is taken of."""
        raise NotImplementedError

    def filterbank(self) -> torch.Tensor:
        """The ``(n_freqs, n_mels)`` filterbank applied to the power spectrum."""
        raise NotImplementedError

    def window_values(self) -> torch.Tensor:
        """The ``(win_length,)`` analysis window as it is now."""
        raise NotImplementedError

    def dct_matrix(self) -> torch.Tensor | None:
        """The ``(n_mels, n_mfcc)`` DCT matrix, or ``None`` for log-mel output."""
        return None

    def _state_settings(self) -> dict:
        """Settings besides the configuration's that shape the state dict's tensors (see ``_state``)."""
        return {}

    # --- the contract, with the answers of a fixed front-end --------------------------------------------------
    @property
    def has_kmatrix(self) -> bool:
        """Whether the transform is a K-matrix (learnable, or learned for a frozen copy) rather than the DFT."""
        return False

    @property
    def learn(self) -> tuple:
        """Stages that learn (for a frozen copy: that learned), among kmatrix, window, filterbank, dct."""
        return ()

    def num_learnable_parameters(self) -> int:
        """Real numbers that train (a complex entry counts 2); a frozen copy reports its source's."""
        return count_parameters(self)

    @torch.no_grad()
    def initial_transform_matrix(self) -> torch.Tensor:
        """The ``(n_freqs, n_fft)`` map at initialisation: the DFT unless a K-matrix started elsewhere."""
        eye = torch.eye(self.config.n_fft, dtype=self.dtype, device=self.filterbank().device)
        return torch.fft.rfft(eye, dim=0)  # (n_freqs, n_fft)

    @torch.no_grad()
    def initial_window(self) -> torch.Tensor:
        """The ``(win_length,)`` window the front-end started from."""
        cfg = self.config
        return F.make_window(cfg.window, cfg.win_length, self.dtype, cfg.periodic).to(self.filterbank().device)

    @torch.no_grad()
    def initial_filterbank(self) -> torch.Tensor:
        """The ``(n_freqs, n_mels)`` mel filterbank of the configuration."""
        fb = self.filterbank()
        return mel_filterbank_of(self.config, fb.dtype).to(fb.device)

    @torch.no_grad()
    def initial_dct_matrix(self) -> torch.Tensor | None:
        """The orthonormal ``(n_mels, n_mfcc)`` DCT-II, or ``None`` for log-mel output."""
        cfg = self.config
        if cfg.output != "mfcc":
            return None
        return F.create_dct(cfg.n_mfcc, cfg.n_mels, self.dtype).to(self.filterbank().device)

    def frame_window(self) -> torch.Tensor:
        """The current window placed in a frame: ``(frame_length,)`` (centred in ``n_fft`` for ``"stft"``)."""
        window = self.window_values()
        return F.pad_window(window, self.config.n_fft) if self.config.framing == "stft" else window

    @torch.no_grad()
    def analysis_matrix(self) -> torch.Tensor:
        """Complex ``(n_freqs, frame_length)`` map from a raw frame to the bins, window included."""
        t = self.transform_matrix()[:, :self.config.frame_length]  # (n_freqs, frame_length)
        return t * self.frame_window().to(t.dtype)

    # --- the pipeline -----------------------------------------------------------------------------------------
    def pad(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The signal the frames are cut from: ``(..., time) -> (..., time')`` (centring or Kaldi's mirroring,
        which mirrors each item of a padded batch at its own end, ``lengths``)."""
        cfg = self.config
        if cfg.framing == "stft":
            return F.center_pad(x, cfg.n_fft, cfg.pad_mode) if cfg.center else x
        return x if cfg.snip_edges else F.kaldi_mirror_pad(x, cfg.win_length, cfg.hop_length, lengths)

    def num_frames(self, n_samples):
        """Frames produced for ``n_samples`` samples (an int or an integer tensor such as ``lengths``)."""
        cfg = self.config
        if cfg.framing == "stft":
            n = F.num_frames(n_samples, cfg.n_fft, cfg.hop_length, cfg.center)
        elif cfg.snip_edges:
            n = F.count_frames(n_samples, cfg.win_length, cfg.hop_length)
        else:
            n = (n_samples + cfg.hop_length // 2) // cfg.hop_length
        if cfg.drop_last:
            n = (n - 1).clamp_min(0) if isinstance(n, torch.Tensor) else max(0, n - 1)
        return n

    def min_samples(self) -> tuple[int, str]:
        """The fewest samples that give one frame, and what needs them."""
        cfg = self.config
        if cfg.framing == "stft" and cfg.center and cfg.pad_mode == "reflect":
            need, why = cfg.n_fft // 2 + 1, f"reflect padding by n_fft // 2 = {cfg.n_fft // 2}"
        elif cfg.framing == "stft" and not cfg.center:
            need, why = cfg.n_fft, "one frame of n_fft"
        elif cfg.framing == "kaldi" and cfg.snip_edges:
            need, why = cfg.win_length, "one frame of win_length (snip_edges)"
        else:
            need, why = 1, "one frame"
        while self.num_frames(need) < 1:  # centred frames, a dropped last frame: a hop or two more
            need += 1
        return need, why + (" and a last frame to drop" if cfg.drop_last else "")

    def check_input(self, waveform, lengths=None, sample_rate=None) -> None:
        """Raise ``ValueError`` when ``forward`` cannot take these arguments (see ``kfront.frontend._checks``)."""
        check_samples(waveform, sample_rate, expected_sample_rate=self.config.sample_rate,
                      sample_format=self.config.sample_format, **self.peak_check())
        check_num_samples(waveform.shape[-1], *self.min_samples())
        if lengths is not None:
            check_lengths(lengths, waveform)

    def peak_check(self) -> dict:
        """``check_samples``'s arguments for the loudest audio whose features stay finite in this dtype."""
        cfg = self.config
        return dict(max_peak=peak_limit(self.dtype, cfg.frame_length, cfg.n_freqs), compute_dtype=self.dtype)

    def features_from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        """Features of every frame of an already padded signal: ``(..., time') -> (..., n_features, frames)``."""
        cfg = self.config
        frames = F.frame(padded, cfg.frame_length, cfg.hop_length)  # (..., frames, frame_length)
        if cfg.drop_last:
            frames = frames[..., :-1, :]
        energy = None
        mean = frames.mean(-1, keepdim=True) if cfg.remove_dc_offset else None  # (..., frames, 1)
        if cfg.energy is not None and cfg.raw_energy:
            energy = F.log_energy(frames if mean is None else frames - mean, cfg.energy_floor)  # (..., frames)
        if cfg.preemphasis > 0:
            frames = F.preemphasized_frames(padded, frames, cfg.hop_length, cfg.preemphasis, mean)
        elif mean is not None:
            frames = frames - mean
        if cfg.energy is not None and not cfg.raw_energy:
            energy = F.log_energy(frames * self.frame_window(), cfg.energy_floor)
        power = self.power_spectrum(frames)  # (..., frames, n_freqs)
        feats = F.compress(torch.matmul(power, self.filterbank()), cfg.log_scale, cfg.log_floor,
                           cfg.log_offset)  # (..., frames, n_mels)
        return self._finish(feats, energy).transpose(-1, -2)  # (..., n_features, frames)

    def _finish(self, feats: torch.Tensor, energy: torch.Tensor | None) -> torch.Tensor:
        """The stages after the log: dynamic-range floor, affine, DCT, lifter, energy, deltas, context."""
        cfg = self.config
        if cfg.dynamic_range is not None:
            feats = F.floor_dynamic_range(feats, cfg.dynamic_range)
        if cfg.feature_shift != 0 or cfg.feature_scale != 1:
            feats = (feats + cfg.feature_shift) * cfg.feature_scale
        dct = self.dct_matrix()
        if dct is not None:
            feats = torch.matmul(feats, dct)  # (..., frames, n_mfcc)
            if self.lifter_coeffs is not None:
                feats = feats * self.lifter_coeffs
        if cfg.energy == "c0":
            feats = torch.cat((energy.unsqueeze(-1), feats[..., 1:]), -1)
        elif cfg.energy == "prepend":
            feats = torch.cat((energy.unsqueeze(-1), feats), -1)  # (..., frames, 1 + n_mels)
        if cfg.deltas > 0:
            orders = [feats]
            for _ in range(cfg.deltas):
                orders.append(F.deltas(orders[-1], cfg.delta_window))
            feats = torch.cat(orders, -1)  # (..., frames, base * (1 + deltas))
        if sum(cfg.context) > 0:
            feats = F.context_window(feats, *cfg.context)  # (..., frames, n * (1 + left + right))
        return feats

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None, sample_rate: int | None = None):
        """
        Args:
            waveform (Tensor): ``(..., time)`` float audio; for the Kaldi conventions also ``int16`` PCM.
            lengths (LongTensor, optional): ``(batch,)`` valid samples of each item of a padded batch
                ``(batch, ..., time)``. (Default: ``None``)
            sample_rate (int, optional): rate of ``waveform``, checked. (Default: ``None``)

        Returns:
            Tensor: ``(..., n_features, frames)``; with ``lengths``, ``(features, frame_lengths)``, the frames of
            each item ``(batch,)``.
        """
        # Utterance-level stages (a dynamic-range floor, deltas) see the whole padded item, as the toolkits do;
        # Kaldi's mirrored edges mirror each item at its own end. Under autocast the front-end runs in its own
        # dtype: the power spectrum overflows float16 and its log loses most of bfloat16's digits.
        self.check_input(waveform, lengths, sample_rate)
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            feats = self.features_from_padded(self.pad(waveform.to(self.dtype), lengths))  # (..., n_features, frames)
        if lengths is None:
            return feats
        return feats, self.num_frames(lengths.long())

    def stream(self):
        """A :class:`~kfront.frontend.streaming.StreamingFrontend` that feeds this front-end chunk by chunk."""
        from .streaming import StreamingFrontend
        return StreamingFrontend(self)

    @property
    def n_features(self) -> int:
        """Features per frame: the size of the output's feature dimension."""
        return self.config.n_features

    def extra_repr(self) -> str:
        cfg = self.config
        return ((f"convention={self.convention!r}, " if self.convention else "")
                + f"sample_rate={cfg.sample_rate}, n_fft={cfg.n_fft}, win_length={cfg.win_length}, "
                f"hop_length={cfg.hop_length}, n_mels={cfg.n_mels}, f_min={cfg.f_min}, f_max={cfg.f_max}, "
                f"output={cfg.output!r}, n_features={cfg.n_features}, center={cfg.center}")


def mel_filterbank_of(config: FeatureConfig, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The ``(n_freqs, n_mels)`` mel filterbank ``config`` describes, built in float64 and cast."""
    return F.mel_filterbank(config.n_freqs, config.f_min, config.f_max, config.n_mels, config.sample_rate, dtype,
                            scale=config.mel_scale, shape=config.filter_shape, norm=config.mel_norm,
                            grid=config.freq_grid, n_fft=config.n_fft)
