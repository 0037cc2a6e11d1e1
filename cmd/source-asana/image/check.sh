#!/usr/bin/env bash
# Checks a built source-asana image the way Airbyte uses it: its labels,
# entrypoint and user; spec; check with a good and a bad token against the
# simulator (bin/asana-sim); and that no token is printed.
set -euo pipefail
image=$1
fail() { echo "image check: $*" >&2; exit 1; }

labels=$(docker inspect "$image" --format '{{index .Config.Labels "io.airbyte.name"}} {{index .Config.Labels "io.airbyte.version"}} {{.Config.User}} {{json .Config.Entrypoint}}')
[[ $labels == "airbyte/source-asana "*" 65532:65532 [\"/source-asana\"]" ]] || fail "labels, user or entrypoint: $labels"
docker inspect "$image" --format '{{json .Config.Env}}' | grep -q '"AIRBYTE_ENTRYPOINT=/source-asana"' || fail "AIRBYTE_ENTRYPOINT is not the entrypoint"

docker run --rm "$image" spec | grep -q '^{"type":"SPEC"' || fail "spec did not answer a SPEC message"

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'kill $sim 2>/dev/null; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
bin/asana-sim --addr "127.0.0.1:$port" --size tiny 2>"$dir/sim.txt" &
sim=$!
for _ in $(seq 50); do grep -q 'PAT:' "$dir/sim.txt" 2>/dev/null && break; sleep 0.1; done
pat=$(awk '/PAT:/ {print $2}' "$dir/sim.txt")
[ -n "$pat" ] || fail "the simulator did not start"
printf '{"credentials":{"personal_access_token":"%s"},"base_url":"http://127.0.0.1:%s"}' "$pat" "$port" >"$dir/good.json"
printf '{"credentials":{"personal_access_token":"2/1/2:wrong-token-s3cr3t"},"base_url":"http://127.0.0.1:%s"}' "$port" >"$dir/bad.json"
chmod 644 "$dir"/*.json

out=$(docker run --rm --network host -v "$dir:/data:ro" "$image" check --config /data/good.json 2>&1)
[[ $out == '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}' ]] || fail "check with a good token: $out"
out=$(docker run --rm --network host -v "$dir:/data:ro" "$image" check --config /data/bad.json 2>&1)
[[ $out == *'"status":"FAILED"'*'rejected the credentials'* ]] || fail "check with a bad token: $out"
[[ $out != *s3cr3t* ]] || fail "check printed the token"
echo "image check: labels, spec, check (good and bad token) all right"
