#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# deploy/kubernetes/*.yaml: `yamllint -s` with the repository's .yamllint passes on all of
# deploy/; every document validates against the Kubernetes schemas of the npm package
# kubernetes-models (tests/tools/k8s_validate.mjs, installed by `npm ci` from scripts/setup), and
# a manifest with a field of the wrong type fails naming file, kind and field; the values the
# deployment relies on are there (grace period longer than a model call, a CronJob that cannot
# overlap, one metrics exporter sharing an emptyDir with a textfile node exporter, scrape
# annotations, placeholder image and secrets); every hydrate container's command line is one the
# real binary accepts, and the ConfigMap's hydrate.conf is one it reads.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_kubernetes
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"
tool_or_skip yamllint
tool_or_skip node nodejs
[[ -d $DEPLOY_ROOT/node_modules/kubernetes-models && -d $DEPLOY_ROOT/node_modules/yaml ]] ||
  skip "node_modules lacks kubernetes-models or yaml: run scripts/setup (npm ci) first"

(cd "$DEPLOY_ROOT" && yamllint -s -c .yamllint deploy/) >"$E2E_DIR/yamllint.out" 2>&1 ||
  fail "yamllint -s deploy/: $(cat "$E2E_DIR/yamllint.out")"
printf 'a: yes\nb:  1\n' >"$E2E_DIR/bad.yaml"
expect_rejected "YAML with a bare yes and two spaces after a colon" \
  yamllint -s -c "$DEPLOY_ROOT/.yamllint" "$E2E_DIR/bad.yaml"

