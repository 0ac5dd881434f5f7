"""Prometheus and Grafana as shipped in deploy/: the scrape config covers every service, the
provisioning follows Grafana's conventions with stable uids, every metric a dashboard queries
is exposed by a running demo platform, and a real Prometheus scrapes `hcp up` and answers a
query for the fleet's hashrate (in CI, where Debian's `prometheus` is installed, it must run).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import IN_CI, free_port, random_loopback_subnet, running_app
from tests.eventually import eventually, eventually_blocking

from hcp.app import create_app
from hcp.core.settings import SERVICE_PORTS, Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
DASHBOARDS = sorted((PROVISIONING / "dashboards" / "hcp").glob("*.json"))
DATASOURCE_UID = "hcp-prometheus"
DASHBOARD_UIDS = {"hcp-fleet-overview", "hcp-economics", "hcp-workloads"}
# Series Prometheus makes itself for every target: no process exposes them.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
             "scrape_series_added"}
# Registered by the realtime helper's work (WebSockets and alerts), in progress at the same time.
FROM_REALTIME = {"hcp_ws_clients", "hcp_ws_dropped_total", "hcp_alerts_open"}


# --- PromQL: which metrics an expression reads ---------------------------------------------------
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "inf", "nan", "atan2", "start", "end"}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, aggregations,
    keywords, label names (in matchers or by/without/on lists), strings or durations."""
    text = _STRING.sub('""', expr)
    text = _GRAFANA_VARIABLE.sub("5m", text)
    text = _LABEL_LIST.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def series_names(exposition: str) -> set[str]:
    """The series names Prometheus stores from a scrape: a counter `x` is `x_total`, a histogram
    `x` is `x_bucket`, `x_sum` and `x_count`. Families are declared even before their first
    sample (a labelled counter with no children yet), so they count too."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                    "summary": ("", "_sum", "_count", "_created"),
                    "gaugehistogram": ("_bucket", "_gcount", "_gsum")}.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
        names.update(s.name for s in family.samples)
    return names


def family_of(series: str, exposed: set[str]) -> str:
    """A series' family name: the histogram/counter suffix stripped only where it is one."""
    for suffix in ("_bucket", "_sum", "_count", "_total", "_created"):
        if series.endswith(suffix) and series in exposed:
            return series.removesuffix(suffix)
    return series


@pytest.mark.parametrize(("expr", "names"), [
    ("max(hcp_fleet_hashrate_ths)", {"hcp_fleet_hashrate_ths"}),
    ('sum by (mode) (max by (facility, mode) (hcp_power_watts{facility=~"tx-.*", mode!="idle"}))',
     {"hcp_power_watts"}),
    ("histogram_quantile(0.95, sum by (le) (rate(hcp_switch_latency_seconds_bucket[$__rate_interval])))",
     {"hcp_switch_latency_seconds_bucket"}),
    ("sum(rate(a_sum[5m])) / sum(rate(a_count[5m] offset 1h)) > bool 1e3",
     {"a_sum", "a_count"}),
    ("x * on(instance) group_left(node) y unless z", {"x", "y", "z"}),
    ('label_replace(up{job="hcp"}, "svc", "$1", "instance", "(.*):.*")', {"up"}),
    ("sum without (instance) (rate(hcp_http_requests_total{status=~\"5..\"}[${window}]))",
     {"hcp_http_requests_total"}),
    ("max_over_time(hcp_queue_depth[1h:5m]) + Inf", {"hcp_queue_depth"}),
])
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


metric_name = st.from_regex(r"\A[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){1,3}\Z").filter(
    lambda n: n not in KEYWORDS)
TEMPLATES = [
    "{0}", "sum({0})", "max by (facility, mode) ({0})", "rate({0}[5m])", '{0}{{facility="f1", mode=~"a|b"}}',
    "histogram_quantile(0.9, sum by (le) (rate({0}[$__rate_interval])))", "{0} offset 5m", "-{0} * 2.5e3",
    "avg without (instance) ({0})",
]


@given(st.lists(st.tuples(metric_name, st.sampled_from(TEMPLATES)), min_size=1, max_size=4),
       st.sampled_from([" + ", " / on(node) ", " and ", " or ", " > bool "]))
