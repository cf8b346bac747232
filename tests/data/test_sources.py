"""Where data comes from: explicit path, $HIVLATENT_DATA_DIR, the cache, a checked download.

Downloads go to a stand-in HTTP server on 127.0.0.1, never to the real internet.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hivlatent.data import find_file, list_datasets, load_dataset, locate_file, sources
from hivlatent.errors import DataError


class _QuietHandler(SimpleHTTPRequestHandler):
    requests_seen: list[str] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        type(self).requests_seen.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server serving tmp_path/served; yields (base_url, folder, requests)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = type("Handler", (_QuietHandler,), {"requests_seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/download", folder, handler.requests_seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No data folder, an empty private cache."""
    monkeypatch.delenv("HIVLATENT_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(cache))
    return cache


def _serve(folder, name, data):
    (folder / "download").mkdir(exist_ok=True)
    (folder / "download" / name).write_bytes(data)


def _register(monkeypatch, name, data):
    monkeypatch.setitem(sources.KNOWN_FILES, name, sources.KnownFile(
        name, hashlib.sha256(data).hexdigest(), True, "test file"))


TABLE = b"SeqID\tLPV\tP1\tP2\n1\t20\t-\tL\n2\t1.5\t-\t-\n"


def test_download_then_cache(server, isolated, monkeypatch):
    base, folder, seen = server
    monkeypatch.setattr(sources, "BASE_URL", base)
    _serve(folder, "PI_DataSet.txt", TABLE)
    _register(monkeypatch, "PI_DataSet.txt", TABLE)
    path = find_file("PI_DataSet.txt")
    assert path == isolated / "PI_DataSet.txt" and path.read_bytes() == TABLE
    assert seen == ["/download/PI_DataSet.txt"]
    assert not [p for p in isolated.iterdir() if p.name != "PI_DataSet.txt"]  # no leftovers
    # second time: from the cache, no request
    assert find_file("PI_DataSet.txt") == path and len(seen) == 1
    ds = load_dataset("pi", min_count=1)
    assert ds.n_rows == 2 and ds.sha256 == hashlib.sha256(TABLE).hexdigest()


def test_corrupt_cache_is_downloaded_again(server, isolated, monkeypatch):
    base, folder, seen = server
    monkeypatch.setattr(sources, "BASE_URL", base)
    _serve(folder, "PI_DataSet.txt", TABLE)
    _register(monkeypatch, "PI_DataSet.txt", TABLE)
    isolated.mkdir()
    (isolated / "PI_DataSet.txt").write_bytes(b"truncated")
    assert find_file("PI_DataSet.txt").read_bytes() == TABLE
    assert len(seen) == 1


def test_download_with_wrong_hash(server, isolated, monkeypatch):
    base, folder, _ = server
    monkeypatch.setattr(sources, "BASE_URL", base)
    _serve(folder, "PI_DataSet.txt", TABLE + b"3\t1\t-\t-\n")
    _register(monkeypatch, "PI_DataSet.txt", TABLE)
    expected = hashlib.sha256(TABLE).hexdigest()
    actual = hashlib.sha256(TABLE + b"3\t1\t-\t-\n").hexdigest()
    with pytest.raises(DataError) as err:
        find_file("PI_DataSet.txt")
    msg = str(err.value)
    assert f"{base}/PI_DataSet.txt" in msg and expected in msg and actual in msg
    assert not (isolated / "PI_DataSet.txt").exists()   # the bad file is not kept


def test_real_hash_is_checked(server, isolated, monkeypatch):
    """With the package's own hash table: a file that is not HIVDB's NRTI table is refused."""
    base, folder, _ = server
    monkeypatch.setattr(sources, "BASE_URL", base)
    _serve(folder, "NRTI_DataSet.txt", TABLE)
    with pytest.raises(DataError, match="expected sha256 68834a3b7aadec37"):
        load_dataset("nrti-1246")


def test_missing_on_server(server, isolated, monkeypatch):
    base, _, _ = server
    monkeypatch.setattr(sources, "BASE_URL", base)
    with pytest.raises(DataError, match=r"NRTI_DataSet\.txt: download failed \(HTTP 404\)"):
        find_file("NRTI_DataSet.txt")


def test_unreachable_host(isolated, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/download"
    monkeypatch.setattr(sources, "BASE_URL", base)
    with pytest.raises(DataError) as err:
        find_file("NRTI_DataSet.txt")
    msg = str(err.value)
    assert f"{base}/NRTI_DataSet.txt" in msg and "cannot be reached" in msg


def test_not_downloadable_files_say_where_they_were_looked_for(isolated):
    for name in ("X.csv", "HIV.rda", "NNRTI_stanford.csv"):
        with pytest.raises(DataError) as err:
            find_file(name)
        msg = str(err.value)
        assert name in msg and "HIVLATENT_DATA_DIR (unset)" in msg and str(isolated) in msg
        assert "not on the HIVDB download site" in msg
    with pytest.raises(DataError, match="not on the HIVDB download site"):
        load_dataset("nnrti")


def test_order_path_data_dir_cache(tmp_path, isolated, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b, isolated):
        d.mkdir()
        (d / "X.csv").write_text(str(d))
    assert find_file("X.csv") == isolated / "X.csv"
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(b))
    assert find_file("X.csv") == b / "X.csv"
    assert find_file("X.csv", a) == a / "X.csv"                 # a folder
    assert find_file("X.csv", a / "X.csv") == a / "X.csv"       # the file itself
    with pytest.raises(DataError, match="nowhere: no such file or folder; expected X.csv"):
        find_file("X.csv", tmp_path / "nowhere")
    with pytest.raises(DataError, match="no X.csv in this folder"):
        find_file("X.csv", tmp_path)
    assert locate_file("Y.csv") is None


def test_list_datasets_does_not_download(isolated, monkeypatch):
    monkeypatch.setattr(sources, "BASE_URL", "http://127.0.0.1:9/never")
    listing = {d.name: d for d in list_datasets()}
    assert set(listing) >= {"nrti-1246", "nrti", "nnrti", "pi"}
    assert listing["nrti"].found is None and "downloaded on first use" in listing["nrti"].where
    assert listing["nnrti"].where == "not found"


def test_data_dir_finds_real_files(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(tmp_path / "cache"))
    assert find_file("NRTI_DataSet.txt") == data_dir / "NRTI_DataSet.txt"
    copy = tmp_path / "mine"
    copy.mkdir()
    shutil.copy(data_dir / "PI_DataSet.txt", copy / "PI_DataSet.txt")
    assert find_file("PI_DataSet.txt", copy) == copy / "PI_DataSet.txt"


def test_a_data_dir_that_is_no_folder_is_named_instead_of_a_download(tmp_path, isolated,
                                                                     monkeypatch):
    monkeypatch.setattr(sources, "BASE_URL", "http://127.0.0.1:9/never")
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"HIVLATENT_DATA_DIR=.*nowhere: no such folder; "
                                        r"expected the folder that holds NRTI_DataSet.txt"):
        find_file("NRTI_DataSet.txt")
    isolated.mkdir(exist_ok=True)
    (isolated / "X.csv").write_text("cached")       # found elsewhere: no error, as before
    assert find_file("X.csv") == isolated / "X.csv"
