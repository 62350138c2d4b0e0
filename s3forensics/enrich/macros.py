"""The enrichment's classification as SQL, generated from the same rule data, for detections.

Detections read `actor_activity`, a view every case has, enriched or not. Its `is_private_ip` and
`ua_family` come from two SQL macros written here from the data `enrich` classifies with: the
special-purpose networks of `ip.py` and the tool rules of `useragent.py`. So a detection and
`enrich` cannot disagree about a private address or a client's family, and a rule added to
either module changes both. DuckDB creates the macros (`install_macros`); other engines get them
expanded inline where a query calls them (`lake/translate.py`), as neither Spark nor Athena has
macros.

What the SQL cannot do is what needs code beyond the rules: ua-parser tells browsers from crawlers
among `Mozilla/...` strings in `user_agent_enrichment`; the macro calls every such string no rule
names a `browser`.

`ip_network(ip)` names the network an address is counted in when a detection asks whether a
principal's network is new: the /24 of an IPv4 address, the /48 of an IPv6 one.

One more macro is not a classification but a tolerance several statements must agree on:
`request_skew_seconds()`, how far apart the two sources may log one request (REQUEST_SKEW). The
correlation views join on it and `lake pull` widens its window by it, so they cannot drift apart.

And `round_places(x, n)` rounds a number to n decimal places as it reads in decimal (58.065 ->
58.07), the same on every engine: DuckDB's round() of a DOUBLE rounds the binary value
(58.0649999... -> 58.06), Spark's the decimal text, so the catalogue rounds through DECIMAL.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from functools import cache

import duckdb

from ..schema import sql_text

__all__ = ["PRIVATE_IP_CLASSES", "REQUEST_SKEW", "install_macros", "macro_definitions", "macro_sql"]

#: The enrichment's `ip_class`es that `is_private_ip` (and `ip_is_private()`) mean: addresses of
#: the client's own network, not of the Internet.
PRIVATE_IP_CLASSES = ("loopback", "link_local", "cgnat", "private")
#: How far apart in time an access log and CloudTrail may log one request. Access log time is
#: receipt, CloudTrail time is completion, so a match may differ by the request's duration;
#: request ids are unique, so the bound only guards against reuse across long cases.
REQUEST_SKEW = timedelta(minutes=15)

# One IPv4 octet as Python's ipaddress reads it: 0-255 without leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 client seen over IPv6 (::ffff:a.b.c.d) is classed by its IPv4 address, as enrich does.
_MAPPED = r"(?:::ffff:|(?:0{1,4}:){5}ffff:)?"


def _numbers(lo: int, hi: int) -> str:
    """A regex alternation for the decimal numbers lo..hi (0-255), written without leading zeros."""
    groups: list[str] = []
    n = lo
    while n <= hi:
        head, last = divmod(n, 10)
        end = min(hi, head * 10 + 9)
        prefix = str(head) if head else ""
        first, final = last, end % 10
        groups.append(prefix + (str(first) if first == final else f"[{first}-{final}]"))
        n = end + 1
    return "(?:" + "|".join(groups) + ")"


def _ipv4_regex(net: ipaddress.IPv4Network) -> str:
    octets = [int(o) for o in str(net.network_address).split(".")]
    fixed, bits = divmod(net.prefixlen, 8)
    parts = [str(o) for o in octets[:fixed]]
    if fixed < 4:
        if bits:
            parts.append(_numbers(octets[fixed], octets[fixed] + 2 ** (8 - bits) - 1))
        else:
            parts.append(_OCTET)
        parts += [_OCTET] * (3 - fixed)
    return r"\.".join(parts)


def _hextet_regex(net: ipaddress.IPv6Network) -> str:
    """The first hextet of an IPv6 network of prefix /16 or shorter, as 4 lower-case hex digits."""
    first = int(net.network_address) >> 112
    free = 16 - net.prefixlen
    # Hextets from 0x1000 up are always written with 4 digits; lower ones may drop leading zeros.
    if net.prefixlen > 16 or first < 0x1000:
        raise ValueError(f"{net}: the SQL classification handles /16 or shorter from 1000:: up")
    whole, bits = divmod(free, 4)
    digits = f"{first:04x}"
    fixed = 4 - whole - (1 if bits else 0)
    out = digits[:fixed]
    if bits:
        lo = int(digits[fixed], 16)
        out += "[" + "".join(f"{d:x}" for d in range(lo, lo + 2**bits)) + "]"
    return out + "[0-9a-f]" * whole


def _written(addr: ipaddress.IPv6Address) -> tuple[str, ...]:
    """The usual ways to write one IPv6 address: compressed, exploded, without leading zeros."""
    short = ":".join(f"{int(h, 16):x}" for h in addr.exploded.split(":"))
    return addr.compressed, addr.exploded, short


def _private_ip_sql() -> str:
    """`ip_is_private(ip)`: true when enrich's `ip_class` would be one of PRIVATE_IP_CLASSES."""
    from .ip import _SPECIAL

    wanted = [net for name, nets in _SPECIAL if name in PRIVATE_IP_CLASSES for net in nets]
    # A class earlier in _SPECIAL wins; none of them may take part of a private network.
    for name, nets in _SPECIAL:
        if name not in PRIVATE_IP_CLASSES:
            clash = [(n, w) for n in nets for w in wanted if n.version == w.version and n.overlaps(w)]
            if clash:
                raise ValueError(f"{name} {clash[0][0]} overlaps {clash[0][1]}: write the SQL by hand")
    v4 = [_ipv4_regex(n) for n in wanted if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in wanted if isinstance(n, ipaddress.IPv6Network)]
    exact = sorted({form for n in v6 if n.prefixlen == 128 for form in _written(n.network_address)})
    prefixes = [_hextet_regex(n) for n in v6 if n.prefixlen < 128]
    v4_re = f"^{_MAPPED}(?:{'|'.join(v4)})$"
    v6_re = f"^(?:{'|'.join(prefixes)}):[0-9a-f:.]*(?:%[0-9a-z_.-]+)?$"  # fe80::1%eth0: a zone
    v4_text = f"coalesce({_mapped_dotted('lower(ip)')}, lower(ip))"  # ::ffff:a00:1 is 10.0.0.1
    return (f"coalesce(regexp_matches({v4_text}, {sql_text(v4_re)}) "
            f"OR regexp_matches(lower(ip), {sql_text(v6_re)}) "
            f"OR lower(ip) IN ({', '.join(sql_text(e) for e in exact)}), false)")


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


