"""What differs between the engines a project can build on (SPEC §11).

`engine:` in project.yml is `duckdb` (the default) or
`{type: spark, master: local[*] | spark://host:7077 | sc://host:15002, conf: {…}}`;
`segpipe run --engine` overrides its type for one run. Only the build differs:
models are rendered once (in DuckDB's dialect, see spark_dialect.py for Spark),
and the results are always published into the same DuckDB file.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..suggest import check_keys, did_you_mean

ENGINE_TYPES = ("duckdb", "spark")
SPARK_KEYS = {"type", "master", "conf", "external"}
#: the masters Spark starts on (SparkSubmit's rule, plus Spark Connect's sc://): another one
#: failed only once the JVM ran, with a Java stack trace
MASTER_FORM = re.compile(r"local(\[[^\]]*\])?|local-cluster\[[^\]]*\]|yarn|(spark|k8s|sc)://\S+")
DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "pip install 'segpipe[spark]' (Spark also needs Java 17 or newer)"


@dataclass(frozen=True)
class EngineConfig:
    """Which engine builds the models, and how to reach it."""

    type: str = "duckdb"
    master: str = DEFAULT_MASTER
    conf: dict = field(default_factory=dict)
    #: published models written as Parquet datasets beside the file, read through views
    external: tuple = ()

    @property
    def is_spark(self) -> bool:
        return self.type == "spark"


def parse_engine(value, where: str, override: str | None = None) -> EngineConfig:
    """`engine:` from project.yml (a name or a mapping), then `--engine` on top."""
    config = _parse(value, where)
    if override is None:
        return config
    if override not in ENGINE_TYPES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINE_TYPES)}, got {override!r}"
                          f"{did_you_mean(override, ENGINE_TYPES)}")
    return EngineConfig(type=override, master=config.master, conf=config.conf, external=config.external)


def _parse(value, where: str) -> EngineConfig:
    if value is None:
        return EngineConfig()
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'engine' must be duckdb or a mapping such as {{type: spark, master: 'local[*]'}}")
    check_keys(value, SPARK_KEYS, f"{where}: engine", ConfigError)
    kind = value.get("type")
    if kind not in ENGINE_TYPES:
        raise ConfigError(f"{where}: engine.type: must be one of {', '.join(ENGINE_TYPES)}, got {kind!r}"
                          f"{did_you_mean(kind, ENGINE_TYPES)}")
    if kind == "duckdb":
        extra = sorted(set(value) - {"type"})
        if extra:
            raise ConfigError(f"{where}: engine.{extra[0]} applies to type spark only")
        return EngineConfig()
    master = value.get("master", DEFAULT_MASTER)
    if not isinstance(master, str) or not MASTER_FORM.fullmatch(master.strip()):
        shown = f", got {master!r}" if isinstance(master, str) and master.strip() else ""
        raise ConfigError(f"{where}: engine.master must be text such as 'local[*]', 'spark://host:7077' or "
                          f"'sc://host:15002' (Spark takes local, local[N], spark://, k8s://, yarn or sc://){shown}")
    conf = value.get("conf") or {}
    if not isinstance(conf, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float, bool))
                                             for k, v in conf.items()):
        raise ConfigError(f"{where}: engine.conf must be a mapping of Spark settings such as {{spark.executor.memory: 4g}}")
    external = value.get("external") or []
    if isinstance(external, str):
        external = [external]
    if not isinstance(external, list) or not all(isinstance(e, str) for e in external):
        raise ConfigError(f"{where}: engine.external must be a list of published model names such as [segment_leads]")
    return EngineConfig(type="spark", master=master.strip(), conf={k: str(v).lower() if isinstance(v, bool) else str(v)
                                                                   for k, v in conf.items()},
                        external=tuple(external))
