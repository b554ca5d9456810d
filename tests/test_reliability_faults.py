"""Faults injected from the command line: a full disk while writing a checkpoint, a model or an
export (a patched write raising ENOSPC), an unwritable --output, a NaN-producing learning rate (also
under mixed_float16), and damaged model files. Each test checks the one-line message, the exit
status, and that the previous good state is intact."""

import errno
import hashlib
import json
import os
import pathlib
import shutil

import numpy as np
import pytest
import safetensors.numpy
import tensorflow as tf

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.models.finetuned import load_finetuned, save_finetuned
from bertzoo.recipes import pretrain

LEGACY = pathlib.Path(__file__).parent / "data" / "legacy"
SMALL = ["--seq-length", "32", "--global-batch-size", "16", "--dupe-factor", "1", "--log-every", "1",
         "--max-predictions-per-seq", "5", "--deterministic"]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    pretrain.learn_vocabulary([str(pretrain.DEFAULT_CORPUS)], 800, True, path)
    return path


def args(out, vocab_file, steps, *extra):
    return ["pretrain", "--output", str(out), "--steps", str(steps), "--vocab", str(vocab_file), *SMALL, *extra]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, vocab_file):
    """A finished 6-step run (checkpoints at 3 and 6, pretrained/ written)."""
    out = tmp_path_factory.mktemp("short") / "run"
    assert cli_main(args(out, vocab_file, 6, "--checkpoint-every", "3")) == 0
    return out


def copy_run(source, tmp_path, name="run", checkpoints=True):
    out = tmp_path / name
    shutil.copytree(source, out, ignore=None if checkpoints else shutil.ignore_patterns("checkpoints"))
    return out


def tree_digest(directory):
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(pathlib.Path(directory).rglob("*")) if path.is_file()}


def checkpoint_steps(out):
    return sorted(int(p.name[len("ckpt-"):-len(".index")]) for p in (out / "checkpoints").glob("ckpt-*.index"))