def _plain(pattern: str, *, keep: str | None = None) -> str:
    """A rule's pattern with its named groups made non-capturing (Java regex has no `(?P<`),
    except `keep`, which becomes the one capturing group."""
    return _NAMED_GROUP.sub(lambda m: "(" if m[1] == keep else "(?:", pattern)


def _ua_family_sql() -> str:
    """`user_agent_family(ua)`: what `useragent.user_agent_family` says, rule for rule."""
    from .useragent import _RULES, BROWSER_PREFIX, PRODUCT_TOKEN, UA_TRIM, family_name

    text = f"regexp_extract(ua, {sql_text(UA_TRIM)}, 1)"
    browser = f"regexp_matches({text}, {sql_text(BROWSER_PREFIX)})"
    whens = [f"WHEN {text} IN ('', '-') THEN NULL"]
    for cls, tool, pattern, _lang in _RULES:
        family = family_name(cls, tool)
        if family is not None:
            value = sql_text(family)
            match = f"regexp_matches({text}, {sql_text(_plain(pattern))})"
        else:  # the rule names the tool in its `name` group
            value = f"lower(regexp_extract({text}, {sql_text(_plain(pattern, keep='name'))}, 1))"
            match = f"regexp_matches({text}, {sql_text(_plain(pattern))})"
        if cls == "bot":
            match = f"NOT {browser} AND {match}"  # as in useragent: not inside a browser string
        whens.append(f"WHEN {match} THEN {value}")
    whens.append(f"WHEN {browser} THEN 'browser'")
    product = f"lower(regexp_extract({text}, {sql_text(PRODUCT_TOKEN)}, 1))"
    return "CASE " + " ".join(whens) + f" ELSE nullif({product}, '') END"


_HEXTET = "[0-9a-f]{1,4}"


def _address_text(ip: str) -> str:
    """An address as lower-case text, without an IPv6 zone (fe80::1%eth0)."""
    return (f"lower(CASE WHEN regexp_matches({ip}, '^[^%]*:[^%]*%[^%]+$') "
            f"THEN regexp_extract({ip}, '^([^%]*)', 1) ELSE {ip} END)")


def _lacking(v: str) -> str:
    """How many zero hextets '::' stands for in `v`: 8 less the colons (an IPv4 tail is two
    hextets), one more where it starts or ends the address."""
    return (f"8 - (length({v}) - length(replace({v}, ':', ''))) "
            f"- CASE WHEN {v} LIKE '%.%' THEN 1 ELSE 0 END")


def _written_out(v: str) -> str:
    """An IPv6 address `v` with '::' written out, so that its hextets can be read by position."""
    # (No repeat(): Trino's repeats array elements.)
    return (f"CASE WHEN {v} LIKE '%::%' THEN concat("
            f"CASE WHEN {v} LIKE '::%' THEN '0' ELSE '' END, "
            f"replace({v}, '::', concat(':', substr('0:0:0:0:0:0:0:0:', 1, "
            f"2 * greatest({_lacking(v)}, 0)))), "
            f"CASE WHEN {v} LIKE '%::' THEN '0' ELSE '' END) ELSE {v} END")


