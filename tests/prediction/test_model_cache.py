"""The cache of default models under damage: every kind of damaged entry is detected when loaded,
said in one line and rebuilt, never a traceback or a hang; a cache that cannot be written is a
one-line error before any training; every writer holds the cache's lock. The entries here are
tiny models trained in a second on a synthetic table and saved under the default models' names
(the real table's sha256), so nothing here trains a real default model."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from helpers import assert_user_error, tiny_default_entry


def _nan_weight(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "weights.safetensors"))
    tensors["enc0.weight"][0, 0, 0] = float("nan")
    save_file(tensors, str(folder / "weights.safetensors"))


def _reshape_weight(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "weights.safetensors"))
    tensors["enc0.weight"] = tensors["enc0.weight"][:, :-1]
    save_file(tensors, str(folder / "weights.safetensors"))


def _truncate(name: str):
    return lambda f: (f / name).write_bytes((f / name).read_bytes()[: (f / name).stat().st_size // 2])


def _reference_latent(folder: Path, value: float) -> None:
    with np.load(folder / "reference.npz") as z:
        arrays = dict(z)
    arrays["latent"][0, 0] = value
    np.savez(folder / "reference.npz", **arrays)


#: damage kind -> (how to do it, a fragment of the one-line reason)
DAMAGE = {
    "config not an object": (lambda f: (f / "config.json").write_text("[1, 2]"),
                             "config.json: holds an array, expected a JSON object"),
    "config a string": (lambda f: (f / "config.json").write_text('"model"'), "holds a string"),
    "config empty": (lambda f: (f / "config.json").write_text(""), "config.json: not valid JSON"),
    "config truncated": (_truncate("config.json"), "config.json: not valid JSON"),
    "manifest null": (lambda f: (f / "manifest.json").write_text("null"), "holds null"),
    "manifest default_model not an object": (
        lambda f: (f / "manifest.json").write_text(json.dumps(
            {**json.loads((f / "manifest.json").read_text()), "default_model": [1]})),
        "made for another table or version"),
    "history empty": (lambda f: (f / "history.csv").write_text(""),
                      "history.csv: unreadable training history"),
    "history not text": (lambda f: (f / "history.csv").write_bytes(b"\xff\xfe\x00"),
                         "history.csv: unreadable training history"),
    "history header only": (lambda f: (f / "history.csv").write_text("epoch,train_loss\n"),
                            "expected a training history with columns"),
    "history missing": (lambda f: (f / "history.csv").unlink(), "0 training histories"),
    "weights missing": (lambda f: (f / "weights.safetensors").unlink(),
                        "weights.safetensors: missing"),
    "weights empty": (lambda f: (f / "weights.safetensors").write_bytes(b""), "corrupt weights"),
    "weights truncated": (_truncate("weights.safetensors"), "corrupt weights"),
    "weights non-finite": (_nan_weight, "holds NaN or infinite values"),
    "weights of another shape": (_reshape_weight, "has shape"),
    "reference truncated": (_truncate("reference.npz"), "the reference viruses are unreadable"),
    "reference empty": (lambda f: (f / "reference.npz").write_bytes(b""),
                        "the reference viruses are unreadable"),
    "reference json truncated": (_truncate("reference.json"),
                                 "the reference viruses are unreadable"),
    "reference json not an object": (lambda f: (f / "reference.json").write_text("[]"),
                                     "the reference viruses are unreadable"),
    "reference missing": (lambda f: (f / "reference.npz").unlink(),
                          "reference.npz is missing"),
    "reference non-finite": (lambda f: _reference_latent(f, float("inf")),
                             "NaN or infinite latent means"),
    "entry is a file": (lambda f: (shutil.rmtree(f), f.write_text("x")), "is a file"),
    "config is a folder": (lambda f: ((f / "config.json").unlink(), (f / "config.json").mkdir()),
                           "config.json: missing"),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_each_kind_of_damage_is_detected_in_one_line(tiny_cache, tmp_path, kind):
    from hivlatent.prediction import defaults

    folder = tiny_default_entry(tmp_path, "NRTI")
    assert defaults.status(["NRTI"])[0].ready
    damage, fragment = DAMAGE[kind]
    damage(folder)
    state = defaults.status(["NRTI"])[0]
    assert not state.ready and state.damaged
    assert fragment in state.note and "\n" not in state.note, state.note


def test_a_forest_that_would_cycle_is_refused():
    """A damaged forest whose child points back to its node would send predict round forever."""
    from hivlatent.predictive.forest import Forest

    ok = Forest(np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([0, 0, 0]),
                np.array([0.5, 0, 0], np.float32), np.array([0, 1, 2], np.float32),
                np.array([0]))
    ok.check(1, "f")
    assert ok.predict(np.array([[0.0], [1.0]])).tolist() == [1.0, 2.0]
    cycle = Forest(np.array([0, -1, -1]), *(getattr(ok, f) for f in
                                            ("right", "feature", "threshold", "value", "roots")))
    with pytest.raises(ValueError, match="out of range"):
        cycle.check(1, "f")
    nan = Forest(ok.left, ok.right, ok.feature, np.array([np.nan, 0, 0], np.float32), ok.value,
                 ok.roots)
    with pytest.raises(ValueError, match="NaN or infinite thresholds"):
        nan.check(1, "f")


def test_a_damaged_entry_is_said_in_one_line_and_rebuilt(tiny_cache, tmp_path, run):
    from hivlatent.prediction import defaults

    for c in ("NRTI", "NNRTI"):
        folder = tiny_default_entry(tmp_path, c)
    (folder / "config.json").write_text("[]")                        # NNRTI's
    code, out, err = run("predict", "RT:K103N", "--format", "json", "--quiet")
    assert code == 0, err
    assert tiny_cache.calls == ["NNRTI"]                                  # NRTI's was fine
    notes = [line for line in err.splitlines() if "damaged" in line]
    assert len(notes) == 1 and notes[0].startswith("note: the cached NNRTI model")
    assert "config.json: holds an array" in notes[0] and "Traceback" not in err
    assert defaults.status(["NNRTI"])[0].ready
    assert {r["drug"] for r in json.loads(out)["records"][0]["drugs"]} >= {"EFV", "3TC"}


def test_a_cache_that_cannot_be_written_is_one_line_before_any_training(tiny_cache, tmp_path, run,
                                                                       monkeypatch):
    a_file = tmp_path / "cache-file"
    a_file.write_text("x")
    for place, fragment in ((a_file, "is a file, so nothing can be written under it"),
                            (Path("/sys/hivlatent-cache"), "cannot write in /sys")):
        monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(place))
        for args in (("models", "train", "--class", "NRTI"), ("models", "remove"),
                     ("predict", "M184V")):
            assert_user_error(run(*args), "model cache", fragment, "HIVLATENT_CACHE_DIR")
        code, out, err = run("models", "list")                    # reading needs no writing
        assert code == 0 and "missing" in out and "cannot train" in err
    assert tiny_cache.calls == [] and a_file.read_text() == "x"


def test_a_ready_model_in_a_read_only_cache_answers(tiny_cache, tmp_path, monkeypatch):
    """Loading takes no lock and writes nothing: a cache made by someone else serves."""
    from hivlatent.prediction import defaults

    tiny_default_entry(tmp_path, "NRTI")
    monkeypatch.setattr(defaults, "_locked", None)              # any writing would fail
    model, reference = defaults.get("NRTI")
    assert model.drug_class == "NRTI" and len(reference.ids) == 40


def test_every_writer_takes_the_lock_and_says_it_waits(tiny_cache, tmp_path):
    """`models train` (defaults.train) waits for a process writing the cache, then trains;
    leftovers of a killed writer are cleared under the lock."""
    from hivlatent.prediction import defaults

    folder = defaults.models_dir()
    folder.mkdir(parents=True)
    leftover = folder / ".nrti-68834a3b7aad-0.0.tmp1234"
    leftover.mkdir()
    (leftover / "weights.safetensors").write_bytes(b"half")
    notes: list[str] = []
    waiting = threading.Event()
    other = FileLock(folder / defaults.LOCK)                          # another process writing
    other.acquire()

    def note(text):
        notes.append(text)
        waiting.set()

    worker = threading.Thread(target=defaults.train, args=("NRTI",), kwargs={"note": note})
    worker.start()
    assert waiting.wait(30)
    assert tiny_cache.calls == [] and leftover.exists()          # not while the lock is held
    other.release()
    worker.join(60)
    assert tiny_cache.calls == ["NRTI"] and not leftover.exists()
    assert notes == [f"waiting for another hivlatent process writing the model cache {folder}"]


def test_models_remove_takes_damaged_entries_too(tiny_cache, tmp_path, run):
    from hivlatent.prediction import defaults

    folder = tiny_default_entry(tmp_path, "NRTI")
    shutil.rmtree(folder)
    folder.write_text("not a model")                              # an entry that is a file
    code, out, err = run("models", "remove", "--class", "NRTI")
    assert code == 0, err
    assert f"removed {folder}" in out and not folder.exists()
    assert [p.name for p in defaults.models_dir().iterdir()] == [defaults.LOCK]
