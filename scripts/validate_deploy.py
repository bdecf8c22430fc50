"""Offline consistency checks of the deployment files (run by scripts/validate-deploy, with PyYAML).

deploy/pipeline.yaml is the one configuration of docker-compose.yml, Swarm and deploy/kubernetes/; these
checks keep the three in step: host names it uses are services in both, ports agree, the paths it writes
lie on volumes of the services that write them, every name a manifest refers to is defined, and every
stage has the CurveZMQ key files security.curve names (its own pair, the coordinator's public key, and for
the coordinator the keys it admits) as secrets.
Prints one line per problem and exits 1 when there is any.
"""
import glob
import sys
from urllib.parse import urlparse

import yaml

STAGES = ("coordinator", "ingest", "sink", "profile", "score", "dispatch")
CONFIG_PATH = "/etc/switchyard/pipeline.yaml"
problems = []


def problem(text):
    problems.append(text)


def option(command, flag):
    return command[command.index(flag) + 1] if flag in command else None


def under(path, mounts):
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


pipeline = yaml.safe_load(open("deploy/pipeline.yaml"))
compose = yaml.safe_load(open("docker-compose.yml"))["services"]
manifests = []
for path in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    manifests += [(path, doc) for doc in yaml.safe_load_all(open(path)) if doc]
k8s_services = {doc["metadata"]["name"]: doc for _, doc in manifests if doc["kind"] == "Service"}

# Host names and ports of deploy/pipeline.yaml.
coordinator = urlparse(pipeline["coordinator"]["endpoint"].replace("tcp://", "http://"))
for where, services in (("docker-compose.yml", compose), ("deploy/kubernetes", k8s_services)):
    if coordinator.hostname not in services:
        problem(f"{where}: no service '{coordinator.hostname}' for coordinator.endpoint {pipeline['coordinator']['endpoint']}")
bind = option(compose["coordinator"]["command"], "--bind")
if bind != f"tcp://0.0.0.0:{coordinator.port}":
    problem(f"docker-compose.yml: the coordinator binds {bind}, the stages connect to port {coordinator.port}")
for model in pipeline["models"]:
    url = urlparse(model["backend"]["url"])
    service = compose.get(url.hostname)
    if service is None:
        problem(f"docker-compose.yml: no service '{url.hostname}' for model {model['name']} ({url.geturl()})")
    elif option(service["command"], "--port") != str(url.port):
        problem(f"docker-compose.yml: {url.hostname} listens on {option(service['command'], '--port')}, model {model['name']} calls port {url.port}")
    k8s = k8s_services.get(url.hostname)
    if k8s is None:
        problem(f"deploy/kubernetes: no Service '{url.hostname}' for model {model['name']}")
    elif url.port not in [p["port"] for p in k8s["spec"]["ports"]]:
        problem(f"deploy/kubernetes: Service {url.hostname} has no port {url.port} (model {model['name']})")

# Every stage reads the image's configuration and writes only onto its volumes.
written = {"coordinator": pipeline["coordinator"]["journal"], "profile": pipeline["router"]["profiles"],
           "score": pipeline["router"]["profiles"], "sink": pipeline["output"]["dir"]}
for stage in STAGES:
    service = compose.get(stage)
    if service is None:
        problem(f"docker-compose.yml: no service for stage {stage}")
        continue
    command = service["command"]
    if command[:2] != ["stage", stage] or option(command, "--config") != CONFIG_PATH:
        problem(f"docker-compose.yml: {stage} runs {command[:2]} with --config {option(command, '--config')}")
    mounts = [v.split(":")[1] for v in service.get("volumes", [])]
    if stage in written and not under(written[stage], mounts):
        problem(f"docker-compose.yml: {stage} uses {written[stage]}, on none of its volumes {mounts}")
    if stage == "sink" and not under(option(command, "--output"), mounts):
        problem(f"docker-compose.yml: the sink writes {option(command, '--output')}, on none of its volumes")
# CurveZMQ: every stage mounts its own pair and the coordinator's key where security.curve reads them.
curve = (pipeline.get("security") or {}).get("curve") or {}
if not curve:
    problem("deploy/pipeline.yaml: no security.curve: the stages talk across the network, so every link must be CURVE")
KEY_DIR = curve.get("key_dir", "")
PUBLIC_KEY_PATHS = {curve.get("coordinator_key", "")}


