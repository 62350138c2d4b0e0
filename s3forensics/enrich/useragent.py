"""Parse user agents offline: browser, OS and device (ua-parser) plus our AWS-aware tool class."""

from __future__ import annotations

import re
from importlib import metadata
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import ua_parser

__all__ = ["BROWSER_PREFIX", "PRODUCT_TOKEN", "TOOL_CLASSES", "UA_TRIM", "USER_AGENT_SCHEMA", "family_name",
           "parse_user_agents", "user_agent_rules_version"]

TOOL_CLASSES = ("browser", "aws_console", "aws_cli", "aws_sdk", "aws_internal", "aws_service",
                "s3_tool", "scripting", "security_tool", "bot", "other", "unknown")

USER_AGENT_SCHEMA: dict[str, pl.DataType] = {
    "user_agent": pl.String(),
    "tool_class": pl.String(),
    "tool": pl.String(),
    "tool_version": pl.String(),
    "sdk_language": pl.String(),
    "browser": pl.String(),
    "browser_version": pl.String(),
    "os": pl.String(),
    "os_version": pl.String(),
    "device": pl.String(),
    "pentest_distro": pl.String(),
}

#: A user agent as the rules read it: without surrounding white space and brackets (group 1).
UA_TRIM = r"(?s)^[\s\[]*(.*?)[\s\]]*$"
#: Browser strings: the only ones ua-parser is asked about, and never taken for a bot by a rule.
BROWSER_PREFIX = r"^(?:Mozilla|Opera)/"
#: The leading product name of a user agent no rule knows (group 1), e.g. `Java` in `Java/17`.
PRODUCT_TOKEN = r"^([^/\s;()]+)"

_V = r"/v?(?P<v>[\w.+-]+)"  # the "/1.2.3" after a product name; rclone writes "/v1.65.0"

