"""The deployment files hold together. docker-compose.yml,
deploy/k8s/ and deploy/systemd/ are parsed and every reference between
them is checked: names, selectors, volumes, config files, keys, ports."""
import configparser
import glob
import os
import re

import pytest
import yaml

from conftest import ROOT

DEPLOY = os.path.join(ROOT, "deploy")
SERVICES = ("intake", "archive", "routing", "deadline-watcher", "notification")
HTTP_OFFSET = {"intake": 11, "archive": 12, "routing": 13, "deadline-watcher": 14, "notification": 15}
STATEFUL = {"intake", "archive", "notification"}       # own state, one replica
SCALABLE = {"routing", "deadline-watcher"}             # log followers with a local store
#   The web console: one per node, its own store (web.db), the
#   console on base+10, its health and metrics on base+16
WEB_PORT, WEB_HTTP = 10, 16
UNITS = SERVICES + ("web",)
KEYS = ["intake", "intake_feed", "archive", "archive_feed", "federation", "notification",
        "federation_return", "monitor", "snapshot"]     # base+1 ... (hl_service.c)


def endpoint(value):
    match = re.match(r"^tcp://([^:]+):(\d+)$", value)
    assert match, f"not a tcp://HOST:PORT endpoint: {value}"
    return match.group(1), int(match.group(2))


# ---------------------------------------------------------------- compose

@pytest.fixture(scope="module")
def compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