def test_every_metric_of_a_composed_expression_is_found(parts: list[tuple[str, str]], op: str) -> None:
    expr = op.join(template.format(name) for name, template in parts)
    assert promql_metric_names(expr) == {name for name, _ in parts}


def test_series_names_follow_the_metric_types() -> None:
    exposition = (
        "# HELP a_seconds A histogram\n# TYPE a_seconds histogram\n"
        'a_seconds_bucket{le="1.0"} 1.0\na_seconds_bucket{le="+Inf"} 1.0\na_seconds_count 1.0\na_seconds_sum 0.5\n'
        "# HELP jobs Jobs\n# TYPE jobs counter\n"
        "# HELP depth Depth\n# TYPE depth gauge\ndepth 3.0\n"
    )
    names = series_names(exposition)
    assert {"a_seconds_bucket", "a_seconds_sum", "a_seconds_count", "jobs_total", "depth"} <= names
    assert "a_seconds" not in names and "jobs" not in names  # Prometheus has no such series
    assert family_of("a_seconds_bucket", names) == "a_seconds"
    assert family_of("hcp_ws_count", names) == "hcp_ws_count"  # not a histogram's: kept whole


# --- the shipped configuration ---------------------------------------------------------------------
def prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text())
    return loaded


def test_prometheus_scrapes_every_service_of_split_mode() -> None:
    [job] = [j for j in prometheus_config()["scrape_configs"] if j["job_name"] == "hcp"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {group["labels"]["hcp_service"]: target
               for group in job["static_configs"] for target in group["targets"]}
    assert targets == {name: f"127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}
    # A `service` target label would collide with the request metrics' own `service` label.
    assert all("service" not in group.get("labels", {}) for group in job["static_configs"])


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(f"{message}: CI must run the Prometheus tests (scripts/services.sh ensure installs it)")
        pytest.skip(message)
    return path


def test_promtool_accepts_the_config() -> None:
    done = subprocess.run([tool("promtool"), "check", "config", str(PROMETHEUS_YML)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def load_dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in DASHBOARDS]


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # inside collapsed rows


def test_grafana_provisioning_follows_the_conventions() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    [source] = datasources["datasources"]
    assert (source["type"], source["uid"], source["access"]) == ("prometheus", DATASOURCE_UID, "proxy")
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "hcp.yml").read_text())
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    # Where the provisioning folder is mounted (/etc/grafana/provisioning), the JSON files are here.
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/hcp"
    assert DASHBOARDS, "no dashboard JSON next to the provider"


def test_dashboards_have_stable_uids_and_query_the_provisioned_datasource() -> None:
    dashboards = load_dashboards()
    assert {d["uid"] for d in dashboards} == DASHBOARD_UIDS
    assert len({d["title"] for d in dashboards}) == len(dashboards)
    for dashboard in dashboards:
        assert dashboard.get("id") is None  # Grafana assigns ids; a fixed one clashes across instances
        ids = [p["id"] for p in panels_of(dashboard)]
        assert len(ids) == len(set(ids)), dashboard["uid"]
        for panel in panels_of(dashboard):
            if panel.get("type") == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip() and promql_metric_names(target["expr"]), (panel["title"], target)
                assert target.get("datasource", panel["datasource"])["uid"] == DATASOURCE_UID


def dashboard_metrics() -> dict[str, set[str]]:
    """Metric name -> the dashboards (uid) whose panels query it."""
    wanted: dict[str, set[str]] = {}
    for dashboard in load_dashboards():
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                for name in promql_metric_names(target["expr"]):
                    wanted.setdefault(name, set()).add(dashboard["uid"])
    return wanted


class ProcessExited(Exception):
    """A process the test waits on died: no point waiting longer."""


# --- against a running platform ----------------------------------------------------------------
async def test_every_dashboard_metric_is_exposed_by_the_demo_platform(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "gpus": 4, "asics": 4, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 20.0, "market_interval_s": 2.0},
        resources={"poll_interval_s": 0.5}, metrics={"interval_s": 0.25},
    )
    async with running_app(create_app(settings)) as client:
        async def gauges_up() -> str:  # once discovery and the first tick are done
            exposition = (await client.get("/metrics")).text
            sampled = {s.name for f in text_string_to_metric_families(exposition) for s in f.samples}
            assert {"hcp_fleet_hashrate_ths", "hcp_power_watts", "hcp_btc_price_usd", "hcp_gpus"} <= sampled, \
                sorted(n for n in sampled if n.startswith("hcp_"))
            return exposition

        exposition = await eventually(gauges_up, 60, what="the fleet and price gauges", interval=0.2)
    exposed = series_names(exposition)
    wanted = dashboard_metrics()
    missing = {name: sorted(uids) for name, uids in wanted.items() if name not in exposed and name not in SYNTHETIC}
    assert not missing, (
        f"dashboards query metrics that /metrics does not expose: {missing} "
        f"(families exposed: {sorted({family_of(n, exposed) for n in exposed if n.startswith('hcp_')})})")