# (tool class, tool name, pattern, SDK language). The first match wins, so the order matters:
# the console relays through aws-internal, CLIs and S3 tools embed SDK names, and several
# security tools append their name to a botocore user agent.
_RULES: list[tuple[str, str, str, str | None]] = [
    ("aws_console", "S3Console", r"S3Console" + _V, None),
    ("aws_console", "AWS Management Console",
     r"^(?:console|signin)\.amazonaws\.com$|^AWS Signin|^AWS-Console", None),
    ("aws_internal", "aws-internal", r"aws-internal" + _V, None),
    ("aws_internal", "AWS Internal", r"^AWS ?Internal$|^AmazonS3$", None),
    ("aws_service", "Amazon CloudFront", r"^Amazon CloudFront", None),
    ("aws_service", "", r"^(?P<name>(?:[a-z0-9-]+\.)+amazonaws\.com(?:\.cn)?)$", None),
    # Offensive and auditing tools seen against S3; names as their authors set them.
    ("security_tool", "Pacu", r"\bPacu\b", None),
    ("security_tool", "ScoutSuite", r"Scout ?Suite" + r"(?:/(?P<v>[\w.]+))?", None),
    ("security_tool", "Prowler", r"\bprowler\b", None),
    ("security_tool", "CloudFox", r"\bcloudfox\b", None),
    ("security_tool", "S3Scanner", r"\bS3Scanner\b", None),
    ("security_tool", "sqlmap", r"\bsqlmap" + r"(?:/(?P<v>[\w.#-]+))?", None),
    ("security_tool", "Nikto", r"\bNikto\b" + r"(?:/(?P<v>[\w.]+))?", None),
    ("security_tool", "Nmap", r"Nmap Scripting Engine", None),
    ("security_tool", "Nuclei", r"\bNuclei\b", None),
    ("security_tool", "zgrab", r"\bzgrab" + r"(?:/(?P<v>[\w.]+))?", None),
    ("security_tool", "masscan", r"\bmasscan" + r"(?:/(?P<v>[\w.]+))?", None),
    ("security_tool", "WPScan", r"\bWPScan\b", None),
    ("security_tool", "gobuster", r"\bgobuster" + r"(?:/(?P<v>[\w.]+))?", None),
    ("security_tool", "ffuf", r"\bFuzz Faster U Fool|\bffuf\b", None),
    # S3 clients and file tools.
    ("s3_tool", "rclone", r"\brclone" + _V, None),
    ("s3_tool", "s3cmd", r"\bs3cmd" + _V, None),
    ("s3_tool", "Mountain Duck", r"Mountain ?Duck" + _V, None),
    ("s3_tool", "Cyberduck", r"\bCyberduck" + _V, None),
    ("s3_tool", "MinIO Client", r"\bmc/(?P<v>RELEASE[\w.:-]+|[\w.-]+)", None),
    ("s3_tool", "minio-go", r"\bminio-go" + _V, "go"),
    ("s3_tool", "minio-py", r"\bMinIO \(.*?\) minio-py" + _V, "python"),
    ("s3_tool", "s5cmd", r"\bs5cmd" + _V, None),
    ("s3_tool", "S3 Browser", r"\bS3 Browser[ /](?P<v>[\d.]+)", None),
    ("s3_tool", "WinSCP", r"\bWinSCP" + _V, None),
    ("s3_tool", "CloudBerry", r"\bCloudBerry|\bMSP360", None),
    ("s3_tool", "Transmit", r"^Transmit" + _V, None),
    ("s3_tool", "ExpanDrive", r"\bExpanDrive" + r"(?:/(?P<v>[\w.]+))?", None),
    ("s3_tool", "goofys", r"\bgoofys" + r"(?:/(?P<v>[\w.]+))?", None),
    ("s3_tool", "s3fs", r"^s3fs" + _V, None),
    ("s3_tool", "Mountpoint for Amazon S3", r"\bmountpoint-s3" + _V, None),
    ("s3_tool", "Hadoop S3A", r"^Hadoop (?P<v>[\d.]+)", None),
    ("s3_tool", "restic", r"\brestic" + _V, None),
    ("s3_tool", "duplicity", r"\bduplicity" + _V, None),
    # AWS command lines, then SDKs (a CLI's user agent names its SDK too).
    ("aws_cli", "aws-cli", r"\baws-cli" + _V, "python"),
    ("aws_cli", "AWS Tools for PowerShell", r"\bAWSPowerShell(?:\.NetCore)?" + _V, "dotnet"),
    ("aws_sdk", "Boto3", r"\bBoto3" + _V, "python"),
    ("aws_sdk", "aws-sdk-java", r"\baws-sdk-java" + _V, "java"),
    ("aws_sdk", "aws-sdk-go-v2", r"\baws-sdk-go-v2" + _V, "go"),
    ("aws_sdk", "aws-sdk-go", r"\baws-sdk-go" + _V, "go"),
    ("aws_sdk", "aws-sdk-js", r"\baws-sdk-js" + _V, "javascript"),
    ("aws_sdk", "aws-sdk-nodejs", r"\baws-sdk-nodejs" + _V, "javascript"),
    ("aws_sdk", "aws-sdk-ruby", r"\baws-sdk-ruby\d?" + _V, "ruby"),
    ("aws_sdk", "aws-sdk-php", r"\baws-sdk-php" + _V, "php"),
    ("aws_sdk", "aws-sdk-dotnet", r"\baws-sdk-dotnet[\w-]*" + _V, "dotnet"),
    ("aws_sdk", "aws-sdk-cpp", r"\baws-sdk-cpp" + _V, "cpp"),
    ("aws_sdk", "aws-sdk-rust", r"\baws-sdk-rust" + _V, "rust"),
    ("aws_sdk", "aws-sdk-kotlin", r"\baws-sdk-kotlin" + _V, "kotlin"),
    ("aws_sdk", "aws-sdk-swift", r"\baws-sdk-swift" + _V, "swift"),
    ("aws_sdk", "Botocore", r"\bBotocore" + _V, "python"),
    # Generic HTTP clients and scripting languages.
    ("scripting", "curl", r"^curl" + _V, None),
    ("scripting", "Wget", r"^Wget(?:/(?P<v>[\w.]+))?", None),
    ("scripting", "python-requests", r"\bpython-requests" + _V, "python"),
    ("scripting", "python-urllib", r"\bPython-urllib" + _V, "python"),
    ("scripting", "python-httpx", r"\bpython-httpx" + _V, "python"),
    ("scripting", "aiohttp", r"\baiohttp" + _V, "python"),
    ("scripting", "Go-http-client", r"^Go-http-client" + _V, "go"),
    ("scripting", "okhttp", r"\bokhttp" + _V, "java"),
    ("scripting", "Apache-HttpClient", r"\bApache-HttpClient" + _V, "java"),
    ("scripting", "Java", r"^Java" + _V, "java"),
    ("scripting", "PowerShell", r"\b(?:Windows)?PowerShell" + _V, "powershell"),
    ("scripting", "libwww-perl", r"\blibwww-perl" + _V, "perl"),
    ("scripting", "node-fetch", r"\bnode-fetch" + r"(?:/(?P<v>[\w.]+))?", "javascript"),
    ("scripting", "axios", r"^axios" + _V, "javascript"),
    ("scripting", "undici", r"^undici", "javascript"),
    ("scripting", "Postman", r"^PostmanRuntime" + _V, None),
    ("scripting", "HTTPie", r"^HTTPie" + _V, None),
    ("scripting", "Ruby", r"^Ruby$", "ruby"),
    ("scripting", "Faraday", r"^Faraday(?: v|/)(?P<v>[\w.]+)", "ruby"),
    ("scripting", "Guzzle", r"^GuzzleHttp" + _V, "php"),
    ("bot", "", r"(?i)\b(?P<name>[\w-]*(?:bot|crawler|spider|slurp))\b(?:/(?P<v>[\w.]+))?", None),
]
_COMPILED = [(cls, tool, re.compile(p), lang) for cls, tool, p, lang in _RULES]
_TRIM = re.compile(UA_TRIM)
_BROWSER = re.compile(BROWSER_PREFIX)
_PRODUCT = re.compile(PRODUCT_TOKEN + r"(?:/(?P<v>[^\s;()]+))?")

