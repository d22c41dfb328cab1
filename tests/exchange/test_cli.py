"""`jingwu exchange keys|peers` as an operator runs them: real subprocesses on a temporary data dir; the private
key file is 0600; errors exit non-zero with a message."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

JINGWU = str(Path(sys.executable).parent / "jingwu")


def run(args: list[str], data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("JINGWU_")}
    e.update({"JINGWU_DATA_DIR": str(data), "JINGWU_EXCHANGE_DEPLOYMENT_ID": "sc", **env})
    return subprocess.run([JINGWU, "exchange", *args], env=e, capture_output=True, text=True, timeout=120)


def test_keys_and_peers_from_the_command_line(tmp_path: Path) -> None:
    r = run(["keys", "rotate"], tmp_path)
    assert r.returncode != 0 and "no signing key" in r.stderr
    r = run(["keys", "generate", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert stat.S_IMODE(Path(first["path"]).stat().st_mode) == 0o600
    r = run(["peers", "add", "cq", "--name", "重庆", "--key-id", "cq-1", "--public-key", first["public_key"]],
            tmp_path)
    assert r.returncode == 0, r.stderr
    r = run(["keys", "rotate", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    second = json.loads(r.stdout)
    r = run(["keys", "list", "--json"], tmp_path)
    keys = json.loads(r.stdout)
    assert [k["key_id"] for k in keys] == [first["key_id"], second["key_id"]]
    assert all(k["retired_at"] is None for k in keys)  # the old key verifies until retired
    r = run(["keys", "retire", "--key-id", second["key_id"]], tmp_path)
    assert r.returncode != 0 and "current" in r.stderr
    assert run(["keys", "retire", "--key-id", first["key_id"]], tmp_path).returncode == 0
    for bad, msg in ((["peers", "add", "Bad Id", "--key-id", "k", "--public-key", first["public_key"]], "peer id"),
                     (["peers", "add", "gd", "--key-id", "k", "--public-key", "nope"], "public key"),
                     (["peers", "key-retire", "cq", "--key-id", "zzz"], "no usable key")):
        r = run(bad, tmp_path)
        assert r.returncode != 0 and msg in r.stderr, (bad, r.stderr)
