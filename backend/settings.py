"""The one settings class of the backend (environment prefix ``CBM_``, ``.env`` supported).

Nothing else in the code base reads ``os.environ``. Build settings with :func:`get_settings`
(cached) or ``Settings()`` in tests, where keyword arguments override the environment.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_SECRET = "cbm-demo-secret-do-not-use-in-production"
DEMO_ADMIN_PASSWORD = "cbm-demo-admin"

# Sentinel-2 L2A scene classification classes excluded from statistics by default:
# 0 no data, 1 saturated/defective, 3 cloud shadow, 8 cloud medium, 9 cloud high,
# 10 thin cirrus, 11 snow/ice.
DEFAULT_SCL_MASK = (0, 1, 3, 8, 9, 10, 11)


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Settings(BaseSettings):
    """All settings of the CbM backend. Environment variables are ``CBM_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="CBM_", env_file=(PROJECT_ROOT / ".env", ".env"), env_file_encoding="utf-8", extra="ignore"
    )

    # --- mode and secrets -------------------------------------------------------------
    demo_mode: bool = Field(False, description="Allow the built-in demo secrets (never in production).")
    secret_key: SecretStr = Field(SecretStr(DEMO_SECRET), description="Signs short-lived URLs.")
    admin_password: SecretStr = Field(
        SecretStr(DEMO_ADMIN_PASSWORD), description="Password of the first admin account."
    )

    # --- database ---------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None, description="External PostgreSQL+PostGIS URL; unset = the embedded cluster in var/."
    )
    var_dir: Path = Field(PROJECT_ROOT / "var", description="Runtime state directory.")
    pg_port: int = Field(55432, ge=1024, le=65535, description="Loopback port of the embedded cluster.")
    pg_bin: Path = Field(Path("/usr/lib/postgresql/15/bin"), description="PostgreSQL binaries.")
    pg_system_user: str = Field(
        "cbmpg", pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="System user that runs the embedded cluster when the project runs as root.",
    )
    pg_dbname: str = Field("cbm", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    pg_password: SecretStr = Field(
        SecretStr(DEMO_SECRET), description="Password of the embedded cluster's superuser on TCP."
    )

    # --- object storage (S3 protocol) -------------------------------------------------
    s3_endpoint: str | None = Field(None, description="host:port of an S3 endpoint; unset = AWS.")
    s3_https: bool = True
    s3_virtual_hosting: bool = False
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_unsigned: bool = False
    s3_request_payer: bool = Field(False, description="Send AWS_REQUEST_PAYER=requester (requester-pays "
                                   "buckets such as Earth Search's sentinel-s2-l2a JP2 and S1 GRD).")
    pc_sign: bool = Field(False, description="Sign Planetary Computer blob hrefs with a SAS token (the "
                          "planetary-computer package) before reading them.")
    catalogue_provider_preference: Annotated[list[str], NoDecode] = Field(
        ["earth-search:sentinel-2-c1-l2a", "cdse", "earth-search", "planetary-computer", "cbm"],
        description="When one acquisition is published twice, the copy extracted: the first entry "
        "(provider or provider:collection) that matches; the other is recorded as its duplicate.",
    )
    gdal_cache_mb: int = Field(256, ge=16, le=65536)
    http_timeout_s: int = Field(30, ge=1, le=3600)
    http_max_retry: int = Field(3, ge=0, le=20)
    gdal_http_multirange: Literal["", "SINGLE_GET", "SERIAL", "YES"] = Field(
        "", description="GDAL_HTTP_MULTIRANGE: how a read of several blocks is fetched "
        "(YES: parallel range requests, SERIAL: one after the other, SINGLE_GET: one multi-range "
        "GET; '' leaves GDAL's default, YES).")
    gdal_http_merge_ranges: bool = Field(True, description="GDAL_HTTP_MERGE_CONSECUTIVE_RANGES: one "
                                         "request for consecutive blocks.")
    gdal_http_version: Literal["", "1.0", "1.1", "2", "2TLS", "2PRIOR_KNOWLEDGE"] = Field(
        "", description="GDAL_HTTP_VERSION ('' leaves curl's default: HTTP/2 over TLS when the "
        "server offers it, which multiplexes concurrent requests on one connection).")
    gdal_vsi_cache_mb: int = Field(64, ge=0, le=65536, description="VSI_CACHE_SIZE per open remote "
                                   "file in MiB (0: VSI_CACHE off).")
    gdal_curl_cache_mb: int = Field(16, ge=1, le=65536, description="CPL_VSIL_CURL_CACHE_SIZE: GDAL's "
                                    "process-wide cache of downloaded ranges, MiB.")
    remote_read_workers: int = Field(4, ge=1, le=16, description="Bands of an image on object storage "
                                     "or HTTP read at once (threads; local files: one band ahead).")

    # --- extraction -------------------------------------------------------------------
    scl_mask_classes: Annotated[list[int], NoDecode] = Field(
        list(DEFAULT_SCL_MASK), description="S2 SCL classes excluded from statistics."
    )
    negative_buffer_m: float = Field(0.0, ge=0.0, le=100.0, description="Inward parcel buffer (m).")
    max_overlap_share: float = Field(1.0, ge=0.0, le=1.0, description="Refuse a parcel import in which two "
                                     "parcels overlap by more than this share of the smaller one (1: never).")
    job_lease_s: int = Field(900, ge=10, le=86400, description="A claimed job is reclaimed after this.")
    job_max_attempts: int = Field(3, ge=1, le=100)
    job_backoff_s: int = Field(30, ge=0, le=86400)

    # --- batch ------------------------------------------------------------------------
    batch_kernel: str = Field("python3", description="Jupyter kernel of batch notebooks (needs the "
                                                     "project installed; created in the venv if missing).")
    batch_retries: int = Field(1, ge=0, le=20, description="Re-runs of a failed or unfinished chunk.")
    batch_chunk_jobs: int = Field(500, ge=1, le=100_000, description="Target extraction jobs per chunk: "
                                  "kernel start + per-process label rasters < 5 % (bench/batch.py).")
    batch_workers: int | None = Field(None, ge=1, le=1024, description="Local Dask workers; unset = cores.")
    batch_watch_s: int = Field(60, ge=1, le=86400, description="Poll interval of `cbm batch watch`.")

    # --- api ------------------------------------------------------------------------
    admin_username: str = Field("admin", pattern=r"^[A-Za-z0-9_.@-]{2,64}$",
                                description="Admin account created on first start if no admin exists.")
    api_pool_min: int = Field(1, ge=0, le=100, description="Minimum pooled DB connections per API worker.")
    api_pool_max: int = Field(40, ge=1, le=200, description="Max pooled DB connections per API worker "
                              "(at least the server's thread count, or requests queue for one).")
    api_request_timeout_s: float = Field(30.0, gt=0, le=3600, description="Request and SQL timeout.")
    api_max_chips: int = Field(24, ge=1, le=1000, description="Maximum chips per request.")
    api_max_chip_size: int = Field(1024, ge=16, le=8192, description="Maximum chip size in pixels.")
    api_max_polygon_km2: float = Field(25.0, gt=0, description="Maximum query polygon area (km²).")
    api_max_polygon_vertices: int = Field(1000, ge=4, description="Maximum query polygon vertex count.")
    api_max_date_span_days: int = Field(400, ge=1, description="Maximum span of a date range (days).")
    api_max_rows: int = Field(10000, ge=1, description="Maximum rows (parcels, peers) in one response.")
    api_rate_per_minute: int = Field(600, ge=1, description="Requests per minute per user (token bucket).")
    api_rate_burst: int = Field(60, ge=1, description="Burst size of the per-user rate limit.")
    api_login_max_failures: int = Field(5, ge=1, description="Failed logins (user+IP) before a lockout.")
    api_login_lockout_s: int = Field(300, ge=1, description="Lockout after too many failed logins (s).")
    api_max_body_bytes: int = Field(1_000_000, ge=1000, le=1_000_000_000,
                                    description="Largest request body except photo uploads "
                                    "(CBM_PHOTO_MAX_BYTES), refused before authentication.")
    api_auth_cache_s: int = Field(30, ge=0, le=3600, description="Verified credentials are cached this long.")
    api_tiles_min_zoom: int = Field(10, ge=0, le=22, description="Vector tiles below this zoom are empty.")

    # --- chips --------------------------------------------------------------------------
    # (chip limits are api_max_chips, api_max_chip_size and api_max_date_span_days above)
    chip_url_ttl_s: int = Field(900, ge=10, le=86400, description="Lifetime of signed chip file URLs.")
    chip_background_max_extent_m: float = Field(
        10_000.0, gt=0, le=100_000, description="Largest ground extent of a background image (m)."
    )
    chip_background_sources: dict[str, str] = Field(
        default_factory=dict,
        description="Background sources (JSON in env): name -> XYZ/WMTS URL template with {z} {x} {y}, "
        "or an orthophoto raster GDAL opens (COG/VRT path, relative to CBM_VAR_DIR, or s3:// / https://). "
        "Always offered too: 's2' (least cloudy S2 image) and, in demo mode, 'demo_ortho' (synthetic).",
    )

    # --- photos (backend/photos) ----------------------------------------------------------
    photo_store: str = Field("var", pattern=r"^(var|s3://[a-z0-9][a-z0-9.-]{1,62}(/[A-Za-z0-9._/-]*)?)$",
                             description="Where photo originals and thumbnails go: 'var' "
                             "(CBM_VAR_DIR/photos) or s3://bucket/prefix (the CBM_S3_* endpoint and keys).")
    photo_max_bytes: int = Field(25_000_000, ge=1000, le=1_000_000_000, description="Largest photo upload.")
    photo_max_pixels: int = Field(60_000_000, ge=10_000, le=1_000_000_000,
                                  description="Largest photo in pixels (width x height).")
    photo_thumb_px: int = Field(512, ge=64, le=2048, description="Longer side of photo thumbnails.")
    photo_near_m: float = Field(20.0, ge=0, le=10_000, description="A photo taken this close outside its "
                                "parcel passes the position check (GPS error).")
    photo_view_m: float = Field(150.0, gt=0, le=10_000, description="How far the camera's bearing is "
                                "followed to see whether it points into the parcel.")
    photo_url_ttl_s: int = Field(300, ge=10, le=86400, description="Lifetime of signed photo URLs.")

    # --- Sentinel-1 ARD (backend/ard) -------------------------------------------------------
    dem: str | None = Field(None, description="DEM for terrain correction (`cbm card s1`): a COG or VRT "
                            "(local path or s3://), e.g. Copernicus DEM tiles; heights ellipsoidal unless "
                            "its CRS declares a geoid (then PROJ must have that geoid's grid).")

    @field_validator("chip_background_sources")
    @classmethod
    def _check_sources(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        bad = [k for k, v in value.items() if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", k)
               or not str(v).strip()]
        if bad:
            raise ValueError(f"background source names are 1-40 letters, digits, '_' or '-' with a non-empty "
                             f"template or path; check {', '.join(repr(b) for b in bad[:5])}")
        if len({k.lower() for k in value}) != len(value):
            raise ValueError("background source names differ only in case; names are case-insensitive")
        return value

    @field_validator("catalogue_provider_preference", mode="before")
    @classmethod
    def _parse_preference(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("scl_mask_classes", mode="before")
    @classmethod
    def _parse_classes(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list) and any(not 0 <= int(v) <= 11 for v in value):
            raise ValueError("SCL classes are integers 0..11, e.g. CBM_SCL_MASK_CLASSES=0,1,3,8,9,10,11")
        return value

    @model_validator(mode="after")
    def _refuse_demo_secrets(self) -> Settings:
        if self.demo_mode:
            return self
        demo = {"secret_key": DEMO_SECRET, "admin_password": DEMO_ADMIN_PASSWORD}
        if self.database_url is None:
            demo["pg_password"] = DEMO_SECRET
        used = [k for k, v in demo.items() if getattr(self, k).get_secret_value() == v]
        if used:
            names = ", ".join(f"CBM_{k.upper()}" for k in used)
            raise ValueError(
                f"demo secrets in use while CBM_DEMO_MODE is off: set {names} "
                "(or CBM_DEMO_MODE=true for a demo installation)"
            )
        return self

    # --- derived paths ----------------------------------------------------------------
    @property
    def pg_data_dir(self) -> Path:
        """Data directory of the embedded cluster."""
        return self.var_dir / "pg" / "data"

    @property
    def pg_socket_dir(self) -> Path:
        """Directory holding the embedded cluster's unix socket."""
        return self.var_dir / "run"

    @property
    def pg_log_file(self) -> Path:
        """Server log of the embedded cluster."""
        return self.var_dir / "pg" / "server.log"

    @property
    def uses_embedded_db(self) -> bool:
        """True when no external ``CBM_DATABASE_URL`` is set."""
        return self.database_url is None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"CBM_{field.upper()}: {msg}" if field else msg)
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached)."""
    return load_settings()
