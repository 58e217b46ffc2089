"""The one place that reads configuration (environment variables prefixed ``HUB_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


MIN_AUDIT_KEY_CHARS = 32


class Settings(BaseSettings):
    """Every setting of the hub; each field is read from ``HUB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset: an embedded SQLite file in data_dir.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port,...). Unset: `hub up` starts an embedded Tansu broker.",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP/GraphQL server binds to.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP/GraphQL port.")
    topic_prefix: str = Field(default="", description="Prepended to every Kafka topic name.")
    data_dir: Path = Field(default=Path(".hub-data"), description="Where the embedded SQLite file lives.")
    broker_port: int = Field(default=0, ge=0, le=65535, description="Embedded broker port (0 = a free one).")
    env: Literal["development", "production"] = Field(default="development", description="production turns off GraphiQL and introspection.")
    topic_partitions: int = Field(default=6, ge=1, description="Partitions of topics the hub creates.")
    kafka_session_timeout_ms: int = Field(default=10000, ge=1000, description="Consumer-group session timeout (connectors in group mode).")
    kafka_heartbeat_interval_ms: int = Field(default=1000, ge=100, description="Consumer-group heartbeat interval.")
    connector_batch_size: int = Field(default=1000, ge=1, description="Most records a connector applies in one transaction.")
    connector_stall_s: float = Field(default=60.0, gt=0, description="A connector retrying the same batch (database or broker unavailable, dead-letter topic unwritable) for longer than this many seconds is reported not ready by /readyz and `hub_component_ready` in /metrics; it keeps retrying.")
    connector_max_sequence_jump: int = Field(default=1_000_000, ge=1, description="How far an inbound event's `sequence` may lie ahead of the last one applied for the same person and department; an event further ahead is dead-lettered for review instead of making the person's later events stale.")
    deadletter_max_bytes: int = Field(default=1_000_000, ge=16_384, description="Largest message the dead-letter topic accepts (the broker's and the producer's limit). A dead letter that would be larger carries the rejected message's first KiB, its size and SHA-256 instead of all of it (the dead_letters table keeps it whole).")
    outbox_batch_size: int = Field(default=2000, ge=1, description="Most outbox rows the relay publishes per round.")
    outbox_max_message_bytes: int = Field(default=1_048_576, ge=1024, description="Largest event the outbox relay's producer sends (its max_request_size). An event over it, or over the topic's max.message.bytes on the broker, is set aside, not published (`hub outbox refused`); raise both, then `hub outbox retry`.")
    log_format: Literal["auto", "json", "text"] = Field(default="auto", description="Log lines as JSON objects or plain text; auto: text on a terminal, JSON otherwise.")
    log_level: str = Field(default="INFO", description="Log level of the hub's loggers.")
    sqlite_busy_timeout_ms: int = Field(default=15000, ge=0, description="SQLite busy timeout for concurrent writers.")
    token_cache_s: float = Field(default=5.0, ge=0, description="`hub up`: how long a checked bearer token is reused without a database lookup; a revoked token is refused at the latest this long after revocation (0 = look up every request).")
    graphql_max_depth: int = Field(default=12, ge=1, description="GraphQL: deepest field nesting a query may have.")
    graphql_max_aliases: int = Field(default=30, ge=0, description="GraphQL: most aliases in one query.")
    graphql_max_tokens: int = Field(default=5000, ge=1, description="GraphQL: most lexical tokens in one query document.")
    graphql_max_cost: int = Field(default=50000, ge=1, description="GraphQL: most rows a query may ask for (the product of page sizes `first` along each path, summed).")
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1, description="Largest HTTP request body (and WebSocket message) accepted; a larger one is answered 413 before it is parsed, also when it comes chunked without a Content-Length.")
    comparison_dir: Path | None = Field(default=None, description="The only directory `startComparison` (GraphQL) reads snapshot files from; its `path` is relative to it. Unset: DATA_DIR/comparisons.")
    audit_key_file: Path | None = Field(default=None, description="File holding the key (≥ 32 characters) that signs the operation log and the access log (HMAC-SHA256); keep it outside the database and readable only by the hub. Unset: HUB_AUDIT_KEY, else DATA_DIR/audit.key if it exists (`hub up` on embedded defaults creates it).")
    audit_key: SecretStr | None = Field(default=None, description="The audit key itself (instead of a file).")
    http_workers: int = Field(default=1, ge=1, description="`hub up`: HTTP/GraphQL server processes. Above 1, that many worker processes serve the API on the port, next to the process that runs connectors, relay and checks.")

    form_key_file: Path | None = Field(default=None, description="File holding the secret key of the approval forms' verification codes (kept outside the database; created with a random key when missing). Unset: `form-key` in data_dir.")

    office_name: str = Field(default="机构编制委员会办公室", min_length=1, max_length=100, description="The office's name printed at the top of every report page (`hub report --format html`).")
    calendar_file: Path | None = Field(default=None, description="Working-day calendar (public holidays 休 and make-up working days 班, one `YYYY-MM-DD 休|班 note` per line) for applications' turnaround. Unset: the calendar shipped with the hub.")

    def form_key_path(self) -> Path:
        """Where the approval forms' key lives."""
        return self.form_key_file or (self.data_dir / "form-key")

    def graphql_limits(self) -> dict:
        """The query limits as ``hub.api.build.build_schema`` takes them."""
        return dict(max_depth=self.graphql_max_depth, max_aliases=self.graphql_max_aliases,
                    max_tokens=self.graphql_max_tokens, max_cost=self.graphql_max_cost)

    def default_audit_key_file(self) -> Path:
        return self.data_dir / "audit.key"

    def audit_key_bytes(self) -> bytes | None:
        """The key signing the audit chains: HUB_AUDIT_KEY, else HUB_AUDIT_KEY_FILE, else DATA_DIR/audit.key when
        it exists; None: the chains are unkeyed (plain SHA-256). A configured key that is missing or too short is an
        error, never a silent fall-back to no key."""
        if self.audit_key is not None:
            key = self.audit_key.get_secret_value().strip()
            where = "HUB_AUDIT_KEY"
        else:
            path = self.audit_key_file or self.default_audit_key_file()
            if self.audit_key_file is None and not path.is_file():
                return None
            try:
                key = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                raise ValueError(f"cannot read the audit key file {path}: {e.__class__.__name__}") from e
            where = str(path)
        if len(key) < MIN_AUDIT_KEY_CHARS:
            raise ValueError(f"the audit key in {where} is shorter than {MIN_AUDIT_KEY_CHARS} characters")
        return key.encode("utf-8")

    def audit_key_configured(self) -> bool:
        return self.audit_key is not None or self.audit_key_file is not None or self.default_audit_key_file().is_file()

    def effective_comparison_dir(self) -> Path:
        """Where `startComparison` may read files: the configured directory, or DATA_DIR/comparisons."""
        return self.comparison_dir if self.comparison_dir is not None else self.data_dir / "comparisons"

    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.sqlite3').resolve()}"

    def topic(self, name: str) -> str:
        """A contract topic name with the configured prefix."""
        return f"{self.topic_prefix}{name}"


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. CLI flags) taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
