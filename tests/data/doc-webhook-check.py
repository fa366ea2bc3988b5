
# Runs the receiver's check of docs/integrations.md (defined above) on a header the service
# made (DOC_WEBHOOK_HEADER, for the secret and body below), and on forged, altered and stale ones.
import os as _os

_secret, _body = "a long random string", b'{"type":"request.created"}'
_header = _os.environ["DOC_WEBHOOK_HEADER"]
assert verify(_secret, _header, _body), "the service's own signature does not verify"
assert not verify("another secret", _header, _body), "a wrong secret verified"
assert not verify(_secret, _header, _body + b" "), "an altered body verified"
_old = str(int(time.time()) - 3600)
_stale = hmac.new(_secret.encode(), _old.encode() + b"." + _body, hashlib.sha256).hexdigest()
assert not verify(_secret, f"t={_old},v1={_stale}", _body), "a stale signature verified"
