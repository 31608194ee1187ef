"""TIMIT: reading the corpus in any of its distributed forms, phone maps, standard splits and manifests."""
from .corpus import CorpusError, Utterance, find_corpus_root, list_utterances, read_audio, read_phn
from .manifest import FIELDS, read_manifest, write_manifest
from .phones import PhoneMap, UnknownPhoneError, load_phone_map
from .prepare import prepare_timit
from .splits import SPLITS, load_speaker_list, standard_splits

__all__ = [
    "CorpusError",
    "FIELDS",
    "PhoneMap",
    "SPLITS",
    "UnknownPhoneError",
    "Utterance",
    "find_corpus_root",
    "list_utterances",
    "load_phone_map",
    "load_speaker_list",
    "prepare_timit",
    "read_audio",
    "read_manifest",
    "read_phn",
    "standard_splits",
    "write_manifest",
]