_MAPPED_HEX = f"^(?:0{{1,4}}:){{5}}ffff:({_HEXTET}):({_HEXTET})$"


def _mapped_dotted(v: str) -> str:
    """An IPv4-mapped IPv6 address written in hex (::ffff:c633:6409) as its IPv4 address
    (198.51.100.9), as ipaddress reads it; NULL for any other text."""
    full = _written_out(v)

    def octet(hextet: int, first: int) -> str:
        text = f"lpad(regexp_extract({full}, {sql_text(_MAPPED_HEX)}, {hextet}), 4, '0')"
        digit = "instr('0123456789abcdef', substr({t}, {i}, 1)) - 1"
        return (f"CAST(({digit.format(t=text, i=first)}) * 16 + "
                f"{digit.format(t=text, i=first + 1)} AS VARCHAR)")

    dotted = (f"concat({octet(1, 1)}, '.', {octet(1, 3)}, '.', {octet(2, 1)}, '.', "
              f"{octet(2, 3)})")
    return f"CASE WHEN regexp_matches({full}, {sql_text(_MAPPED_HEX)}) THEN {dotted} END"


def _ip_network_sql() -> str:
    """`ip_network(ip)`: the /24 of an IPv4 address (or of an IPv4 one seen over IPv6), the /48 of
    an IPv6 one, written as Python's ipaddress writes networks (2001:db8::/48); NULL otherwise."""
    v = _address_text("ip")
    v4_text = f"coalesce({_mapped_dotted(v)}, {v})"
    v4 = rf"^{_MAPPED}({_OCTET}\.{_OCTET}\.{_OCTET})\.{_OCTET}$"
    full = _written_out(v)
    written_out = (f"^(?:(?:{_HEXTET}:){{7}}{_HEXTET}|(?:{_HEXTET}:){{6}}"
                   f"{_OCTET}\\.{_OCTET}\\.{_OCTET}\\.{_OCTET})$")
    # An address is 8 hextets (or 6 and an IPv4 tail) once '::' is written out, and '::' stands
    # for one zero hextet at least.
    valid = (f"regexp_matches({full}, {sql_text(written_out)}) "
             f"AND NOT ({v} LIKE '%::%' AND {_lacking(v)} < 1)")

    def nth(n: int) -> str:  # the n-th hextet without leading zeros, as ipaddress writes it
        pattern = f"^({_HEXTET}):({_HEXTET}):({_HEXTET}):"
        return (f"regexp_extract(regexp_extract({full}, {sql_text(pattern)}, {n}), "
                "'^0*([0-9a-f]+)$', 1)")

    h1, h2, h3 = nth(1), nth(2), nth(3)
    # The zero hextets that end the prefix join the run of zeros after it, written '::'.
    v6 = (f"concat(CASE WHEN {h3} <> '0' THEN concat({h1}, ':', {h2}, ':', {h3}) "
          f"WHEN {h2} <> '0' THEN concat({h1}, ':', {h2}) "
          f"WHEN {h1} <> '0' THEN {h1} ELSE '' END, '::/48')")
    return (f"CASE WHEN regexp_matches({v4_text}, {sql_text(v4)}) "
            f"THEN concat(regexp_extract({v4_text}, {sql_text(v4)}, 1), '.0/24') "
            f"WHEN {valid} THEN {v6} END")


@cache
def macro_definitions() -> dict[str, tuple[tuple[str, ...], str]]:
    """Each macro: name -> (parameter names, DuckDB SQL body)."""
    return {
        "ip_is_private": (("ip",), _private_ip_sql()),
        "user_agent_family": (("ua",), _ua_family_sql()),
        "request_skew_seconds": ((), str(int(REQUEST_SKEW.total_seconds()))),
        "ip_network": (("ip",), _ip_network_sql()),
        # Nine places: DuckDB scales the DOUBLE by 10^9 and rounds, which keeps its decimal text
        # while |x| stays below about 10^6 (hours, rates, averages in the catalogue); larger
        # values may differ in the last places between engines. Beyond 10^29 the cast fails.
        "round_places": (("x", "n"), "CAST(round(CAST(x AS DECIMAL(38, 9)), n) AS DOUBLE)"),
    }


def macro_sql(*, temp: bool = False) -> list[str]:
    """The DuckDB statements creating (or replacing) the macros, in the database or `temp`."""
    kind = "TEMP MACRO" if temp else "MACRO"
    return [f"CREATE OR REPLACE {kind} {name}({', '.join(params)}) AS {body}"
            for name, (params, body) in macro_definitions().items()]


def install_macros(con: duckdb.DuckDBPyConnection, *, temp: bool = False) -> None:
    """Create the macros in `con` (the views that classify or correlate call them); `temp`
    ones live with the connection (a read-only case), ahead of those the case holds."""
    for statement in macro_sql(temp=temp):
        con.execute(statement)
