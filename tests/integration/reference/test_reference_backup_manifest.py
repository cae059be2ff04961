"""The reference's backups carry a manifest, and a restore refuses any file that breaks it."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from vigil.contract import labelled_rows
from vigil.observe.drills import train, write_truncated_copy
from vigil.targets.client import TargetClient

pytestmark = pytest.mark.integration


def labelled_count(client: TargetClient) -> int:
    return client.evaluation().total.count


def test_a_truncated_altered_or_unlisted_backup_is_refused_and_nothing_changes(start_target):
    target = start_target()
    with TargetClient(target.endpoint, timeout_s=15) as client:
        assert train(client, labelled_rows(3, 20)) == 20
        answer = client.admin("POST", "/admin/backup")
        assert answer.status_code == 200, answer.text
        backup = answer.json()
        path = Path(backup["path"])
        manifest = json.loads(path.with_name(f"{backup['backup_id']}.manifest.json").read_text())
        assert (
            manifest["sha256"] == backup["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        )
        assert manifest["bytes"] == path.stat().st_size
        assert manifest["tables"]["feedback"]["rows"] == backup["feedback_count"] == 20
        train(client, labelled_rows(4, 5))
        assert labelled_count(client) == 25

        cut = write_truncated_copy(path, backup["backup_id"])
        refused = client.admin("POST", "/admin/restore", json={"backup_id": cut})
        assert refused.status_code == 422
        assert "truncated or altered" in refused.json()["detail"]
        assert "nothing was restored" in refused.json()["detail"]

        flipped = path.with_name("flipped.jsonl.gz")
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0xFF
        flipped.write_bytes(bytes(content))
        path.with_name("flipped.manifest.json").write_text(json.dumps(manifest))
        altered = client.admin("POST", "/admin/restore", json={"backup_id": "flipped"})
        assert altered.status_code == 422
        assert "sha256" in altered.json()["detail"]

        unlisted = path.with_name("unlisted.jsonl.gz")
        with gzip.open(path, "rb") as source, gzip.open(unlisted, "wb") as out:
            out.write(source.read())
        orphan = client.admin("POST", "/admin/restore", json={"backup_id": "unlisted"})
        assert orphan.status_code == 422
        assert "no readable manifest" in orphan.json()["detail"]
        assert labelled_count(client) == 25

        restored = client.admin("POST", "/admin/restore", json={"backup_id": backup["backup_id"]})
        assert restored.status_code == 200, restored.text
        assert labelled_count(client) == 20
