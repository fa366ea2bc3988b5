
# Runs the verification sketch of docs/api.md (defined above) on the grant and key it shows.
import copy as _copy
import re as _re

_doc = open("docs/api.md", encoding="utf-8").read()
_blocks = [json.loads(b) for b in _re.findall(r"```json\n(.*?)```", _doc, _re.S) if b.lstrip().startswith("{")]
_grant = next(b for b in _blocks if "signature" in b and "payload" in b)
_public = next(b for b in _blocks if "keys" in b)["keys"][0]["public_key"]
_payload = _grant["payload"]
_need = [{"rule": "prod-db-write", "approvers": ["group:dba"], "quorum": 1}]
verify(_grant, _public, _payload["request_id"], _payload["digest"], _need)


def _refused(grant, digest, need):
    try:
        verify(grant, _public, _payload["request_id"], digest, need)
    except Exception:
        return True
    return False


_tampered = _copy.deepcopy(_grant)
_tampered["payload"]["requester"] = "mallory"
assert _refused(_tampered, _payload["digest"], _need), "a tampered payload verified"
assert _refused(_grant, "0" * 64, _need), "a grant for another command was accepted"
assert _refused(_grant, _payload["digest"], [dict(_need[0], quorum=2)]), "a weaker grant was accepted"
