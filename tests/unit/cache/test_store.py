"""The store: what a trim keeps."""

import hashlib
import os
import time


def test_trim_keeps_a_young_blob_no_result_names_yet_and_drops_an_old_one(tmp_path):
    """A pull stores its downloaded files before the result naming them: a trim in between
    must not take them; an hour later nobody is about to name them."""
    from rules.cache.store import UNNAMED_GRACE, Store

    store = Store(tmp_path / "cache")
    young, old = b"just downloaded", b"left behind"
    store.add_blobs({hashlib.sha256(data).hexdigest(): data for data in (young, old)})
    then = time.time() - 2 * UNNAMED_GRACE
    os.utime(store.blob(hashlib.sha256(old).hexdigest()), (then, then))
    store.trim(1 << 40)
    assert store.blob(hashlib.sha256(young).hexdigest()).is_file()
    assert not store.blob(hashlib.sha256(old).hexdigest()).exists()