_DISTROS = [
    ("Kali Linux", re.compile(r"(?<![a-z])kali(?![a-z])", re.IGNORECASE)),
    ("Parrot OS", re.compile(r"(?<![a-z])parrot(?:sec)?(?![a-z])", re.IGNORECASE)),
    ("Pentoo", re.compile(r"(?<![a-z])pentoo(?![a-z])", re.IGNORECASE)),
    ("BlackArch", re.compile(r"(?<![a-z])blackarch(?![a-z])", re.IGNORECASE)),
]

# SDK user agents carry the platform as `os/linux#6.5.0` (UA 2.0) or `Linux/6.1` (older forms).
_OS_META = re.compile(r"\bos/(?P<os>[a-z_]+)(?:#(?P<v>[^\s]+))?", re.IGNORECASE)
_OS_LEGACY = re.compile(
    r"\b(?P<os>Linux|Darwin|Windows(?:_NT)?|Mac_OS_X|macOS|FreeBSD)/(?P<v>[\w.+-]+)")
_OS_NAMES = {"linux": "Linux", "darwin": "Mac OS X", "macos": "Mac OS X", "mac_os_x": "Mac OS X",
             "windows": "Windows", "windows_nt": "Windows", "freebsd": "FreeBSD",
             "android": "Android", "ios": "iOS", "other": None}
_LANG_META = re.compile(r"\blang/(?P<lang>[a-z]+)", re.IGNORECASE)