VALIDATE=$DEPLOY_ROOT/tests/tools/k8s_validate.mjs
MANIFESTS=("$DEPLOY_DIR"/kubernetes/*.yaml)
run node "$VALIDATE" "${MANIFESTS[@]}"
((RUN_RC == 0)) || fail "k8s_validate.mjs: $RUN_ERR"
assert_eq 8 "$(grep -c ' ok$' <<<"$RUN_OUT")" "documents valid (ConfigMap, Secret, 3 Deployments, CronJob, 2 Services)"

# The check has teeth: a wrong field type is refused, naming the file, the kind and the field.
sed 's/^  replicas: 2$/  replicas: "two"/' "$DEPLOY_DIR/kubernetes/worker-deployment.yaml" >"$E2E_DIR/bad-type.yaml"
cmp -s "$DEPLOY_DIR/kubernetes/worker-deployment.yaml" "$E2E_DIR/bad-type.yaml" && fail "the mutation changed nothing"
run node "$VALIDATE" "$E2E_DIR/bad-type.yaml"
assert_eq 1 "$RUN_RC" "exit status of k8s_validate.mjs on replicas: \"two\""
assert_contains "$RUN_ERR" "bad-type.yaml: Deployment hydrate-worker: data/spec/replicas must be integer" "its error"
sed 's/^  schedule: .*/  schedule: 5/; s/concurrencyPolicy: Forbid/concurrencyPolicy: Never/' \
  "$DEPLOY_DIR/kubernetes/reconcile-cronjob.yaml" >"$E2E_DIR/bad-enum.yaml"
expect_rejected "a CronJob with a numeric schedule and an unknown policy" node "$VALIDATE" "$E2E_DIR/bad-enum.yaml"

# The documents as JSON, one a line, for jq.
node "$VALIDATE" --dump "${MANIFESTS[@]}" >"$E2E_DIR/docs.jsonl"
doc() { jq -c --arg k "$1" --arg n "$2" 'select(.kind == $k and .metadata.name == $n)' "$E2E_DIR/docs.jsonl"; }
WORKER=$(doc Deployment hydrate-worker)
CRON=$(doc CronJob hydrate-reconcile)
METRICS=$(doc Deployment hydrate-metrics)
SERVICE=$(doc Service hydrate-metrics)
CONFIG=$(doc ConfigMap hydrate-config)
SECRET=$(doc Secret hydrate-secrets)
SERVE=$(doc Deployment hydrate-serve)
SERVE_SERVICE=$(doc Service hydrate-serve)
for d in WORKER CRON METRICS SERVICE CONFIG SECRET SERVE SERVE_SERVICE; do [[ -n ${!d} ]] || fail "no $d manifest"; done

timeout_ms=$(jq -r '.data["hydrate.conf"]' <<<"$CONFIG" | sed -n 's/^llm\.timeout_ms *= *//p')
assert_ge $((timeout_ms / 1000 + 30)) "$(jq -r .spec.template.spec.terminationGracePeriodSeconds <<<"$WORKER")" \
  "terminationGracePeriodSeconds of the workers (longer than one model call)"
assert_eq "*/5 * * * * Forbid" "$(jq -r '"\(.spec.schedule) \(.spec.concurrencyPolicy)"' <<<"$CRON")" "schedule and policy of the CronJob"
for field in .spec.startingDeadlineSeconds .spec.successfulJobsHistoryLimit .spec.jobTemplate.spec.backoffLimit; do
  assert_ge 0 "$(jq -r "$field // -1" <<<"$CRON")" "$field of the CronJob"
done
assert_eq "1 Recreate" "$(jq -r '"\(.spec.replicas) \(.spec.strategy.type)"' <<<"$METRICS")" "replicas and strategy of the metrics exporter"
assert_eq "--collector.textfile.directory=/textfile" \
  "$(jq -r '.spec.template.spec.containers[] | select(.image | startswith("prom/node-exporter")) | .args[] | select(startswith("--collector.textfile.directory"))' <<<"$METRICS")" \
  "the node exporter's textfile directory"
assert_eq "textfile:/textfile textfile:/textfile" \
  "$(jq -r '[.spec.template.spec as $s | $s.containers[].volumeMounts[] | select(.name as $n | $s.volumes[] | select(.name == $n and .emptyDir)) | "\(.name):\(.mountPath)"] | join(" ")' <<<"$METRICS")" \
  "the emptyDir both metrics containers mount"
assert_eq "true 9100" "$(jq -r '.metadata.annotations | "\(.["prometheus.io/scrape"]) \(.["prometheus.io/port"])"' <<<"$SERVICE")" \
  "scrape annotations of the metrics Service"
assert_empty "$(jq -r '.spec.template.spec.containers[]?, .spec.jobTemplate.spec.template.spec.containers[]? | .image
  | select(startswith("prom/") | not) | select(. != "registry.example.org/hydrate:VERSION")' "$E2E_DIR/docs.jsonl")" \
  "hydrate images other than the registry.example.org/hydrate:VERSION placeholder"
assert_empty "$(jq -r '.stringData | to_entries[] | select(.value | contains("REPLACE-ME") | not) | .key' <<<"$SECRET")" \
  "Secret values that are not marked REPLACE-ME placeholders"

# serve: probes on /readyz and /healthz of its named port, the Service routing to that port, the
# token from the Secret.
assert_eq "/readyz http /healthz http" \
  "$(jq -r '.spec.template.spec.containers[0] | "\(.readinessProbe.httpGet.path) \(.readinessProbe.httpGet.port) \(.livenessProbe.httpGet.path) \(.livenessProbe.httpGet.port)"' <<<"$SERVE")" \
  "serve's probes"
assert_eq "http 8080" "$(jq -r '.spec.template.spec.containers[0].ports[0] | "\(.name) \(.containerPort)"' <<<"$SERVE")" "serve's port"
assert_eq http "$(jq -r '.spec.ports[0].targetPort' <<<"$SERVE_SERVICE")" "the serve Service's target port"
assert_eq "$(jq -cS '.spec.template.metadata.labels' <<<"$SERVE")" "$(jq -cS '.spec.selector' <<<"$SERVE_SERVICE")" \
  "the serve Service's selector against the pods' labels"
assert_eq hydrate-secrets "$(jq -r '.spec.template.spec.containers[0].envFrom[0].secretRef.name' <<<"$SERVE")" "serve's Secret"
jq -e '.stringData.HYDRATE_ADMIN_TOKEN' <<<"$SECRET" >/dev/null || fail "the Secret has no HYDRATE_ADMIN_TOKEN"

# Every hydrate container: a command line the binary accepts, reading the mounted ConfigMap.
jq -r '(.spec.template.spec.containers[]?, .spec.jobTemplate.spec.template.spec.containers[]?)
  | select(.command[0]? == "/usr/bin/hydrate") | [.name] + .args | @tsv' "$E2E_DIR/docs.jsonl" >"$E2E_DIR/commands.tsv"
assert_eq 4 "$(wc -l <"$E2E_DIR/commands.tsv")" "hydrate containers (worker, reconcile, metrics, serve)"
while IFS=$'\t' read -r -a words; do
  hydrate_flags_accepted "container ${words[0]}" "${words[@]:1}"
  [[ ${words[1]} == --config && ${words[2]} == /etc/hydrate/hydrate.conf ]] ||
    fail "container ${words[0]} does not read /etc/hydrate/hydrate.conf"
done <"$E2E_DIR/commands.tsv"
jq -r '.data["hydrate.conf"]' <<<"$CONFIG" >"$E2E_DIR/hydrate.conf"
hy --config "$E2E_DIR/hydrate.conf" --json reconcile
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "a reconcile pass with the ConfigMap's hydrate.conf"
note "8 Kubernetes documents valid"
