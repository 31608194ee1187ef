"""The names of an experiment's folders: built and parsed back in one place, and the command line run.sh asks."""
import subprocess
import sys

import pytest

from kfront.asr.__main__ import main
from kfront.asr.layout import decode_dir, decode_dir_name, parse_decode_dir, parse_run_dir, run_dir_name


@pytest.mark.parametrize("frontend, seed, name", [("mfcc", 1, "mfcc_seed1"), ("kaleido_mfcc_packed", 12,
                                                   "kaleido_mfcc_packed_seed12"), ("fbank-80", 0, "fbank-80_seed0")])
def test_run_dir_round_trip(frontend, seed, name):
    assert run_dir_name(frontend, seed) == name
    assert parse_run_dir(name) == (frontend, seed)


@pytest.mark.parametrize("split, tag, name", [("dev", None, "decode_dev"), ("test", "init", "decode_test_init"),
                                              ("test", "beam_20", "decode_test_beam_20"), ("dev", "", "decode_dev")])
def test_decode_dir_round_trip(split, tag, name, tmp_path):
    assert decode_dir_name(split, tag) == name
    assert parse_decode_dir(name) == (split, tag or None)
    assert decode_dir(tmp_path / "mfcc_seed1", split, tag) == tmp_path / "mfcc_seed1" / name


@pytest.mark.parametrize("name", ["plots", "RESULTS.md", "mfcc_seed", "mfcc_seedx", "_seed1", "mfcc seed1"])
def test_other_folders_are_not_runs(name):
    assert parse_run_dir(name) is None


@pytest.mark.parametrize("name", ["decode_", "decode", "hyp.txt", "decode_dev_", "encode_dev"])
def test_other_folders_are_not_decodings(name):
    assert parse_decode_dir(name) is None


@pytest.mark.parametrize("args, message", [
    (("mfcc", -1), "seed must be a non-negative integer, got -1"),
    (("mfcc", "1"), "got '1'"),
    (("a/b", 1), "got 'a/b'"),
    (("", 1), "got ''"),
])
def test_bad_run_names_raise(args, message):
    with pytest.raises(ValueError, match=message):
        run_dir_name(*args)


@pytest.mark.parametrize("args, message", [(("dev_clean",), "split must be letters and digits"),
                                           (("test", "a b"), "got 'a b'")])
def test_bad_decode_names_raise(args, message):
    with pytest.raises(ValueError, match=message):
        decode_dir_name(*args)


def test_command_line(capsys):
    assert main(["run-dir", "kaleido_mfcc", "3"]) == 0
    assert capsys.readouterr().out == "kaleido_mfcc_seed3\n"
    assert main(["run-dirs", "--frontends", "mfcc", "kaleido_mfcc_packed", "--seeds", "1", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mfcc 1 mfcc_seed1", "mfcc 2 mfcc_seed2", "kaleido_mfcc_packed 1 kaleido_mfcc_packed_seed1",
        "kaleido_mfcc_packed 2 kaleido_mfcc_packed_seed2"]
    for argv, message in ((["run-dirs", "--frontends", "m/x", "--seeds", "1"], "got 'm/x'"),
                          (["run-dir", "mfcc", "one"], "got 'one'")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_python_dash_m_runs_it_quietly():
    proc = subprocess.run([sys.executable, "-m", "kfront.asr", "run-dir", "mfcc", "7"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "mfcc_seed7\n" and proc.stderr == ""