def secret_files(stage):
    files = {f"{KEY_DIR}/secret.key", f"{KEY_DIR}/public.key"} | PUBLIC_KEY_PATHS
    if stage == "coordinator":
        files |= {f"{curve.get('authorized_keys', '')}/{other}.key" for other in STAGES if other != "coordinator"}
    return files


compose_secrets = yaml.safe_load(open("docker-compose.yml")).get("secrets", {})
for stage in STAGES:
    mounted = {}
    for entry in compose.get(stage, {}).get("secrets", []):
        target = entry["target"] if entry["target"].startswith("/") else "/run/secrets/" + entry["target"]
        mounted[target] = entry
        if entry["source"] not in compose_secrets:
            problem(f"docker-compose.yml: {stage} mounts the secret {entry['source']}, which is not defined")
    for path in sorted(secret_files(stage) - set(mounted)):
        problem(f"docker-compose.yml: {stage} does not mount {path} (security.curve)")
    secret = mounted.get(f"{KEY_DIR}/secret.key")
    if secret and (secret.get("source") != f"{stage}-secret-key" or secret.get("uid") != "10001" or secret.get("mode") != 0o400):
        problem(f"docker-compose.yml: {stage}'s secret key must be {stage}-secret-key, uid 10001, mode 0400")

for stage in ("profile", "score", "dispatch"):
    if "replicas" not in compose[stage].get("deploy", {}):
        problem(f"docker-compose.yml: {stage} has no deploy.replicas")

# Kubernetes: every name a manifest refers to is defined; every stage container reads the ConfigMap.
defined = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests}
# Made from the output of scripts/deploy-keys with kubectl (never in a manifest: applying it would replace the keys).
EXTERNAL_SECRETS = {"switchyard-curve-keys"}


def walk(path, node):
    if isinstance(node, dict):
        refs = []
        if "configMap" in node: refs.append(("ConfigMap", node["configMap"]["name"]))
        if "persistentVolumeClaim" in node: refs.append(("PersistentVolumeClaim", node["persistentVolumeClaim"]["claimName"]))
        if "secretKeyRef" in node: refs.append(("Secret", node["secretKeyRef"]["name"]))
        if "secretName" in node and node["secretName"] not in EXTERNAL_SECRETS: refs.append(("Secret", node["secretName"]))
        if "scaleTargetRef" in node: refs.append((node["scaleTargetRef"]["kind"], node["scaleTargetRef"]["name"]))
        if isinstance(node.get("serviceName"), str): refs.append(("Service", node["serviceName"]))
        for ref in refs:
            if ref not in defined:
                problem(f"{path}: names {ref[0]} {ref[1]}, which no manifest defines")
        for value in node.values():
            walk(path, value)
    elif isinstance(node, list):
        for value in node:
            walk(path, value)


for path, doc in manifests:
    walk(path, doc)
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if doc["kind"] in ("Deployment", "StatefulSet", "Job") else {}
    for container in pod.get("containers", []):
        args = container.get("args", [])
        if args[:1] == ["stage"]:
            if option(args, "--config") != CONFIG_PATH:
                problem(f"{path}: container {container['name']} reads --config {option(args, '--config')}")
            if not any(m["mountPath"] == "/etc/switchyard" for m in container.get("volumeMounts", [])):
                problem(f"{path}: container {container['name']} does not mount the pipeline ConfigMap at /etc/switchyard")
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            for wanted in (KEY_DIR, curve.get("coordinator_key", "").rsplit("/", 1)[0]):
                if wanted not in mounts:
                    problem(f"{path}: container {container['name']} does not mount {wanted} (security.curve)")
            if args[1] == "coordinator":
                volume = next((v for v in pod.get("volumes", []) if v["name"] == "curve-public"), {})
                paths = {item["path"] for item in volume.get("secret", {}).get("items", [])}
                for other in STAGES[1:]:
                    if f"authorized/{other}.key" not in paths:
                        problem(f"{path}: the coordinator does not admit {other} (authorized/{other}.key)")

for text in problems:
    print(f"validate-deploy: {text}", file=sys.stderr)
print(f"validate-deploy: deploy/pipeline.yaml, docker-compose.yml and {len(manifests)} Kubernetes resources agree"
      if not problems else f"validate-deploy: {len(problems)} problems")
sys.exit(1 if problems else 0)
