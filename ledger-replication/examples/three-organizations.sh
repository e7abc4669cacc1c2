#!/usr/bin/env bash
# Three organizations on one machine: three gateways (each with its embedded sandbox EHR), one Raft group holding
# one shared ledger, each gateway a witness of that log for the two others. Synthetic data only.
#
#   ledger-replication/examples/three-organizations.sh [work dir]      (from the repository root; JDK >= 21)
#
# Ports: HTTP 8081-8083 (hospital, clinic, lab), Raft 9081-9083. Stop with Ctrl-C (the gateways are stopped too).
set -euo pipefail
DIR=${1:-/tmp/three-organizations}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
ORGS=(hospital clinic lab)
LOG=shared.example/ledger

./mvnw -q -B -pl gateway -am package -DskipTests
JAR=gateway/target/gateway-exec.jar
tool() { "$JAVA" -cp "$JAR" -Dloader.main=org.fhirledger.ledger.raft.KeyTool \
  org.springframework.boot.loader.launch.PropertiesLauncher "$@"; }

mkdir -p "$DIR"
GROUP_VKEY=$(tool group "$LOG" "$DIR/group.key")          # one group key, a copy for every member
declare -A WVKEY
CERTS=()
for org in "${ORGS[@]}"; do                               # one witness key per organization, never shared
  WVKEY[$org]=$(tool witness "$org.example/witness" "$DIR/$org/ledger/witness.key")
  # the member's TLS key (never shared) and certificate (every member pins all three)
  tool tls "$org" "$DIR/$org/raft-tls.key" "$DIR/raft-tls-$org.crt"
  CERTS+=("$DIR/raft-tls-$org.crt")
done
MEMBER_CERTS=$(IFS=,; echo "${CERTS[*]}")

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for i in 0 1 2; do
  org=${ORGS[$i]}
  args=(--server.port=$((8081 + i)) --gateway.data-dir="$DIR/$org"
    --gateway.ledger.origin="$org.example/gateway"
    --gateway.ledger.mode=raft --gateway.ledger.raft.member-id="$org"
    --gateway.ledger.raft.group-key-file="$DIR/group.key"
    --gateway.ledger.raft.tls.key-file="$DIR/$org/raft-tls.key"
    --gateway.ledger.raft.tls.cert-file="$DIR/raft-tls-$org.crt"
    --gateway.ledger.raft.tls.member-certs="$MEMBER_CERTS"
    --gateway.ledger.witness.enabled=true --gateway.ledger.witness.name="$org.example/witness"
    --gateway.ledger.witness.logs="$GROUP_VKEY")
  for j in 0 1 2; do
    args+=(--gateway.ledger.raft.peers.${ORGS[$j]}=127.0.0.1:$((9081 + j)))
    if [ "$j" != "$i" ]; then
      args+=(--gateway.ledger.witness.peers.${ORGS[$j]}.url=http://127.0.0.1:$((8081 + j))/ledger/witness
        --gateway.ledger.witness.peers.${ORGS[$j]}.vkey="${WVKEY[${ORGS[$j]}]}")
    fi
  done
  "$JAVA" -jar "$JAR" "${args[@]}" > "$DIR/$org.log" 2>&1 &
  PIDS+=($!)
done

for i in 0 1 2; do
  until curl -sf "http://127.0.0.1:$((8081 + i))/ledger/checkpoint" > /dev/null; do sleep 1; done
done
echo "three gateways up; logs in $DIR/*.log"

# a token from each organization's own authorization server (its demo backend client, written on first start)
token() { "$JAVA" -cp "$JAR" -Dloader.main=org.fhirledger.gateway.auth.server.ClientCli \
  org.springframework.boot.loader.launch.PropertiesLauncher token --client-id demo-backend \
  --key "$DIR/$1/auth-server/demo-backend.key.pem" --token-url "http://127.0.0.1:$2/oauth2/token" \
  --scope 'system/*.cruds'; }
curl -s -o /dev/null -w 'hospital: POST Patient -> %{http_code}\n' -X POST http://127.0.0.1:8081/fhir/Patient \
  -H "Authorization: Bearer $(token hospital 8081)" \
  -H 'Content-Type: application/fhir+json' -d '{"resourceType":"Patient","name":[{"family":"Synthetic"}]}'
curl -s -o /dev/null -w 'clinic: search Observation -> %{http_code}\n' 'http://127.0.0.1:8082/fhir/Observation?_count=1' \
  -H "Authorization: Bearer $(token clinic 8082)"
sleep 3   # two witness rounds
for i in 0 1 2; do
  echo "--- checkpoint served by ${ORGS[$i]} (log signature + cosignatures of the other two witnesses)"
  curl -s "http://127.0.0.1:$((8081 + i))/ledger/checkpoint"
done

echo "--- audit the lab's copy over HTTP, requiring 2 of 3 witness cosignatures"
"$JAVA" -cp "$JAR" -Dloader.main=org.fhirledger.ledger.verify.VerifyCommand \
  org.springframework.boot.loader.launch.PropertiesLauncher --vkey "$GROUP_VKEY" --url http://127.0.0.1:8083/ledger/ \
  --witness "${WVKEY[hospital]}" --witness "${WVKEY[clinic]}" --witness "${WVKEY[lab]}" --quorum 2

echo "running; Ctrl-C stops all three"
wait