def env_of(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_nodes_and_services(compose):
    services = compose["services"]
    for node in ("city", "31001", "31002"):
        for name in SERVICES:
            assert f"{name}-{node}" in services, f"{name}-{node} missing"
    assert "keys-init" in services
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
        if name.split("-")[0] in ("intake", "archive", "routing", "deadline", "notification"):
            assert service.get("restart") == "unless-stopped", name
            assert service["healthcheck"]["test"][:3] == ["CMD", "hotline", "probe"], name


def test_compose_volumes_and_networks(compose):
    services = compose["services"]
    declared_volumes = set(compose.get("volumes") or {})
    declared_networks = set(compose.get("networks") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in declared_volumes, f"{name}: volume {source} not declared"
        for network in service.get("networks", []):
            assert network in declared_networks, f"{name}: network {network} not declared"
    for node in ("city", "31001", "31002"):
        data = f"data-{node}"
        for name in SERVICES:
            mounts = [v.split(":")[0] for v in services[f"{name}-{node}"].get("volumes", [])]
            if name in STATEFUL:
                assert data in mounts, f"{name}-{node} must keep its store on {data}"
            else:
                # Scaled replicas must not share a store: no named volume
                assert not [m for m in mounts if m in declared_volumes], f"{name}-{node} shares a volume"
        assert "federation" in services[f"archive-{node}"]["networks"]
        for name in ("intake", "routing", "deadline-watcher", "notification"):
            assert "federation" not in services[f"{name}-{node}"].get("networks", [])
    # The keys the archives mount are made by keys-init
    keys_init = services["keys-init"]
    assert any(v.startswith("keys:") for v in keys_init["volumes"])
    assert "keys init" in " ".join(keys_init["command"])
    # without a shell (the image has none): one command, which also gives
    # each node's volume its keys (--to OUT: OUT/city, OUT/<ward>)
    command = keys_init["command"]
    assert command[:3] == ["hotline", "keys", "init"] and "--to" in command, command
    out = command[command.index("--to") + 1]
    for node in ("city", "31001", "31002"):
        assert f"keys-{node}:{out}/{node}" in keys_init["volumes"], keys_init["volumes"]
    # nor does any healthcheck need one (exec form, not CMD-SHELL)
    for name, service in services.items():
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] == "CMD", name


def test_compose_endpoints_resolve(compose):
    """Every endpoint a service connects to names a service of the file that
    binds that port; HTTP probes and binds agree; configs exist."""
    services = compose["services"]
    for name, service in services.items():
        env = env_of(service)
        if not env:
            continue
        config = env.get("HOTLINE_CONFIG_NAME")
        assert config and os.path.exists(os.path.join(DEPLOY, "config", config)), f"{name}: {config}"
        for key, value in env.items():
            match = re.match(r"^HOTLINE_ENDPOINTS_(.+)$", key)
            if not match:
                continue
            host, port = endpoint(value)
            assert host in services, f"{name}: {key} names unknown service {host}"
            if match.group(1) in ("CITY", "CITY_RETURN"):
                target_key = "FEDERATION" if match.group(1) == "CITY" else "FEDERATION_RETURN"
            else:
                target_key = match.group(1)
            bind = env_of(services[host]).get(f"HOTLINE_BIND_{target_key}")
            assert bind, f"{name}: {key} -> {host}, which binds no {target_key}"
            assert endpoint(bind.replace("*", "0.0.0.0"))[1] == port, f"{name}: {key} port"
        # Its own HTTP probe port is what it binds
        svc = name.rsplit("-", 1)[0]
        if svc in SERVICES:
            bind = env[f"HOTLINE_BIND_HTTP_{svc.upper().replace('-', '_')}"]
            port = endpoint(bind.replace("*", "0.0.0.0"))[1]
            assert service["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/readyz", name
            # Default layout: base + offset
            node = name.rsplit("-", 1)[1]
            base = {"city": 7000, "31001": 7100, "31002": 7200}[node]
            assert port == base + HTTP_OFFSET[svc]


# ---------------------------------------------------------------- kubernetes

KUSTOMIZE_FIELDS = {"apiVersion", "kind", "namespace", "resources", "generatorOptions",
                    "configMapGenerator", "secretGenerator"}


def kustomize(path):
    """Render a kustomization the way `kubectl kustomize` does, for exactly
    the features deploy/k8s uses (kubectl is not a Debian package here):
    resources (files and directories), namespace (set on every object; a
    Namespace object is renamed), configMapGenerator/secretGenerator (files,
    KEY=file, literals; suffix hashes off). Any other field fails, so a new
    feature is added here before the manifests rely on it. A generated
    object's file entries are paths in "files" (keys are never read)."""
    with open(os.path.join(path, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    assert set(k) <= KUSTOMIZE_FIELDS, f"{path}: unsupported {sorted(set(k) - KUSTOMIZE_FIELDS)}"
    docs = []
    for resource in k.get("resources", []):
        target = os.path.normpath(os.path.join(path, resource))
        if os.path.isdir(target):
            docs += kustomize(target)
        else:
            with open(target) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    if "configMapGenerator" in k or "secretGenerator" in k:
        assert k.get("generatorOptions") == {"disableNameSuffixHash": True}, path
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for gen in k.get(field, []):
            assert set(gen) <= {"name", "files", "literals"}, f"{path}: {gen}"
            obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": gen["name"]},
                   "data": {}, "files": {}}
            for entry in gen.get("files", []):
                key, _, file = entry.rpartition("=")
                key = key or os.path.basename(file)
                assert key not in obj["files"], f"{path}: {key} twice"
                obj["files"][key] = os.path.normpath(os.path.join(path, file))
            for literal in gen.get("literals", []):
                key, value = literal.split("=", 1)
                obj["data"][key] = value
            docs.append(obj)
    if "namespace" in k:
        for d in docs:
            if d["kind"] == "Namespace":
                d["metadata"]["name"] = k["namespace"]
            else:
                d["metadata"]["namespace"] = k["namespace"]
    return docs


K8S = os.path.join(DEPLOY, "k8s")


@pytest.fixture(scope="module")
def k8s():
    """{node: (Service name prefix, rendered objects)}: the city (namespace
    hotline) and ward-31001 (its overlay, namespace hotline-ward-31001)."""
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    listed = {os.path.basename(p) for p in glob.glob(os.path.join(K8S, "*.yaml"))} - {"kustomization.yaml"}
    assert listed == set(kustomization["resources"]), "a manifest is not in the kustomization"
    return {"city": ("city-", kustomize(K8S)),
            "ward-31001": ("", kustomize(os.path.join(K8S, "wards", "31001")))}


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_k8s_workload_kinds(k8s):
    for node, (prefix, docs) in k8s.items():
        sets, deployments = by_kind(docs, "StatefulSet"), by_kind(docs, "Deployment")
        for svc in SERVICES:
            name = prefix + svc
            if svc in STATEFUL:
                assert name in sets, f"{node}: {name} must be a StatefulSet"
                assert sets[name]["spec"]["replicas"] == 1
                assert [t["metadata"]["name"] for t in sets[name]["spec"]["volumeClaimTemplates"]] == ["data"]
            else:
                assert name in deployments, f"{node}: {name} must be a Deployment"


def test_k8s_references(k8s):
    city = k8s["city"][1]
    for node, (_, docs) in k8s.items():
        check_references(docs, city)


def check_references(docs, city):
    """Every name a workload uses is an object of its own namespace (the
    city's federation endpoint: the city's Service, by its DNS name)."""
    (namespace,) = by_kind(docs, "Namespace")
    assert all(d["metadata"].get("namespace") == namespace for d in docs if d["kind"] != "Namespace")
    services = by_kind(docs, "Service")
    workloads = {**by_kind(docs, "StatefulSet"), **by_kind(docs, "Deployment")}
    configmaps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    for obj in list(configmaps.values()) + list(secrets.values()):
        for key, path in obj["files"].items():
            if obj["kind"] == "ConfigMap":
                assert os.path.exists(path), f"ConfigMap file {path} missing"
            else:
                assert "/k8s/keys/" in path + "/" and re.match(r"^(city|ward(-\d+)?)\.cert(_secret)?$", key) \
                    and re.match(r"^(city|ward-\d+)\.cert(_secret)?$", os.path.basename(path)), \
                    f"{key}={path}: not a `hotline keys init` file"
    config_keys = {name: set(c["files"]) | set(c["data"]) for name, c in configmaps.items()}
    secret_keys = {name: set(s["files"]) for name, s in secrets.items()}
    city_services = by_kind(city, "Service")

    # Every Service selects exactly one workload; its target ports exist there
    for name, service in services.items():
        selector = service["spec"]["selector"]
        matches = [w for w in workloads.values()
                   if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        assert len(matches) == 1, f"Service {name} selects {len(matches)} workloads"
        ports = {p["containerPort"] for c in matches[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name} port {port['targetPort']}"
            assert len(port["name"]) <= 15 and re.match(r"^[a-z0-9-]+$", port["name"])

    for name, workload in workloads.items():
        spec = workload["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        if workload["kind"] == "StatefulSet":
            assert spec["serviceName"] in services, f"{name}: serviceName {spec['serviceName']}"
        pod = spec["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        config_files = set()
        for volume in volumes.values():
            sources = volume.get("projected", {}).get("sources", []) + [volume]
            for source in sources:
                if "configMap" in source:
                    assert source["configMap"]["name"] in configmaps, f"{name}: ConfigMap"
                    config_files |= config_keys[source["configMap"]["name"]]
            if "secret" in volume:
                secret = volume["secret"]["secretName"]
                assert secret in secrets, f"{name}: Secret {secret}"
                for item in volume["secret"].get("items", []):
                    assert item["key"] in secret_keys[secret], f"{name}: key {item['key']} not in {secret}"
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert claim in by_kind(docs, "PersistentVolumeClaim"), f"{name}: PVC {claim}"
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in claims, f"{name}: mount {mount['name']}"
            port_names = {p["name"] for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["port"] in port_names, f"{name}: {probe} port"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            env = {}
            for source in container.get("envFrom", []):
                env.update(configmaps[source["configMapRef"]["name"]]["data"])
            env.update({e["name"]: e["value"] for e in container.get("env", [])})
            assert env["HOTLINE_CONFIG_NAME"] in config_files, f"{name}: config"
            for key, value in env.items():
                if key.startswith("HOTLINE_ENDPOINTS_"):
                    host, port = endpoint(value)
                    target = services
                    if host.endswith(".hotline"):      # the city's, from a ward's namespace
                        host, target = host[:-len(".hotline")], city_services
                    assert host in target, f"{name}: {key} -> unknown Service {host}"
                    assert port in {p["port"] for p in target[host]["spec"]["ports"]}, f"{name}: {key}"
                if key.startswith("HOTLINE_FEDERATION_") and key != "HOTLINE_FEDERATION_ALLOW":
                    assert value.startswith("/keys/")
                    mounted = {i["path"] for v in volumes.values() if "secret" in v for i in v["secret"]["items"]}
                    assert value[len("/keys/"):] in mounted, f"{name}: {value} not mounted"
            if namespace != "hotline":              # a ward: the city's federation endpoint
                assert endpoint(env["HOTLINE_ENDPOINTS_CITY"]) == ("city-archive.hotline", 7005), name


# ---------------------------------------------------------------- systemd

def unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_systemd_units():
    sdir = os.path.join(DEPLOY, "systemd")
    target = unit(os.path.join(sdir, "hotline-node@.target"))
    wants = target["Unit"]["Wants"].split()
    assert sorted(wants) == sorted(f"hotline-{s}@%i.service" for s in UNITS)
    with open(os.path.join(ROOT, "Makefile")) as f:
        built = re.search(r"^SERVICES := (.+)$", f.read(), re.M).group(1).split()
    for svc in UNITS:
        assert svc in built
        path = os.path.join(sdir, f"hotline-{svc}@.service")
        assert os.path.exists(path), path
        u = unit(path)
        assert u["Service"]["ExecStart"] == f"/usr/local/bin/hotline-{svc} -c /etc/hotline/%i.cfg"
        assert u["Service"]["KillSignal"] == "SIGTERM"
        assert u["Service"]["User"] == "hotline"
        assert u["Unit"]["PartOf"] == "hotline-node@%i.target"
        assert u["Install"]["WantedBy"] == "hotline-node@%i.target"
        assert "%i" in u["Service"]["StateDirectory"]
    assert set(os.listdir(sdir)) == {f"hotline-{s}@.service" for s in UNITS} | {"hotline-node@.target"}


# ---------------------------------------------------------------- the web console

def test_compose_web(compose):
    """A web container per node: the node's data volume (web.db), the node's
    network only, a healthcheck on the console's own /healthz, the console
    published on the host's loopback only, and the pages baked in the image."""
    services = compose["services"]
    for node, base in (("city", 7000), ("31001", 7100), ("31002", 7200)):
        name = f"web-{node}"
        assert name in services, f"{name} missing"
        web = services[name]
        assert web["command"] == ["web"]
        assert web["restart"] == "unless-stopped"
        assert f"data-{node}:/var/lib/hotline" in web["volumes"], f"{name}: web.db on the node's volume"
        assert web["networks"] == [f"node-{node}"], f"{name}: the node's network only"
        env = env_of(web)
        assert endpoint(env["HOTLINE_BIND_WEB"])[1] == base + WEB_PORT
        assert endpoint(env["HOTLINE_ENDPOINTS_WEB"]) == (name, base + WEB_PORT)
        assert endpoint(env["HOTLINE_BIND_HTTP_WEB"].replace("*", "0.0.0.0"))[1] == base + WEB_HTTP
        # listening beyond the container's loopback in plain HTTP must be said
        assert env["HOTLINE_WEB_INSECURE_HTTP"] == "1"
        assert env["HOTLINE_WEB_ROOT"] == "/usr/share/hotline/web"
        # `hotline user ...` in the container finds the node's config
        assert env["HOTLINE_CONFIG"] == f"/etc/hotline/{env['HOTLINE_CONFIG_NAME']}"
        # it reaches its node's intake, which the compose file defines
        host, port = endpoint(env["HOTLINE_ENDPOINTS_INTAKE"])
        assert host == f"intake-{node}" and port == base + 1
        assert web["healthcheck"]["test"] == ["CMD", "hotline", "probe", "-q",
                                              f"http://127.0.0.1:{base + WEB_PORT}/healthz"]
        ports = web["ports"]
        assert len(ports) == 1
        assert ports[0].startswith("${HOTLINE_WEB_PUBLISH_HOST:-127.0.0.1}:"), ports
        assert ports[0].endswith(f":{base + WEB_PORT}"), ports
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        dockerfile = f.read()
    assert re.search(r"^COPY services/web/static/ /usr/share/hotline/web/$", dockerfile, re.M)
    assert os.path.exists(os.path.join(ROOT, "services", "web", "static"))
    with open(os.path.join(DEPLOY, "deps.sh")) as f:
        runtime = re.search(r'RUNTIME_PKGS="([^"]+)"', f.read()).group(1).split()
    assert {"libjs-leaflet", "libjs-chart.js", "libsodium23", "liboath0"} <= set(runtime)
    # the image's entrypoint (C, no shell) knows the Makefile's SERVICES
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/hotline-entrypoint"\]$', dockerfile, re.M)
    with open(os.path.join(ROOT, "Makefile")) as f:
        services_line = re.search(r'^SERVICES\s*:=\s*(.+)$', f.read(), re.M).group(1).split()
    assert "web" in services_line


def web_container(docs, prefix):
    """(the workload whose pod runs the web console, its pod spec, the container)."""
    found = [(d, c) for d in docs if d["kind"] in ("StatefulSet", "Deployment")
             for c in d["spec"]["template"]["spec"]["containers"] if c["args"] == ["web"]]
    assert len(found) == 1, f"{prefix}web: {len(found)} web containers"
    (workload, container), = found
    return workload, workload["spec"]["template"]["spec"], container


def test_k8s_web(k8s):
    """The web console runs in the archive's pod (one replica: never two
    writers of web.db), its Service selects that pod, and its ports are its
    own."""
    for node, base in (("city", 7000), ("ward-31001", 7100)):
        prefix, docs = k8s[node]
        services = by_kind(docs, "Service")
        workload, pod, container = web_container(docs, prefix)
        assert workload["kind"] == "StatefulSet" and workload["metadata"]["name"] == prefix + "archive", node
        assert workload["spec"]["replicas"] == 1
        assert prefix + "web" not in by_kind(docs, "Deployment"), f"{node}: a web pod of its own"
        assert not by_kind(docs, "PersistentVolumeClaim"), f"{node}: a PVC outside the StatefulSets"
        selector = services[prefix + "web"]["spec"]["selector"]
        assert selector.items() <= pod_labels(workload).items(), f"{node}: web Service selects another pod"
        assert {"name": "data", "mountPath": "/var/lib/hotline"} in container["volumeMounts"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert endpoint(env["HOTLINE_BIND_WEB"])[1] == base + WEB_PORT
        assert env["HOTLINE_WEB_INSECURE_HTTP"] == "1"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": base + WEB_HTTP, "web": base + WEB_PORT}
        assert {p["port"] for p in services[prefix + "web"]["spec"]["ports"]} == {base + WEB_HTTP, base + WEB_PORT}
        # two containers of one pod: no port bound twice
        all_ports = [p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])]
        assert len(all_ports) == len(set(all_ports)), f"{node}: {all_ports}"


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"]["labels"]


def evidence_storage(docs, service):
    """What backs the data directory's evidence/ for the container running
    `service`: ("pod", workload, volume) for a volume of that pod (a
    volumeClaimTemplate or an emptyDir are the pod's own), ("claim", name,
    access modes) for a PersistentVolumeClaim object."""
    (found,) = [(d, c) for d in docs if d["kind"] in ("StatefulSet", "Deployment")
                for c in d["spec"]["template"]["spec"]["containers"] if c["args"] == [service]]
    workload, container = found
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    assert "HOTLINE_NODE_DATA_DIR" not in env, "evidence/ follows the data dir: check it here"
    evidence = "/var/lib/hotline/evidence"
    mounts = [m for m in container["volumeMounts"]
              if (evidence + "/").startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts, f"{service}: nothing mounted at {evidence}"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    assert not mount.get("readOnly") and not mount.get("subPath"), (service, mount)
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    volume = volumes.get(mount["name"])
    if volume and "persistentVolumeClaim" in volume:
        claim = by_kind(docs, "PersistentVolumeClaim")[volume["persistentVolumeClaim"]["claimName"]]
        return ("claim", claim["metadata"]["name"], tuple(claim["spec"]["accessModes"]))
    return ("pod", workload["metadata"]["name"], mount["name"])


def check_evidence_shared(docs):
    """A node's web stores the evidence files its archive sends the city (a
    ward), and serves what its archive received (the city): both must see
    the same evidence/. One volume of one pod, or a PVC both mount that is
    ReadWriteMany (a ReadWriteOnce PVC in two pods works only if they land
    on the same machine)."""
    web, archive = evidence_storage(docs, "web"), evidence_storage(docs, "archive")
    assert web == archive, f"web's evidence/ is on {web}, the archive's on {archive}"
    if web[0] == "claim":
        assert "ReadWriteMany" in web[2], f"{web}: shared by two pods, not ReadWriteMany"
    else:
        (workload,) = [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")
                       and d["metadata"]["name"] == web[1]]
        assert web[2] != "tmp" and not [v for v in workload["spec"]["template"]["spec"].get("volumes", [])
                                        if v["name"] == web[2] and "emptyDir" in v], f"{web}: not persistent"


def test_k8s_web_and_archive_share_evidence(k8s):
    for node, (_, docs) in k8s.items():
        check_evidence_shared(docs)


# ---------------------------------------------------------------- hardening, secrets, policies

def pods(docs):
    """(workload name, its node label, pod spec) of every workload."""
    for d in docs:
        if d["kind"] in ("StatefulSet", "Deployment"):
            yield d["metadata"]["name"], d["metadata"]["labels"]["hotline/node"], d["spec"]["template"]["spec"]


def check_hardening(docs):
    version = re.search(r'#define HOTLINE_VERSION\s+"([^"]+)"',
                        open(os.path.join(ROOT, "services", "lib", "hotline.h")).read()).group(1)
    seen = seen_containers = 0
    for name, _, spec in pods(docs):
        seen += 1
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            seen_containers += 1
            (tmp,) = [m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert volumes[tmp]["emptyDir"].get("medium") == "Memory", f"{name}/{c['name']}: /tmp not in memory"
            assert c["image"] == f"hotline:{version}", f"{name}: image {c['image']}, not the release's tag"
            assert c["startupProbe"]["httpGet"]["path"] == "/healthz", name
            ctx = c["securityContext"]
            assert ctx["readOnlyRootFilesystem"] and not ctx["allowPrivilegeEscalation"], name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
    # five workloads, six containers (the web console is in the archive's pod)
    assert (seen, seen_containers) == (5, 6), (seen, seen_containers)


def test_k8s_hardening(k8s):
    for _, docs in k8s.values():
        check_hardening(docs)


def check_secrets(docs, own):
    """No Secret holds two nodes' secret keys; an archive mounts its own
    node's Secret, and its secret key is its own node's (own: the file's name
    in deploy/k8s/keys/)."""
    secrets = by_kind(docs, "Secret")
    for name, secret in secrets.items():
        secret_keys = {f for f in secret["files"] if f.endswith("_secret")}
        assert len(secret_keys) <= 1, f"{name} holds {sorted(secret_keys)}"
    for name, node, spec in pods(docs):
        for volume in spec.get("volumes", []):
            if "secret" not in volume:
                continue
            secret = secrets[volume["secret"]["secretName"]]
            keys = {item["key"] for item in volume["secret"]["items"]}
            assert keys <= set(secret["files"]), (name, keys - set(secret["files"]))
            (key,) = [k for k in keys if k.endswith("_secret")]
            assert os.path.basename(secret["files"][key]) == f"{own}.cert_secret", (name, secret["files"])
        assert name.endswith("archive") or not any("secret" in v for v in spec.get("volumes", [])), \
            f"{name} mounts keys"
        # in the archive's pod, only the archive container mounts them (not the web console)
        secret_volumes = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
        for c in spec["containers"]:
            mounted = {m["name"] for m in c.get("volumeMounts", [])} & secret_volumes
            assert not mounted or c["args"] == ["archive"], f"{name}/{c['name']} mounts keys"


def test_k8s_secrets_one_node_each(k8s):
    for node, (_, docs) in k8s.items():
        check_secrets(docs, node)


def check_node_policies(docs):
    """Default deny, and a node's pods reach only their own node."""
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["hotline-default-deny"]
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    (node,) = {node for _, node, _ in pods(docs)}
    policy = policies[f"{node}-node"]
    assert policy["spec"]["podSelector"]["matchLabels"]["hotline/node"] == node
    (rule,) = policy["spec"]["ingress"]
    assert [f["podSelector"]["matchLabels"]["hotline/node"] for f in rule["from"]] == [node]
    assert not [f for f in rule["from"] if "namespaceSelector" in f]
    # every other rule that admits pods of other nodes names ports, and none
    # of them is an internal one (front door, feeds, archive queries, notification)
    internal = {base + k for base in (7000, 7100) for k in (1, 2, 3, 4, 6)}
    for name, policy in policies.items():
        if name.endswith("-node") or name == "hotline-default-deny":
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            assert ports, f"{name} admits every port"
            assert not ports & internal, f"{name} opens internal ports {sorted(ports & internal)}"
    return policies


def test_k8s_network_policies(k8s):
    """The city's federation ports admit the archives of the ward
    namespaces, and nothing else crosses."""
    policies = check_node_policies(k8s["city"][1])
    check_node_policies(k8s["ward-31001"][1])
    federation = policies["city-federation"]
    assert federation["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "archive"
    (rule,) = federation["spec"]["ingress"]
    assert sorted(p["port"] for p in rule["ports"]) == [7005, 7007]
    (source,) = rule["from"]
    (ward_ns,) = by_kind(k8s["ward-31001"][1], "Namespace").values()
    assert source["namespaceSelector"]["matchLabels"].items() <= ward_ns["metadata"]["labels"].items()
    assert source["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "archive"
    (city_ns,) = by_kind(k8s["city"][1], "Namespace").values()
    assert not source["namespaceSelector"]["matchLabels"].items() <= city_ns["metadata"].get("labels", {}).items()


def test_k8s_city_disruption_budgets(k8s):
    docs = k8s["city"][1]
    budgets = by_kind(docs, "PodDisruptionBudget")
    for name, node, spec in pods(docs):
        if node != "city":
            continue
        assert name in budgets, f"no PodDisruptionBudget for {name}"
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        workload = next(d for d in docs if d["kind"] in ("StatefulSet", "Deployment") and d["metadata"]["name"] == name)
        assert selector == workload["spec"]["selector"]["matchLabels"], name
        assert budgets[name]["spec"]["minAvailable"] == 1
    # and no budget selects nothing
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")
                and selector.items() <= pod_labels(d).items()], f"PodDisruptionBudget {name} selects no pod"


# ---------------------------------------------------------------- a ward per overlay

def new_ward(deploy, *args):
    import subprocess
    return subprocess.run([os.path.join(deploy, "k8s", "new-ward.sh"), *args],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A copy of deploy/k8s (without wards/ and keys/) and deploy/config."""
    import shutil
    deploy = str(tmp_path_factory.mktemp("deploy"))
    shutil.copytree(K8S, os.path.join(deploy, "k8s"), ignore=shutil.ignore_patterns("wards", "keys"))
    shutil.copytree(os.path.join(DEPLOY, "config"), os.path.join(deploy, "config"))
    return deploy


def test_k8s_new_ward_overlays(scratch, k8s):
    """Two wards written by new-ward.sh render to their own namespaces, each
    with the hardened pods, its own Secret and its own config."""
    city = k8s["city"][1]
    names = {"31002": "Phường Hồng Bàng", "31003": "Xã A & B / C"}
    seen = set()
    for code, ward_name in names.items():
        result = new_ward(scratch, code, ward_name)
        assert result.returncode == 0, result.stderr
        overlay = os.path.join(scratch, "k8s", "wards", code)
        assert sorted(os.listdir(overlay)) == ["kustomization.yaml", "ward.cfg"]
        with open(os.path.join(overlay, "kustomization.yaml")) as f:
            assert len(f.read().splitlines()) < 30, "an overlay is a few lines"
        docs = kustomize(overlay)
        (namespace,) = by_kind(docs, "Namespace")
        assert namespace == f"hotline-ward-{code}"
        seen.add(namespace)
        check_references(docs, city)
        check_hardening(docs)
        check_node_policies(docs)
        check_secrets(docs, f"ward-{code}")
        check_evidence_shared(docs)
        config = by_kind(docs, "ConfigMap")
        with open(config["hotline-ward"]["files"]["ward.cfg"]) as f:
            cfg = f.read()
        assert f"    ward_code = {code}" in cfg and f"name = ward-{code} " in cfg
        assert f'ward_name = "{ward_name}"' in cfg
        assert "31001" not in cfg
    assert len(seen) == 2


def test_k8s_new_ward_refuses(scratch):
    """A bad ward code or name, or an existing overlay: an error, nothing written."""
    for args in (["3100"], ["310021", "x"], ["3100x", "x"], ["../../x", "x"], ["", "x"],
                 ["31009", ""], ["31009", 'a"b'], ["31009", "a\nb"]):
        result = new_ward(scratch, *args)
        assert result.returncode != 0 and result.stderr, args
    wards = os.path.join(scratch, "k8s", "wards")
    assert not os.path.exists(os.path.join(wards, "31009"))
    assert not [p for p in os.listdir(wards) if p.startswith(".")] if os.path.isdir(wards) else True
    assert new_ward(scratch, "31008", "x").returncode == 0
    before = open(os.path.join(wards, "31008", "ward.cfg")).read()
    result = new_ward(scratch, "31008", "y")
    assert result.returncode != 0 and "exists" in result.stderr
    assert open(os.path.join(wards, "31008", "ward.cfg")).read() == before


def test_k8s_ward_31001_is_generated(scratch):
    """No hand-made ward manifests: ward-31001 is what new-ward.sh writes."""
    assert not os.path.exists(os.path.join(K8S, "ward-31001.yaml"))
    assert new_ward(scratch, "31001", "Phường An Biên").returncode == 0
    for name in ("kustomization.yaml", "ward.cfg"):
        with open(os.path.join(scratch, "k8s", "wards", "31001", name)) as a, \
                open(os.path.join(K8S, "wards", "31001", name)) as b:
            assert a.read() == b.read(), name


# ---------------------------------------------------------------- CPU weights

def cpu_millis(quantity):
    quantity = str(quantity)
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def test_archive_outweighs_web(compose, k8s):
    """Under CPU contention a node's archive (ingest) goes before its web
    console: the web's web/stream_nice ranks threads inside one cgroup, and
    every deployment runs the two in cgroups of their own, which the kernel
    shares by weight (compose cpu_shares, the k8s CPU request, CPUWeight=)."""
    services = compose["services"]
    for node in ("city", "31001", "31002"):
        archive, web = services[f"archive-{node}"], services[f"web-{node}"]
        assert archive["cpu_shares"] > web["cpu_shares"], node
        assert archive["cpu_shares"] > 1024 > web["cpu_shares"], node
    for node, (prefix, docs) in k8s.items():
        _, pod, web = web_container(docs, prefix)
        (archive,) = [c for c in pod["containers"] if c["args"] == ["archive"]]
        assert cpu_millis(archive["resources"]["requests"]["cpu"]) > \
            cpu_millis(web["resources"]["requests"]["cpu"]), node
    weight = {svc: int(unit(os.path.join(DEPLOY, "systemd", f"hotline-{svc}@.service"))["Service"]["CPUWeight"])
              for svc in ("archive", "web")}
    assert weight["archive"] > 100 > weight["web"], weight
