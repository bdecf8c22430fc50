"""Offline consistency checks of the deployment files (run by scripts/validate-deploy, with PyYAML).

deploy/pipeline.yaml is the one configuration of docker-compose.yml, Swarm and deploy/kubernetes/; these
checks keep the three in step: host names it uses are services in both, ports agree, the paths it writes
lie on volumes of the services that write them, and every name a manifest refers to is defined.
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
for stage in ("profile", "score", "dispatch"):
    if "replicas" not in compose[stage].get("deploy", {}):
        problem(f"docker-compose.yml: {stage} has no deploy.replicas")

# Kubernetes: every name a manifest refers to is defined; every stage container reads the ConfigMap.
defined = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests}


def walk(path, node):
    if isinstance(node, dict):
        refs = []
        if "configMap" in node: refs.append(("ConfigMap", node["configMap"]["name"]))
        if "persistentVolumeClaim" in node: refs.append(("PersistentVolumeClaim", node["persistentVolumeClaim"]["claimName"]))
        if "secretKeyRef" in node: refs.append(("Secret", node["secretKeyRef"]["name"]))
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

for text in problems:
    print(f"validate-deploy: {text}", file=sys.stderr)
print(f"validate-deploy: deploy/pipeline.yaml, docker-compose.yml and {len(manifests)} Kubernetes resources agree"
      if not problems else f"validate-deploy: {len(problems)} problems")
sys.exit(1 if problems else 0)