_DESKTOP_OS = {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS",
               "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "Kali", "Arch Linux"}
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|SM-T\d|SM-X\d", re.IGNORECASE)
_MOBILE = re.compile(r"iPhone|iPod|Mobile|Windows Phone|BlackBerry|Opera Mini", re.IGNORECASE)


def family_name(tool_class: str | None, tool: str | None) -> str | None:
    """A client's family, as `actor_activity.ua_family` names it, from its class and tool.

    Browsers and bots are one family each; other clients are their tool, lower-cased
    (aws-cli, boto3, s3console, curl, ...); NULL when the user agent is empty.
    """
    if tool_class in (None, "unknown"):
        return None
    if tool_class in ("browser", "bot"):
        return tool_class
    return tool.lower() if tool else None


def user_agent_rules_version() -> str:
    """Versions of the rules in use: ua-parser's bundled regexes and this module's tool rules."""
    try:
        builtins = metadata.version("ua-parser-builtins")
    except metadata.PackageNotFoundError:  # pragma: no cover - depends on the installation
        builtins = "unknown"
    return f"ua-parser-builtins {builtins}; s3forensics tool rules {len(_RULES)}"


def _version(*parts: str | None) -> str | None:
    present = []
    for part in parts:
        if part is None or part == "":
            break
        present.append(part)
    return ".".join(present) or None


def _platform(ua: str, parsed: ua_parser.Result | ua_parser.PartialResult) -> tuple[str | None, str | None]:
    meta = _OS_META.search(ua)
    if meta:
        name = _OS_NAMES.get(meta["os"].lower(), meta["os"])
        if name:
            return name, meta["v"]
    legacy = _OS_LEGACY.search(ua)
    if legacy:
        return _OS_NAMES.get(legacy["os"].lower(), legacy["os"]), legacy["v"]
    os_ = parsed.os
    if os_ is not None and os_.family not in ("Other", ""):
        return os_.family, _version(os_.major, os_.minor, os_.patch, os_.patch_minor)
    return None, None


def _device(ua: str, parsed: ua_parser.Result | ua_parser.PartialResult, os_name: str | None) -> str:
    dev = parsed.device
    if dev is not None and dev.family == "Spider":
        return "bot"
    if _TABLET.search(ua) or (dev is not None and "Tablet" in (dev.brand or "")):
        return "tablet"
    if _MOBILE.search(ua):
        return "mobile"
    if os_name == "Android":
        return "tablet"  # Android browsers without "Mobile" in the user agent are tablets
    if os_name in _DESKTOP_OS or (dev is not None and dev.family == "Mac"):
        return "desktop"
    return "unknown"


def _distro(ua: str) -> str | None:
    return next((name for name, rx in _DISTROS if rx.search(ua)), None)


def _parse_one(ua: str) -> tuple[str | None, ...]:
    trimmed = _TRIM.match(ua)
    text = trimmed[1] if trimmed else ua
    if text in ("", "-"):
        return (ua, "unknown", None, None, None, None, None, None, None, "unknown", None)
    import ua_parser  # its regex tables load in 0.06 s: not on the way of ingest or --help

    parsed = ua_parser.parse(text)
    os_name, os_version = _platform(text, parsed)
    distro = _distro(text)
    is_mozilla = _BROWSER.match(text) is not None
    agent = parsed.user_agent
    for cls, tool, rx, lang in _COMPILED:
        if cls == "bot" and is_mozilla and (parsed.device is None or parsed.device.family != "Spider"):
            continue  # "bot" inside a browser string (a product token) does not make it a crawler
        m = rx.search(text)
        if m is None:
            continue
        groups = m.groupdict()
        name = tool or groups.get("name") or m.group(0)
        version = groups.get("v")
        if cls == "bot" and agent is not None and agent.family not in ("Other", ""):
            name, version = agent.family, _version(agent.major, agent.minor, agent.patch)
        lang_meta = _LANG_META.search(text)
        language = lang or (lang_meta["lang"].lower() if lang_meta else None)
        device = "bot" if cls == "bot" else "unknown"
        return (ua, cls, name, version, language, None, None, os_name, os_version, device, distro)
    if is_mozilla and agent is not None and agent.family not in ("Other", ""):
        browser_version = _version(agent.major, agent.minor, agent.patch, agent.patch_minor)
        device = _device(text, parsed, os_name)
        cls = "bot" if device == "bot" else "browser"
        return (ua, cls, agent.family, browser_version, None,
                agent.family if cls == "browser" else None,
                browser_version if cls == "browser" else None,
                os_name, os_version, device, distro)
    product = _PRODUCT.match(text)
    name = product[1] if product else None
    version = product["v"] if product else None
    return (ua, "other", name, version, None, None, None, os_name, os_version, "unknown", distro)


def parse_user_agents(uas: pl.Series) -> pl.DataFrame:
    """One row per distinct non-null user agent: tool class and tool, browser, OS, device, distro."""
    distinct = uas.cast(pl.String).drop_nulls().unique().sort()
    rows = [_parse_one(v) for v in distinct.to_list()]
    return pl.DataFrame(rows, schema=USER_AGENT_SCHEMA, orient="row")