def no_space(*_, **__):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, vocab_file, short_run, monkeypatch,
                                                                     capsys):
    out = copy_run(short_run, tmp_path, checkpoints=False)
    shutil.rmtree(out / "pretrained")
    original_save = tf.train.CheckpointManager.save

    def save(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number == 6:  # the disk fills up half way through writing ckpt-6
            prefix = pathlib.Path(manager.directory) / "ckpt-6"
            (prefix.parent / "ckpt-6_temp").mkdir()
            (prefix.parent / "ckpt-6_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 1000)
            raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}_temp/part-00000: No space left on device")
        return original_save(manager, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    assert cli_main(args(out, vocab_file, 6, "--checkpoint-every", "3")) == 2
    err = capsys.readouterr().err
    checkpoints = out / "checkpoints"
    assert len(err.strip().splitlines()) == 1
    assert f"no space left on device while writing {checkpoints / 'ckpt-6'} (" in err and " free there)" in err
    assert f"the previous checkpoint {checkpoints / 'ckpt-3'} is intact (a rerun resumes from it)" in err
    assert checkpoint_steps(out) == [3] and not list(checkpoints.glob("ckpt-6*"))  # partial files removed
    assert not (out / "pretrained").exists()

    reader = tf.train.load_checkpoint(str(checkpoints / "ckpt-3"))  # the previous checkpoint reads back whole
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating:
            reader.get_tensor(name)
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 3


def test_full_disk_while_writing_the_model_keeps_the_previous_one(tmp_path, vocab_file, short_run, monkeypatch,
                                                                  capsys):
    out = copy_run(short_run, tmp_path)
    before = tree_digest(out / "pretrained")
    monkeypatch.setattr(safetensors.numpy, "save_file", no_space)
    # The run is complete: the rerun only writes pretrained/ again, and the disk is full.
    assert cli_main(args(out, vocab_file, 6, "--checkpoint-every", "3")) == 2
    err = capsys.readouterr().err
    assert f"no space left on device while writing {out / 'pretrained'} (" in err
    assert f"the previous {out / 'pretrained'} is intact" in err
    assert tree_digest(out / "pretrained") == before
    assert [path.name for path in out.iterdir() if path.name.startswith(".")] == []  # no staging left
    monkeypatch.undo()
    assert bertzoo.load_pretrained(out / "pretrained", seq_length=32).config.num_hidden_layers == 2


@pytest.mark.slow  # an export audits its ops in a subprocess: over a minute on a busy CPU
def test_full_disk_while_exporting_keeps_the_served_version(tmp_path, monkeypatch, capsys):
    export_dir = tmp_path / "export"
    assert cli_main(["export", str(LEGACY / "classify"), str(export_dir)]) == 0
    before = tree_digest(export_dir)
    capsys.readouterr()
    monkeypatch.setattr(tf.saved_model, "save", no_space)
    assert cli_main(["export", str(LEGACY / "classify"), str(export_dir), "--version", "1", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"no space left on device while writing {export_dir / '1'} (" in err
    assert f"the previous {export_dir / '1'} is intact" in err
    assert cli_main(["export", str(LEGACY / "classify"), str(export_dir)]) == 2  # next version: 2
    assert f"{export_dir / '2'} was not created" in capsys.readouterr().err
    assert tree_digest(export_dir) == before and sorted(p.name for p in export_dir.iterdir()) == ["1"]


def test_unwritable_output_is_refused_before_training(tmp_path, vocab_file, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert cli_main(args(blocker / "run", vocab_file, 6)) == 2
    err = capsys.readouterr().err
    assert f"--output {blocker / 'run'} is not writable" in err and "nothing was trained" in err
    if os.geteuid() != 0:  # root writes anywhere: the mode test needs an ordinary user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert cli_main(args(locked, vocab_file, 6)) == 2
        assert f"--output {locked} is not writable" in capsys.readouterr().err


@pytest.mark.parametrize("precision", [None, pytest.param("mixed_float16", marks=pytest.mark.slow)])
def test_non_finite_loss_names_step_terms_and_last_good_checkpoint(tmp_path, vocab_file, short_run, capsys,
                                                                   precision):
    """A learning rate that overflows float32 (1e39 = inf) makes the weights NaN after one update."""
    extra = ["--mixed-precision", precision] if precision else []
    if precision:
        out = tmp_path / "run"
        shutil.copytree(short_run / "data", out / "data")
        assert cli_main(args(out, vocab_file, 3, "--checkpoint-every", "3", *extra)) == 0
        shutil.rmtree(out / "pretrained")
    else:
        out = copy_run(short_run, tmp_path)
        for path in (out / "checkpoints").glob("ckpt-6.*"):
            path.unlink()  # resume from ckpt-3
        shutil.rmtree(out / "pretrained")
    capsys.readouterr()
    assert cli_main(args(out, vocab_file, 12, "--checkpoint-every", "3", "--learning-rate", "1e39", *extra)) == 2
    err = capsys.readouterr().err
    checkpoint = out / "checkpoints" / "ckpt-3"
    # Step 4 updates with an infinite rate: the loss of step 5 is the first one computed from NaN weights.
    assert "the loss is not finite at step 5 (loss nan: masked_lm nan, next_sentence nan)" in err
    assert f"Last good checkpoint: {checkpoint} (a rerun resumes from it" in err
    assert checkpoint_steps(out) == [3] and not (out / "pretrained").exists()
    reader = tf.train.load_checkpoint(str(checkpoint))
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating:
            assert np.all(np.isfinite(reader.get_tensor(name))), name


def test_damaged_model_files_are_named(tmp_path, short_run):
    pretrained = copy_run(short_run / "pretrained", tmp_path, "pretrained")
    weights = pretrained / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # a flipped bit in the last tensor: still a valid safetensors file
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{weights} is damaged: its SHA-256 is .*bertzoo.json recorded"):
        bertzoo.load_pretrained(pretrained, seq_length=32)
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValueError, match=f"{weights} is damaged: not a readable safetensors file"):
        bertzoo.load_pretrained(pretrained, seq_length=32)

    finetuned = tmp_path / "model"
    shutil.copytree(LEGACY / "classify", finetuned)
    save_finetuned(load_finetuned(finetuned), finetuned, overwrite=True)  # written by this bertzoo: with SHA-256 records
    head = finetuned / "head.safetensors"
    data = bytearray(head.read_bytes())
    data[-3] ^= 0x01
    head.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{head} is damaged: its SHA-256"):
        load_finetuned(finetuned)
