"""A CTC phone recognizer with a swappable front-end: model, data, training, decoding and scoring."""
from .builder import build_frontend, build_model, load_model
from .config import Config, ConfigError, apply_overrides, config_to_dict, load_config, save_config
from .data import BucketBatchSampler, PhoneVocab, UtteranceDataset, collate
from .decode import ctc_decode, greedy_decode, prefix_beam_search
from .evaluation import decode_split, score_split
from .layout import decode_dir_name, parse_decode_dir, parse_run_dir, run_dir_name
from .model import CTCModel, utterance_norm
from .score import ErrorCounts, align, count_errors, format_alignment, score_corpus
from .train import TrainingInterrupted, train

__all__ = [
    "BucketBatchSampler",
    "CTCModel",
    "Config",
    "ConfigError",
    "ErrorCounts",
    "PhoneVocab",
    "TrainingInterrupted",
    "UtteranceDataset",
    "align",
    "apply_overrides",
    "build_frontend",
    "build_model",
    "collate",
    "config_to_dict",
    "count_errors",
    "ctc_decode",
    "decode_dir_name",
    "decode_split",
    "format_alignment",
    "greedy_decode",
    "load_config",
    "load_model",
    "parse_decode_dir",
    "parse_run_dir",
    "prefix_beam_search",
    "run_dir_name",
    "save_config",
    "score_corpus",
    "score_split",
    "train",
    "utterance_norm",
]