@contextlib.contextmanager
def process(args: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def scrape_config_for(port: int) -> dict[str, Any]:
    """The shipped config with its hcp job aimed at one `hcp up` process, scraped every second."""
    config = prometheus_config()
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "hcp"]
    job.update(scrape_interval="1s", scrape_timeout="1s",
               static_configs=[{"targets": [f"127.0.0.1:{port}"], "labels": {"hcp_service": "hcp"}}])
    config["global"]["evaluation_interval"] = "1s"
    config["scrape_configs"] = [job]
    return config


def test_prometheus_scrapes_hcp_up_and_answers_for_the_fleet_hashrate(tmp_path: Path) -> None:
    prometheus = tool("prometheus")
    hcp_port, prom_port = free_port(), free_port()
    env = {
        **os.environ, "HCP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hcp.db'}", "HCP_BUS_URL": "memory://",
        "HCP_SIM__ASICS": "4", "HCP_SIM__GPUS": "2", "HCP_SIM__ASIC_SUBNET": random_loopback_subnet(),
        "HCP_SIM__ASIC_WEB_PORT": str(free_port()), "HCP_RESOURCES__POLL_INTERVAL_S": "1",
        "HCP_METRICS__INTERVAL_S": "1", "HCP_LOG_FORMAT": "json",
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config_for(hcp_port)))
    hcp = [sys.executable, "-m", "hcp", "up", "--demo", "--port", str(hcp_port)]
    prom = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"]
    with process(hcp, env=env, log=tmp_path / "hcp.log") as platform, \
            process(prom, env=dict(os.environ), log=tmp_path / "prometheus.log") as server, \
            httpx.Client(base_url=f"http://127.0.0.1:{prom_port}", timeout=5) as api:
        def hashrate_scraped() -> list[Any]:
            for name, proc, log in (("hcp up", platform, "hcp.log"), ("prometheus", server, "prometheus.log")):
                if proc.poll() is not None:
                    raise ProcessExited(f"{name} exited: {(tmp_path / log).read_text()[-3000:]}")
            # 503 (and not JSON) until Prometheus's storage is ready.
            last = api.get("/api/v1/query", params={"query": "hcp_fleet_hashrate_ths"}).json()
            result: list[Any] = last.get("data", {}).get("result", [])
            assert last.get("status") == "success" and result and float(result[0]["value"][1]) > 0, \
                f"{last}; targets: {api.get('/api/v1/targets').text[:2000]}"
            return result

        [series] = eventually_blocking(hashrate_scraped, 120, what="the fleet hashrate through Prometheus",
                                       interval=1.0, not_yet=(httpx.HTTPError, ValueError))
        assert series["metric"]["__name__"] == "hcp_fleet_hashrate_ths"
        assert series["metric"]["job"] == "hcp" and series["metric"]["hcp_service"] == "hcp"
        # The simulated S21s hash about 200 TH/s each.
        assert 4 * 100 < float(series["value"][1]) < 4 * 300
        power = api.get("/api/v1/query", params={"query": "sum by (mode) (hcp_power_watts)"}).json()
        assert {r["metric"]["mode"] for r in power["data"]["result"]} == {"mining", "ai", "idle", "curtailed"}
