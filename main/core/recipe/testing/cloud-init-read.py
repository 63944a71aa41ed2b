"""Reads user data the way cloud-init does, for tests: one JSON string (a whole user data) per stdin
line; per line prints what cloud-init's own loader (cloudinit.util.load_yaml, PyYAML underneath) and
its write_files decoder (cc_write_files.canonicalize_extraction / extract_contents) make of it."""
import base64
import json
import sys

from cloudinit import util
from cloudinit.config import cc_write_files

for line in sys.stdin:
    user_data = json.loads(line)
    try:
        config = util.load_yaml(user_data, default=None)
        if not isinstance(config, dict):
            print(json.dumps({"ok": False, "error": "not a mapping (cloud-init would ignore it)"}))
            continue
        files = []
        for entry in config.get("write_files") or []:
            content = cc_write_files.extract_contents(
                entry.get("content", ""), cc_write_files.canonicalize_extraction(entry.get("encoding"))
            )
            if isinstance(content, str):
                content = content.encode("utf-8")
            files.append({
                "path": entry.get("path"),
                "owner": entry.get("owner"),
                "permissions": entry.get("permissions"),
                "append": entry.get("append", False),
                "content": base64.b64encode(content).decode("ascii"),
            })
        print(json.dumps({
            "ok": True,
            "keys": sorted(config.keys()),
            "files": files,
            "sshKeys": config.get("ssh_authorized_keys"),
            "runcmd": config.get("runcmd"),
        }))
    except Exception as error:  # noqa: BLE001 - every failure is a finding for the test
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
