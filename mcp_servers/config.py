"""MCP server definitions read from `.mcp.json` and `config/mcp_servers.yaml` (CONTRACT section 9).

Pure Python. A bad file or a bad entry becomes a `Problem` with a one-line reason and the
other servers still load. `env` and `headers` values are kept out of every repr, reason and
log line: they often hold API keys.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

try:  # libyaml when present: the same safe loader, faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Transport = Literal["stdio", "http", "sse"]
Method = Literal["ping", "list_tools", "tool_call"]

DEFAULT_FILES = (Path(".mcp.json"), Path("config") / "mcp_servers.yaml")
MAX_FILE_BYTES = 1 << 20
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
METHODS: tuple[Method, ...] = ("ping", "list_tools", "tool_call")
DEFAULT_CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Settings:
    """The three ADR-034 globals; they apply to every server, `.mcp.json` ones included."""

    health_check_interval_seconds: float = 30.0
    startup_timeout_seconds: float = 10.0
    shutdown_timeout_seconds: float = 5.0


@dataclass(frozen=True)
class HealthCheck:
    method: Method = "ping"
    tool: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = DEFAULT_CHECK_TIMEOUT_S


@dataclass(frozen=True)
class ServerDefinition:
    name: str
    transport: Transport
    source: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auto_start: bool = False
    health_check: HealthCheck = field(default_factory=HealthCheck)

    @property
    def is_stdio(self) -> bool:
        return self.transport == "stdio"

    @property
    def display_target(self) -> str:
        """What the page may show: the command line, or the URL without credentials or query."""
        if self.url is not None:
            return public_url(self.url)
        return " ".join([self.command or "", *self.args]).strip()


@dataclass(frozen=True)
class Problem:
    source: str
    reason: str
    server: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}: {self.server}" if self.server else self.source
        return f"{where}: {self.reason}"


@dataclass
class Definitions:
    servers: dict[str, ServerDefinition] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)


class EntryError(ValueError):
    """One server entry is unusable; the message is the reason shown to the user."""


def public_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def load(paths: Iterable[Path]) -> Definitions:
    """Every definition from `paths`, in order; a name defined twice keeps its first definition.

    A file that does not exist contributes nothing (the default files are optional and may
    appear later); one that cannot be read or parsed is a problem.
    """
    result = Definitions()
    globals_seen: dict[str, Any] = {}
    for path in paths:
        source = str(path)
        try:
            data = _read(path)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            result.problems.append(Problem(source, str(exc)))
            continue
        if data is None and path.suffix.lower() != ".json":
            continue  # an empty YAML file
        if path.suffix.lower() == ".json":
            entries = _json_entries(data, source, result.problems)
        else:
            entries = _yaml_entries(data, source, result.problems, globals_seen)
        for name, entry in entries:
            if not isinstance(name, str) or not NAME_RE.match(name):
                result.problems.append(
                    Problem(
                        source,
                        "a server name uses letters, digits, '.', '_' and '-' (at most 64)",
                        str(name)[:64],
                    )
                )
                continue
            if name in result.servers:
                first = result.servers[name].source
                result.problems.append(
                    Problem(source, f"also defined in {first}; that one is used", name)
                )
                continue
            try:
                result.servers[name] = parse_entry(name, entry, source)
            except EntryError as exc:
                result.problems.append(Problem(source, str(exc), name))
    result.settings = Settings(**globals_seen)
    return result


def _read(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ValueError("unknown format: the file name must end in .json, .yaml or .yml")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise ValueError("is a directory, not a file")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ValueError(f"is not valid YAML (line {line}: {exc.problem})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"is not valid YAML ({type(exc).__name__})") from None


def _json_entries(data: Any, source: str, problems: list[Problem]) -> list[tuple[Any, Any]]:
    if not isinstance(data, dict):
        problems.append(Problem(source, 'must be a JSON object with "mcpServers"'))
        return []
    servers = data.get("mcpServers")
    if servers is None:
        problems.append(Problem(source, 'has no "mcpServers" object'))
        return []
    if not isinstance(servers, dict):
        problems.append(Problem(source, '"mcpServers" must be an object of name: definition'))
        return []
    return list(servers.items())


def _yaml_entries(
    data: Any, source: str, problems: list[Problem], globals_seen: dict[str, Any]
) -> list[tuple[Any, Any]]:
    if not isinstance(data, dict):
        problems.append(Problem(source, "must be a mapping with `servers:`"))
        return []
    for key in (
        "health_check_interval_seconds",
        "startup_timeout_seconds",
        "shutdown_timeout_seconds",
    ):
        if key not in data:
            continue
        try:
            value = _positive_number(data[key], key)
        except EntryError as exc:
            problems.append(Problem(source, f"{exc}; the default is used"))
            continue
        # The first file that gives a global wins, as for server names.
        globals_seen.setdefault(key, value)
    servers = data.get("servers")
    if servers is None:
        return []
    if not isinstance(servers, dict):
        problems.append(Problem(source, "`servers` must be a mapping of name: definition"))
        return []
    return list(servers.items())


def parse_entry(name: str, entry: Any, source: str) -> ServerDefinition:
    if not isinstance(entry, dict):
        raise EntryError("a server definition must be a mapping")
    kind = entry.get("type")
    if kind is None:
        kind = "http" if "url" in entry and "command" not in entry else "stdio"
    if kind == "streamable-http":
        kind = "http"
    auto_start = entry.get("auto_start", False)
    if not isinstance(auto_start, bool):
        raise EntryError("`auto_start` must be true or false")
    health_check = _health_check(entry.get("health_check"))
    if kind == "stdio":
        command = entry.get("command")
        if not isinstance(command, str) or not command.strip():
            raise EntryError("a stdio server needs a `command` (text)")
        if "\x00" in command:
            raise EntryError("`command` contains a NUL character")
        return ServerDefinition(
            name=name,
            transport="stdio",
            source=source,
            command=command,
            args=_str_list(entry.get("args", []), "args"),
            env=_str_map(entry.get("env", {}), "env"),
            cwd=_optional_str(entry.get("cwd"), "cwd"),
            auto_start=auto_start,
            health_check=health_check,
        )
    if kind in ("http", "sse"):
        url = entry.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise EntryError(f"a {kind} server needs a `url` starting with http:// or https://")
        if not urlsplit(url).hostname:
            raise EntryError("`url` has no host")
        if auto_start:
            raise EntryError("`auto_start` applies to stdio servers only (an URL is not started)")
        return ServerDefinition(
            name=name,
            transport="http" if kind == "http" else "sse",
            source=source,
            url=url,
            headers=_str_map(entry.get("headers", {}), "headers"),
            health_check=health_check,
        )
    raise EntryError(f"unknown `type` {str(kind)[:40]!r} (use stdio, http or sse)")


def _health_check(raw: Any) -> HealthCheck:
    if raw is None:
        return HealthCheck()
    if not isinstance(raw, dict):
        raise EntryError("`health_check` must be a mapping")
    method = raw.get("method", "ping")
    if method not in METHODS:
        raise EntryError(f"`health_check.method` must be one of {', '.join(METHODS)}")
    tool = raw.get("tool")
    if method == "tool_call" and (not isinstance(tool, str) or not tool):
        raise EntryError("`health_check.method: tool_call` needs a `tool` name")
    if tool is not None and not isinstance(tool, str):
        raise EntryError("`health_check.tool` must be text")
    args = raw.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise EntryError("`health_check.args` must be a mapping of argument names to values")
    timeout = raw.get("timeout_seconds", DEFAULT_CHECK_TIMEOUT_S)
    return HealthCheck(
        method=method,
        tool=tool,
        args=args,
        timeout_seconds=_positive_number(timeout, "health_check.timeout_seconds"),
    )


def _positive_number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EntryError(f"`{key}` must be a number of seconds")
    if not math.isfinite(value) or value <= 0 or value > 86_400:
        raise EntryError(f"`{key}` must be above 0 and at most 86400")
    return float(value)


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntryError(f"`{key}` must be a list of text")
    if any("\x00" in v for v in value):
        raise EntryError(f"`{key}` contains a NUL character")
    return tuple(value)


def _str_map(value: Any, key: str) -> dict[str, str]:
    # Reasons name the key that is wrong, never a value: values are secrets.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EntryError(f"`{key}` must be a mapping of names to text")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise EntryError(f"`{key}` has a name that is not text")
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise EntryError(f"`{key}.{k[:40]}` must be text")
        out[k] = str(v)
        if "\x00" in out[k] or "\x00" in k:
            raise EntryError(f"`{key}.{k[:40]}` contains a NUL character")
    return out


def _optional_str(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EntryError(f"`{key}` must be text")
    return value


def check_path(path: Path) -> Path:
    """A path given with `--mcp-config`: it must exist and be read (the defaults may be absent).

    Raises ValueError with a one-line reason, for the command to print.
    """
    try:
        _read(path)
    except FileNotFoundError:
        raise ValueError(f"--mcp-config {path}: no such file") from None
    except ValueError as exc:
        raise ValueError(f"--mcp-config {path}: {exc}") from None
    return path


def signature(paths: Iterable[Path]) -> tuple[tuple[str, float, int] | None, ...]:
    """What changes when a config file is edited, created or removed: polled to reload live."""
    out: list[tuple[str, float, int] | None] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            out.append(None)
            continue
        out.append((str(path), st.st_mtime, st.st_size))
    return tuple(out)
