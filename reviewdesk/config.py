"""One settings object: where the data lives, read from the environment or `--data-dir`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Paths of the two stores and the file areas, all under one data directory."""

    model_config = SettingsConfigDict(env_prefix="REVIEWDESK_", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Root of all reviewdesk data.")
    review_store_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the review store; SQLite in the data dir by default."
    )
    queues_dir: Path = Field(default=Path("queues"), description="Folder of queue YAML files, one a queue.")
    session_idle_minutes: float = Field(default=60, gt=0, description="Review-app sessions end after this idle time.")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs review-app session cookies; give every replica the same. Default: a random one in the "
        "data dir.",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB memory limit; larger work spills to disk.")
    app_url: str = Field(
        default="http://127.0.0.1:8501", description="The review app's address, for links back to an item (`?item=`)."
    )

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("give at least 32 characters, e.g. the output of `openssl rand -hex 32`")
        return v

    @classmethod
    def load(cls, data_dir: Path | str | None = None, queues_dir: Path | str | None = None) -> Settings:
        """Read settings from the environment; explicit `--data-dir` / `--queues-dir` take precedence."""
        given = {"data_dir": data_dir, "queues_dir": queues_dir}
        return cls(**{k: Path(v) for k, v in given.items() if v is not None})

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def review_url(self) -> str:
        return self.review_store_url or f"sqlite:///{(self.data_dir / 'review.sqlite').resolve()}"

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def ensure_dirs(self) -> None:
        """Create the data directory tree on first use."""
        for d in (self.data_dir, self.datasets_dir, self.models_dir, self.reports_dir):
            d.mkdir(parents=True, exist_ok=True)
