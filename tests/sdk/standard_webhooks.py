"""Intent's webhooks verified by the official Standard Webhooks library (`standardwebhooks` on
PyPI), against a real `intent serve`.

Subscribes a receiver on a free loopback port, sends an "ask for a person" tap for a new user and
checks that `override.fired`, `tier.changed` (cold -> hot) and `task.created` arrive, that each
verifies with the subscription's secret, that their ids are distinct, and that a changed body or a
wrong secret fails verification. Reads INTENT_URL, INTENT_WRITE_KEY and INTENT_ADMIN_TOKEN.
"""

import base64
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
import uuid

from standardwebhooks import Webhook, WebhookVerificationError

URL = os.environ["INTENT_URL"]
WRITE = os.environ["INTENT_WRITE_KEY"]
ADMIN = os.environ["INTENT_ADMIN_TOKEN"]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    checks += 1


def call(path, body, auth):
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", auth)
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.status, json.loads(res.read() or b"null")


received = []
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            received.append((headers, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{server.server_address[1]}/hooks/intent"

status, sub = call("/v1/webhooks", {"url": hook_url}, f"Bearer {ADMIN}")
check(status == 201, f"subscribing answers 201, got {status}")
secret = sub["secret"]
check(secret.startswith("whsec_"), "the secret is a whsec_ secret")

user = f"swh-{uuid.uuid4().hex[:12]}"
basic = "Basic " + base64.b64encode(f"{WRITE}:".encode()).decode()
status, _ = call("/v1/identify", {"userId": user, "traits": {"email": f"{user}@example.pl"}}, basic)
check(status == 200, "identify is accepted")
status, _ = call(
    "/v1/track",
    {"userId": user, "event": "CTA Tapped", "properties": {"cta": "ask_person", "location": "warszawa"}},
    basic,
)
check(status == 200, "the ask-for-a-person tap is accepted")

wanted = {"override.fired", "tier.changed", "task.created"}
deadline = time.time() + 15
mine = []
while time.time() < deadline:
    with lock:
        mine = []
        for headers, body in received:
            payload = json.loads(body)
            data = payload.get("data", {})
            if data.get("profile") == f"user:{user}":
                mine.append((headers, body, payload))
    if wanted <= {p["type"] for _, _, p in mine}:
        break
    time.sleep(0.05)
check(wanted <= {p["type"] for _, _, p in mine}, f"received {wanted}, got {[p['type'] for _, _, p in mine]}")

wh = Webhook(secret)
ids = set()
for headers, body, payload in mine:
    verified = wh.verify(body, headers)
    check(verified == payload, f"{payload['type']} verifies with the official library")
    ids.add(headers["webhook-id"])
    try:
        wh.verify(body.replace(b"user:", b"usr:"), headers)
        check(False, "a changed body must not verify")
    except WebhookVerificationError:
        check(True, "a changed body does not verify")
    try:
        Webhook(base64.b64encode(b"not the secret at all").decode()).verify(body, headers)
        check(False, "a wrong secret must not verify")
    except WebhookVerificationError:
        check(True, "a wrong secret does not verify")
check(len(ids) == len(mine), "every event has its own webhook-id")
changed = next(p for _, _, p in mine if p["type"] == "tier.changed")
check(changed["data"]["from"] == "cold" and changed["data"]["to"] == "hot", "tier.changed is cold -> hot")
print(f"standardwebhooks: {checks} checks passed")
